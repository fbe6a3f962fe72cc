"""One outbox row per notice × recipient × channel, by each person's choices; a unit's group gets one per notice."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from models.db import session
from models.tables import Notice
from notifications.channel_sender import deliver_channels
from service import inbox

pytestmark = pytest.mark.integration


def rows(engine, **where):
    with session(engine) as s:
        stmt = sa.select(Notice).order_by(Notice.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Notice, key) == value)
        return list(s.execute(stmt).scalars())


def test_assignment_goes_by_email_to_the_inbox_and_once_to_the_unit_group(svc, engine, wired):
    p = svc.log("town", "嘉润综合物流园区", "land", "用地预审未批复")
    svc.act("insp", p.code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    mine = [n for n in rows(engine) if n.problem_id == p.id and n.kind == "assignment"]
    by = Counter((n.channel, n.recipient_login) for n in mine)
    assert by == Counter(
        {("email", "staff"): 1, ("email", "head"): 1, ("inbox", "staff"): 1, ("inbox", "head"): 1, ("wecom", None): 1}
    )
    group = next(n for n in mine if n.channel == "wecom")
    assert group.recipient_role == "unit_group" and group.status == "pending" and group.channel_id
    assert all(n.status == "sent" and n.sent_at for n in mine if n.channel == "inbox")
    # No SMS for an assignment by default, and the DingTalk group belongs to another unit.
    assert not [n for n in mine if n.channel in ("sms", "dingtalk")]


def test_a_staff_member_without_email_still_sees_the_notice_in_the_inbox(svc, engine, wired, clock):
    p = svc.log("town", "嘉润综合物流园区", "land", "用地预审未批复")
    svc.act("insp", p.code, "assign", unit="ziranziyuan", person="noemail", leader="head", section="耕地保护股")
    mine = {(n.channel, n.recipient_login): n for n in rows(engine, problem_id=p.id)}
    assert mine[("email", "noemail")].status == "undeliverable"
    items, unread = inbox.inbox(engine, "noemail")
    assert unread == 1 and items[0].problem_code == p.code and "交办" in items[0].title


def test_the_group_robot_receives_the_assignment(svc, engine, wired, wecom, settings, clock):
    p = svc.log("town", "嘉润综合物流园区", "land", "用地预审未批复")
    svc.act("insp", p.code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    stats = deliver_channels(engine, settings, clock, "t", wall=clock)
    assert stats.sent == 1 and stats.failed == 0, stats
    [msg] = wecom.accepted
    assert p.code in msg["content"] and "交办" in msg["content"]
    assert f"{settings.base_url}/problems/{p.code}" in msg["content"]
    assert [n.status for n in rows(engine, channel="wecom")] == ["sent"]
