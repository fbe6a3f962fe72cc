"""The ladder by severity, who hears what at each rung, the closing review and recomputation when the
calendar changes — through the service, the sweep and a real database.

Expected dates are derived here from ``chinese_calendar`` (the published schedule) and from the days the test
itself declares, never from duban's calendar.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
import sqlalchemy as sa
from sqlmodel import select

from models.db import session
from models.tables import Event, Notice
from service import directory_admin
from service.recalc import impact
from service.sweep import run_sweep
from tests.conftest import at
from workflow.errors import InvalidValue, MissingField
from workflow.rules import DEFAULT_RULES_PATH, load_rules

pytestmark = pytest.mark.integration

ASSIGN = dict(unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")


def notices(engine, kind: str | None = None) -> list[Notice]:
    with session(engine) as s:
        rows = s.exec(select(Notice).order_by(Notice.id)).all()
    return [n for n in rows if kind is None or n.kind == kind]


def events(svc, problem_id: int) -> list[Event]:
    return svc.history(problem_id)


def nth_workday_after(day: date, n: int, is_workday) -> date:
    while n:
        day += timedelta(days=1)
        n -= bool(is_workday(day))
    return day


# -- recomputation when the rules file declares a year --------------------------------------------------


def test_a_provisional_deadline_is_recomputed_once_the_year_is_declared(engine, svc, clock, tmp_path):
    clock.set("2026-12-28T09:00")
    p = svc.log("town", "嘉润综合物流园区", "other", "跨年办理的手续问题", unit="ziranziyuan")
    p = svc.act("insp", p.code, "assign", **ASSIGN)

    # Unit level, 10 working days from Monday 2026-12-28. 2027's schedule is not published: the law alone
    # says 2027-01-01 (元旦) is a holiday, so 12-29, 12-30, 12-31, 01-04 … 01-08, 01-11, 01-12.
    def by_law(day: date) -> bool:
        if day.year < 2027:
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5 and day != date(2027, 1, 1)

    guessed = nth_workday_after(date(2026, 12, 28), 10, by_law)
    assert guessed == date(2027, 1, 12)
    assert (p.deadline, p.deadline_provisional) == (guessed, True)

    # The State Council's notice for 2027 (invented for the test): 01-01 to 01-04 off, Monday 01-04 a bridge
    # day. The county's IT officer declares the year in the rules file.
    holidays = [date(2027, 1, 1), date(2027, 1, 4)]
    text = DEFAULT_RULES_PATH.read_text("utf-8")
    text = text.replace("extra_holidays = []", "extra_holidays = [2027-01-01, 2027-01-04]")
    text = text.replace("declared_years = []", "declared_years = [2027]")
    (tmp_path / "rules.toml").write_text(text, "utf-8")
    declared = load_rules(tmp_path / "rules.toml")

    def by_notice(day: date) -> bool:
        if day.year < 2027:
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5 and day not in holidays

    expected = nth_workday_after(date(2026, 12, 28), 10, by_notice)
    assert expected == date(2027, 1, 13)

    # `duban rules check`: what the new file would move, without writing.
    report = impact(engine, declared, at("2026-12-29T08:00"))
    assert (report.checked, report.changed, report.moved) == (1, 1, 1)
    assert svc.get(p.code).deadline == guessed

    before = len(notices(engine))
    swept = run_sweep(engine, declared, at("2026-12-29T08:00"))
    assert dict(swept.actions) == {"recalculate": 1}
    now = svc.get(p.code)
    assert (now.deadline, now.deadline_provisional) == (expected, False)
    (event,) = [e for e in events(svc, p.id) if e.action == "recalculate"]
    assert event.actor == "system" and "2027-01-12" in event.comment and "2027-01-13" in event.comment
    assert event.data["old"]["deadline"] == "2027-01-12" and event.data["old"]["deadline_provisional"] is True
    assert event.data["new"]["deadline"] == "2027-01-13" and event.data["new"]["deadline_provisional"] is False
    (notice,) = notices(engine)[before:]
    assert (notice.kind, notice.recipient_login, notice.deadline) == ("recalculated", "staff", expected)
    assert notice.payload["old_due"] == "2027-01-12" and notice.payload["problem"]["deadline"] == "2027-01-13"

    # A second sweep (or a refresh) finds nothing: idempotent.
    assert dict(run_sweep(engine, declared, at("2026-12-29T08:05")).actions) == {}
    assert impact(engine, declared, at("2026-12-29T08:06")).checked == 0
    assert len([e for e in events(svc, p.id) if e.action == "recalculate"]) == 1
    assert len(notices(engine)) == before + 1


def test_recomputation_reaches_13710_milestones_and_leaves_unaffected_deadlines_alone(engine, svc, clock, tmp_path):
    clock.set("2026-12-28T09:00")
    a = svc.log("town", "嘉润综合物流园区", "other", "13710 跨年", unit="ziranziyuan")
    svc.act("insp", a.code, "assign", **ASSIGN)
    a = svc.act("insp", a.code, "escalate", to="supervision_13710", reason="久拖不决")
    # 13710 from 2026-12-28: deploy 12-29, feedback 12-31, settle 2027-01-04 (01-01 元旦 and the weekend: 7 days
    # end Monday 01-04, a working day by the law alone).
    assert (a.snap.deploy_due, a.snap.feedback_due, a.deadline) == (
        date(2026, 12, 29),
        date(2026, 12, 31),
        date(2027, 1, 4),
    )
    clock.set("2026-12-28T10:00")
    b = svc.log("town", "嘉润综合物流园区", "other", "年内办结", unit="ziranziyuan")
    b = svc.act("insp", b.code, "assign", **ASSIGN, deadline="2026-12-30")
    text = DEFAULT_RULES_PATH.read_text("utf-8")
    text = text.replace("extra_holidays = []", "extra_holidays = [2027-01-01, 2027-01-04]")
    text = text.replace("declared_years = []", "declared_years = [2027]")
    (tmp_path / "rules.toml").write_text(text, "utf-8")
    declared = load_rules(tmp_path / "rules.toml")
    swept = run_sweep(engine, declared, at("2026-12-28T11:00"))
    assert swept.actions["recalculate"] == 1  # the same sweep may also warn of the near deadlines
    # Monday 01-04 is now a holiday: settle moves to Tuesday 01-05; the 2026 milestones stay.
    moved = svc.get(a.code)
    assert (moved.snap.deploy_due, moved.snap.feedback_due, moved.deadline) == (
        date(2026, 12, 29),
        date(2026, 12, 31),
        date(2027, 1, 5),
    )
    assert svc.get(b.code).deadline == date(2026, 12, 30)  # fingerprint updated, nothing recorded
    assert [e.action for e in events(svc, b.id) if e.action == "recalculate"] == []


# -- the ladder and who hears what ----------------------------------------------------------------------


@pytest.fixture
def organiser(engine):
    with session(engine) as s, s.begin():
        directory_admin.create_user(s, "huiwu", "会务科", "xianzhengfuban", "staff", "hw@yc.example", at("2024-01-02"))
    return "huiwu"


def sweep_days(engine, rules, first: str, days: int) -> None:
    start = at(f"{first}T08:00")
    for i in range(days):
        run_sweep(engine, rules, start + timedelta(days=i))


def recipients_by_event(engine) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for n in notices(engine):
        out.setdefault(n.event_id, set()).add(n.recipient_login)
    return out


def test_a_general_problem_climbs_to_13710_and_stays_and_the_office_hears_every_rung(
    engine, svc, clock, rules, organiser
):
    clock.set("2024-03-04T09:00")
    p = svc.log("town", "嘉润综合物流园区", "other", "长期拖延的一般问题", unit="ziranziyuan")
    svc.act("insp", p.code, "assign", **ASSIGN)
    sweep_days(engine, rules, "2024-03-05", 75)
    history = events(svc, p.id)
    assert [e.to_level for e in history if e.action == "escalate"] == ["county_leader", "supervision_13710"]
    stalls = [e for e in history if e.action == "stall"]
    assert len(stalls) >= 3 and stalls[0].data == {"repeat": False} and stalls[1].data == {"repeat": True}
    assert svc.get(p.code).level == "supervision_13710" and svc.get(p.code).light == "red"
    who = recipients_by_event(engine)
    for e in history:
        if e.action in ("escalate", "stall"):
            # the inspection office and the leader in charge at every rung, nobody from the meeting
            assert {"insp", "head", "staff"} <= who[e.id] and organiser not in who[e.id], (e.action, e.to_level)
    first_overdue = next(e for e in history if e.action == "overdue")
    assert "insp" not in who[first_overdue.id] and "head" in who[first_overdue.id]  # overdue within grace
    # Stall reminders come every 5 working days, never a storm.
    gaps = [(b.at - a.at).days for a, b in zip(stalls, stalls[1:])]
    assert all(5 <= g <= 12 for g in gaps), gaps

    # Reclassified as major, it goes on to the meeting when the 13710 major period lapses; the organiser hears.
    clock.set("2024-05-20T09:00")
    svc.act("insp", p.code, "reclassify", reason="涉及多部门，属重大复杂问题")
    sweep_days(engine, rules, "2024-05-21", 10)
    history = events(svc, p.id)
    (to_meeting,) = [e for e in history if e.action == "escalate" and e.to_level == "government_meeting"]
    assert {"insp", "head", "staff", "lead", organiser} <= recipients_by_event(engine)[to_meeting.id]


def test_a_major_problem_goes_through_13710_to_the_meeting(engine, svc, clock, rules, organiser):
    clock.set("2024-03-04T09:00")
    p = svc.log("town", "嘉润综合物流园区", "land", "涉及永久基本农田", unit="ziranziyuan", severity="major")
    p = svc.act("insp", p.code, "assign", **ASSIGN)
    # Major: straight to 13710 with its major period, one month: 2024-04-04 (清明) → Sunday 04-07 (make-up).
    assert (p.level, p.deadline) == ("supervision_13710", date(2024, 4, 7))
    sweep_days(engine, rules, "2024-03-05", 60)
    history = events(svc, p.id)
    assert [e.to_level for e in history if e.action == "escalate"] == ["government_meeting"]
    escalation = next(e for e in history if e.action == "escalate")
    assert escalation.at.date() == date(2024, 4, 9)  # grace: Monday 04-08; escalated the morning after
    assert organiser in recipients_by_event(engine)[escalation.id]


# -- assignment ------------------------------------------------------------------------------------------


def test_the_leader_in_charge_is_a_leader_of_the_unit_or_a_county_leader(engine, svc, clock):
    with session(engine) as s, s.begin():
        directory_admin.create_user(
            s, "fu", "钱副局长", "ziranziyuan", "deputy_head", "fu@yc.example", at("2024-01-02")
        )
        directory_admin.create_user(
            s, "fu2", "镇分管领导", "dingdian", "deputy_head", "f2@yc.example", at("2024-01-02")
        )
    code = svc.log("town", "嘉润综合物流园区", "land", "用地预审", unit="ziranziyuan").code
    before = dump_counts(engine)
    with pytest.raises(MissingField) as err:
        svc.act("insp", code, "assign", unit="ziranziyuan", person="staff")
    assert "分管领导和责任科室" in err.value.message and err.value.field == "leader"
    for login in ("staff", "fu2", "insp"):
        with pytest.raises(InvalidValue, match="分管领导") as err:
            svc.act("insp", code, "assign", **{**ASSIGN, "leader": login})
        assert err.value.field == "leader" and login in err.value.message
    assert dump_counts(engine) == before  # nothing written by any refusal
    # A deputy (分管领导) or the principal (一把手) of the unit, or a county leader.
    for login in ("fu", "head", "lead"):
        other = svc.log("town", "嘉润综合物流园区", "land", f"由 {login} 分管", unit="ziranziyuan").code
        assert svc.act("insp", other, "assign", **{**ASSIGN, "leader": login}).state == "assigned"


def dump_counts(engine) -> tuple[int, int]:
    with engine.connect() as c:
        return (
            c.execute(sa.text("SELECT count(*) FROM event")).scalar_one(),
            c.execute(sa.text("SELECT count(*) FROM notice")).scalar_one(),
        )


# -- the closing review ----------------------------------------------------------------------------------


def test_the_closing_review_needs_a_rating_and_a_fail_is_a_send_back(engine, svc, clock):
    clock.set("2024-01-08T09:00")
    code = svc.log("town", "嘉润综合物流园区", "land", "用地预审", unit="ziranziyuan").code
    p = svc.act("insp", code, "assign", **ASSIGN)
    clock.set("2024-01-10T09:00")
    svc.act("staff", code, "resolve", resolution="已取得预审意见")
    before = dump_counts(engine)
    with pytest.raises(MissingField, match="评价等级"):
        svc.act("insp", code, "close", comment="同意")
    with pytest.raises(MissingField, match="退回理由"):
        svc.act("insp", code, "close", rating="不合格")
    assert dump_counts(engine) == before
    clock.set("2024-01-11T09:00")
    back = svc.act("insp", code, "close", rating="不合格", reason="缺少批复文件")
    assert back.state == "supervised" and svc.get(code).rating is None
    last = events(svc, p.id)[-1]
    assert (last.action, last.comment, last.data["rating"]) == ("send_back", "缺少批复文件", "fail")
    sent = [n for n in notices(engine) if n.event_id == last.id]
    assert {n.kind for n in sent} == {"sent_back"} and {"staff", "head"} <= {n.recipient_login for n in sent}


def test_a_review_past_its_limit_reminds_the_inspection_office_once(engine, svc, clock, rules):
    clock.set("2024-01-08T09:00")
    code = svc.log("town", "嘉润综合物流园区", "land", "用地预审", unit="ziranziyuan").code
    p = svc.act("insp", code, "assign", **ASSIGN)
    clock.set("2024-01-10T09:00")  # Wednesday
    svc.act("staff", code, "resolve", resolution="已取得预审意见")
    # 3 working days from Wednesday 01-10: 01-11, 01-12, Monday 01-15 → reminded from Tuesday 01-16.
    limit = nth_workday_after(date(2024, 1, 10), 3, chinese_calendar.is_workday)
    assert limit == date(2024, 1, 15)
    assert dict(run_sweep(engine, rules, at("2024-01-15T23:00")).actions) == {}
    assert dict(run_sweep(engine, rules, at("2024-01-16T08:00")).actions) == {"review_overdue": 1}
    assert dict(run_sweep(engine, rules, at("2024-01-20T08:00")).actions) == {}
    reminded = notices(engine, kind="review_overdue")
    assert {n.recipient_login for n in reminded} == {"insp"} and len(reminded) == 1
    assert svc.get(code).state == "review"
    (event,) = [e for e in events(svc, p.id) if e.action == "review_overdue"]
    assert "2024-01-10" in event.comment
