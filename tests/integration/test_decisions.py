"""A county government meeting's decision (会议纪要) is a workflow action: it records the decision, may hand
the problem to another unit and moves its deadline; the audit event keeps the deadline it replaced."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.errors import InvalidTransition, InvalidValue

pytestmark = [pytest.mark.integration, pytest.mark.pg]


def at_the_meeting(svc, clock) -> str:
    clock.set("2024-01-08T09:00")
    code = svc.log("town", "嘉润综合物流园区", "land", "补充耕地指标未落实", unit="ziranziyuan").code
    svc.act("insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    clock.set("2024-01-09T10:00")
    svc.act("insp", code, "escalate", to="supervision_13710", reason="久拖不决，按“13710”机制督办")
    svc.act("insp", code, "reclassify", severity="major", reason="补充耕地指标须全县统筹")
    svc.act("insp", code, "escalate", to="government_meeting", reason="提请县政府常务会议研究")
    return code


def test_a_decision_moves_the_deadline_and_keeps_the_old_one_in_the_audit_log(svc, clock):
    code = at_the_meeting(svc, clock)
    before = svc.get(code).deadline
    clock.set("2024-01-25T16:00")
    after = svc.act(
        "insp",
        code,
        "decide",
        decision="由县自然资源局牵头，县财政局配合，3月底前完成补充耕地指标调剂",
        meeting="2024年1月25日县政府常务会议",
        deadline="2024-03-29",
    )
    assert after.deadline == date(2024, 3, 29) != before
    assert after.state == "supervised" and after.level == "government_meeting"
    last = svc.history(after.id)[-1]
    assert last.action == "decide" and last.actor == "insp"
    assert last.data["previous_deadline"] == before.isoformat() and last.data["deadline"] == "2024-03-29"
    assert last.data["meeting"] == "2024年1月25日县政府常务会议"


def test_a_decision_is_refused_below_the_meeting_and_for_a_past_date(svc, clock):
    clock.set("2024-01-08T09:00")
    code = svc.log("town", "嘉润综合物流园区", "land", "用地预审未批复", unit="ziranziyuan").code
    svc.act("insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    svc.act("insp", code, "supervise", reason="纳入督办")
    with pytest.raises(InvalidTransition, match="会议决定只记录"):
        svc.act("insp", code, "decide", decision="研究决定", deadline="2024-03-01")
    meeting = at_the_meeting(svc, clock)
    version = svc.get(meeting).version
    with pytest.raises(InvalidValue, match="早于今天"):
        svc.act("insp", meeting, "decide", decision="研究决定", deadline="2024-01-02")
    assert svc.get(meeting).version == version  # nothing changed
