"""A simulated month (service.scheduler.simulate, one injected clock for the service, the senders and the
protocol servers): every notice reaches every chosen channel exactly once, nothing is delivered outside
office hours, a robot's rate limit delays but loses nothing, and notices that waited overnight are merged."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models.db import session
from models.tables import Notice
from notifications.channel_config import ChannelSettings
from notifications.config import MailConfig
from service.scheduler import Jobs, simulate
from tests.channel_servers import DingTalkRobotServer, SmsGatewayServer, WeComRobotServer
from tests.channels.conftest import BASE_URL, DING_SECRET, DING_TOKEN, WECOM_KEY, sms_config
from tests.conftest import at

pytestmark = pytest.mark.integration

# 【kind】CODE at the start of a title (a single message) or of a line of a merged one.
TITLE_CODE = re.compile(r"【[^】]+】\s*(?:[^〔\s]*〔\d{4}〕)?(WT-\d{4}-\d{4})")
ROBOT_LIMIT = 2  # per minute: low, so that the month runs into it


def seed(svc, clock) -> list[str]:
    """Twelve problems: four assigned on Friday morning, eight on Friday night (they wait for Monday)."""
    codes = []
    for i in range(12):
        clock.set("2024-01-05T22:00" if i >= 4 else f"2024-01-05T1{i}:00")
        p = svc.log("town", "嘉润综合物流园区", ["land", "other", "permit"][i % 3], f"问题{i}")
        svc.act(
            "insp",
            p.code,
            "assign",
            unit="ziranziyuan",
            person="staff" if i % 2 else "head",
            leader="head",
            section="耕地保护股",
        )
        codes.append(p.code)
    return codes


def codes_in(text: str) -> list[str]:
    return TITLE_CODE.findall(text)


def test_a_month_every_notice_once_on_every_chosen_channel_inside_office_hours(
    svc, engine, rules, clock, admin, tmp_path
):
    jobs = Jobs(engine, rules, MailConfig(mail_dir=tmp_path / "mail"), clock, "month")
    business = lambda: jobs.clock()  # noqa: E731 — the servers follow the simulated time
    with (
        WeComRobotServer(business) as wecom,
        DingTalkRobotServer(business) as ding,
        SmsGatewayServer(business) as gateway,
    ):
        settings = ChannelSettings(BASE_URL, sms_config(gateway), rate_limit=ROBOT_LIMIT, allow_http=True, timeout=5)
        jobs.channels = admin.settings = settings
        admin.add("admin", "自然资源局工作群", "wecom", wecom.add_robot(WECOM_KEY), unit="ziranziyuan")
        url = ding.add_robot(DING_TOKEN, secret=DING_SECRET)
        admin.add("admin", "县政府钉钉群", "dingtalk", url, secret=DING_SECRET, unit="county_gov")
        admin.add("admin", "赵局长手机", "sms", "tel:13800138000", user="head")
        codes = seed(svc, clock)
        # 12:45, 14:45, … : five rounds a day inside the window (08:45–16:45) and seven outside.
        simulate(jobs, at("2024-01-05T22:45"), at("2024-02-07T16:45"), timedelta(hours=2))

        with session(engine) as s:
            notices = list(s.execute(sa.select(Notice)).scalars())
        by_channel = defaultdict(list)
        for n in notices:
            by_channel[n.channel].append(n)

        # Nothing waits, nothing failed: every row of every channel was delivered (inbox rows at once).
        assert Counter(n.status for n in notices if n.channel != "email") == {
            "sent": len(notices) - len(by_channel["email"])
        }
        assert {n.status for n in by_channel["email"]} <= {"sent", "undeliverable"}
        assert {"wecom", "dingtalk", "sms", "inbox", "email"} <= set(by_channel)

        # Exactly once per robot: the codes in the accepted messages are the codes of the rows, with multiplicity.
        for server, channel in ((wecom, "wecom"), (ding, "dingtalk")):
            field = "content" if channel == "wecom" else "text"
            seen = Counter(c for m in server.accepted for c in codes_in(m[field]))
            expected = Counter(_code(n, codes) for n in by_channel[channel])
            assert seen == expected, channel
        sms_seen = Counter(c for m in gateway.accepted for c in codes_in(m["body"].decode("utf-8")))
        assert sms_seen == Counter(_code(n, codes) for n in by_channel["sms"])

        # Office hours: no request to any service, no mail, outside the window.
        window = rules.office_hours().window
        for server in (wecom, ding, gateway):
            assert server.requests and all(window.is_open(r.at) for r in server.requests)
        assert all(window.is_open(n.sent_at) for n in by_channel["email"] if n.status == "sent")

        # Friday's twelve assignments (the replay starts Friday night) waited for Monday 08:45 and reached the
        # group as two merged messages: ten, then two.
        monday = at("2024-01-08T08:45")
        merged = [m["content"] for m, r in zip(wecom.accepted, _accepted_requests(wecom)) if r.at == monday]
        assert [len(codes_in(m)) for m in merged] == [10, 2] and all("条）" in m for m in merged)
        friday = [n for n in by_channel["wecom"] if n.kind == "assignment"]
        assert len(friday) == 12 and {n.sent_at for n in friday} == {monday}

        # The rate limit (ours, shared in the database) delayed messages but lost none: never more than the
        # limit per robot per minute, and at least once the limit was reached.
        per_moment = {s: Counter(r.at for r in _accepted_requests(s)) for s in (wecom, ding)}
        assert max(per_moment[wecom].values()) == ROBOT_LIMIT and max(per_moment[ding].values()) <= ROBOT_LIMIT
        late = [
            n for n in by_channel["wecom"] if n.sent_at - n.created_at > timedelta(hours=1) and n.created_at >= monday
        ]
        assert late, "the rate limit never delayed a message"


def _accepted_requests(server) -> list:
    """The requests the server accepted, in order (errcode 0 answers are the accepted ones)."""
    out = []
    index = 0
    for r in server.requests:
        if index < len(server.accepted) and _same(server, r, server.accepted[index]):
            out.append(r)
            index += 1
    assert index == len(server.accepted)
    return out


def _same(server, request, accepted) -> bool:
    body = request.json()
    if "content" in accepted:
        return body.get(body.get("msgtype"), {}).get("content") == accepted["content"]
    return body.get("markdown", {}).get("text") == accepted["text"]


def _code(n: Notice, codes: list[str]) -> str:
    return codes[n.problem_id - 1] if n.problem_id else ""
