"""The robot/SMS sender (``duban outbox send``, a real process) killed with SIGKILL in the middle of a batch,
then started again: nothing lost, and nothing sent twice except what the protocols make unavoidable.

Neither the WeCom robot nor a typical SMS gateway takes an idempotency key, so a message the service accepted
whose answer had not yet been recorded when the sender died is sent again by the next sender
(``notifications.channel_sender``: the window is one message per destination). The servers here are slow
*after* accepting (``delay``), the worst case: the kill usually lands while a message is posted but its answer
is still on the way. The test asserts exactly that guarantee: every notice arrives; one recorded ``sent``
before the kill arrives exactly once; a second copy only of a notice that was accepted but not yet recorded
when the process died, at most one per destination.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.db import session
from models.tables import Notice
from service import inbox
from tests.channel_servers import SmsGatewayServer, WeComRobotServer
from tests.channels.conftest import BASE_URL, WECOM_KEY, sms_config

pytestmark = pytest.mark.integration

DUBAN = str(Path(sys.executable).with_name("duban"))  # the installed script
CODE = re.compile(r"WT-\d{4}-\d{4}")
N = 24  # assignments: 24 messages to the group robot and 24 SMS to the unit head
DELAY = 0.03  # seconds each service takes to answer: ~0.7 s for a destination's whole queue
LEASE = 1  # DUBAN_CHANNEL_LEASE: the killed sender's claims expire one second after its last renewal


def gateway_toml(gateway: SmsGatewayServer, path: Path) -> Path:
    """The test gateway (tests/channels/conftest.py ``sms_config``) as the TOML file DUBAN_SMS_GATEWAY names."""
    c = sms_config(gateway)
    body = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in c.body.items())
    path.write_text(
        f"url = {json.dumps(c.url)}\nbody_format = {json.dumps(c.body_format)}\n"
        f"success_when = {json.dumps(c.success_when)}\nmax_chars = {c.max_chars}\nallow_http = true\n"
        f"body = {{ {body} }}\ncredentials = {{ key = {json.dumps(c.credentials['key'])} }}\n",
        "utf-8",
    )
    return path


SENDER = [DUBAN, "--at", "2024-01-08T09:05", "outbox", "send", "--json"]  # Monday, inside office hours


def arrived(wecom: WeComRobotServer, gateway: SmsGatewayServer) -> Counter:
    """(channel, problem code) of every message the services accepted, with multiplicity."""
    out: Counter = Counter()
    for channel, texts in (
        ("wecom", [m["content"] for m in wecom.accepted]),
        ("sms", [m["body"].decode("utf-8") for m in gateway.accepted]),
    ):
        for text in texts:
            [code] = set(CODE.findall(text))  # one notice per message: nothing waited, nothing merged
            out[(channel, code)] += 1
    return out


def delivered(engine) -> dict[tuple[str, str], str]:
    """(channel, problem code) → status of every robot/SMS row."""
    from models.tables import Problem

    with session(engine) as s:
        rows = s.execute(
            sa.select(Notice.channel, Problem.code, Notice.status)
            .join(Problem, Problem.id == Notice.problem_id)
            .where(Notice.channel.in_(("wecom", "sms")))
        ).all()
    out = {(channel, code): status for channel, code, status in rows}
    assert len(out) == len(rows)  # one row per notice × channel
    return out


@pytest.mark.parametrize("backend", ["sqlite"])  # the claims are tested on both databases elsewhere
def test_sender_killed_mid_batch_and_restarted_loses_nothing_and_repeats_only_the_message_in_flight(
    svc, engine, admin, gateway, clock, tmp_path, record_property
):
    with WeComRobotServer(clock, rate_limit=None) as wecom:
        admin.add("admin", "自然资源局工作群", "wecom", wecom.add_robot(WECOM_KEY), unit="ziranziyuan")
        admin.add("admin", "赵局长手机", "sms", "tel:13800138000", user="head")
        now = clock()
        inbox.set_preferences(engine, "head", {"assignment": ["inbox", "channel", "sms"]}, now)  # 交办 also by SMS
        inbox.set_preferences(engine, "staff", {"assignment": ["inbox"]}, now)  # no mail: the run is the robots'
        codes = []
        for i in range(N):
            p = svc.log("town", "嘉润综合物流园区", "land", f"用地预审未批复{i}")
            svc.act("insp", p.code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
            codes.append(p.code)
        expected = {(channel, code) for code in codes for channel in ("wecom", "sms")}
        assert set(delivered(engine)) == expected and set(delivered(engine).values()) == {"pending"}

        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {
            "DUBAN_DB": engine.url.render_as_string(hide_password=False),
            "DUBAN_BASE_URL": BASE_URL,
            "DUBAN_SMS_GATEWAY": str(gateway_toml(gateway, tmp_path / "gateway.toml")),
            "DUBAN_CHANNELS_ALLOW_HTTP": "1",
            "DUBAN_ROBOT_RATE_LIMIT": "0",  # the robot's limit off: the kill, not a rate window, stops the run
            "DUBAN_CHANNEL_LEASE": str(LEASE),
            "DUBAN_MAIL_DIR": str(tmp_path / "mail"),
        }
        wecom.delay = gateway.delay = DELAY
        victim = subprocess.Popen(
            SENDER, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert wecom.wait_accepted(N // 3, timeout=30), "the sender did not start delivering"
            time.sleep(random.uniform(0, DELAY))  # anywhere in a send cycle
            victim.send_signal(signal.SIGKILL)
            out, err = victim.communicate(timeout=10)
        finally:
            if victim.poll() is None:
                victim.kill()
        assert victim.returncode == -signal.SIGKILL, (out, err)

        at_kill = delivered(engine)  # the process is dead: this is what it managed to record
        recorded = {key for key, status in at_kill.items() if status == "sent"}
        assert len(recorded) < len(expected), "killed after the whole batch: not mid-batch"
        assert "sending" in at_kill.values(), "the victim died holding claims"

        # Its claims expire LEASE seconds after its last renewal (real time: leases are about live processes).
        with engine.connect() as conn:
            until = conn.execute(sa.select(sa.func.max(Notice.claimed_until))).scalar_one()
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.05)
        before = arrived(wecom, gateway)  # every request of the victim has been answered by now
        # Exactly what the victim recorded reached the services once; besides, at most the one message in
        # flight per destination was accepted without its answer being recorded.
        assert all(before[key] == 1 for key in recorded)
        ambiguous = set(before) - recorded
        assert all(before[key] == 1 for key in ambiguous)
        assert Counter(channel for channel, _ in ambiguous) <= Counter({"wecom": 1, "sms": 1}), ambiguous

        wecom.delay = gateway.delay = 0
        again = subprocess.run(SENDER, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        stats = json.loads(again.stdout)["channels"]
        assert stats["failed"] == 0 and stats["retried"] == 0, stats
        assert stats["sent"] == len(expected) - len(recorded)  # it took over exactly what was not recorded

    assert set(delivered(engine).values()) == {"sent"}
    final = arrived(wecom, gateway)
    assert set(final) == expected  # nothing lost
    twice = {key for key, n in final.items() if n > 1}
    assert twice == ambiguous and max(final.values()) <= 2  # repeated: only the message in flight at the kill
    record_property("recorded_before_kill", len(recorded))
    record_property("sent_twice", len(twice))
