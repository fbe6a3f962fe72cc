"""Pauses give back the days they took in the unit of the interrupted period; typed deadlines roll forward;
a deadline can be computed again from its basis (workflow/deadlines.py, workflow/machine.py).

Every expected date is computed here from ``chinese_calendar`` (the published schedule) directly, not
from duban's calendar, and written out in the comments so a failure can be checked by hand.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date, timedelta

import chinese_calendar
import pytest

from tests.conftest import at
from workflow import deadlines as dl
from workflow.calendar import DueDate, Period, PeriodUnit, WorkCalendar
from workflow.machine import fire
from workflow.permissions import Actor, Stake
from workflow.rules import DEFAULT_RULES_PATH, parse_rules
from workflow.states import Level, Role, State

pytestmark = pytest.mark.unit

D = date
WD, CD = PeriodUnit.WORKDAYS, PeriodUnit.CALENDAR_DAYS
INSPECTOR = Actor("insp", "督查员", Role.INSPECTOR, 14, 30)
RESP = Actor("resp", "责任人", Role.STAFF, 1, 10)
STAKE = Stake(responsible_unit_id=10, responsible_person_id=1, leader_id=3, project_leader_id=4)


# -- the published schedule, asked directly -----------------------------------------------------------


def published_workdays(first: date, last: date) -> int:
    return sum(chinese_calendar.is_workday(d) for d in chinese_calendar.get_dates(first, last))


def nth_published_workday_after(day: date, n: int) -> date:
    while n:
        day += timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


def first_published_workday_from(day: date) -> date:
    while not chinese_calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def entered(level: Level, day: str, rules, **kw) -> dl.Snapshot:
    s = dl.Snapshot(id=1, code="WT-2024-0001", state=State.SUPERVISED, category="other", **kw)
    return replace(s, **dl.enter_level(s, level, at(day), rules))


def rules_with_13710(time_limit: str, deploy: str = "1 calendar_days", feedback: str = "3 calendar_days"):
    data = tomllib.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    level = data["levels"]["supervision_13710"]
    level["time_limit"] = time_limit
    level["milestones"] = {"deploy": deploy, "feedback": feedback}
    data["overrides"] = []
    return parse_rules(data, "test")


# -- working-day periods --------------------------------------------------------------------------------


def test_working_day_suspension_across_national_day_2024(rules):
    # Unit level, 10 working days from Friday 2024-09-20: 09-23..09-27, Sunday 09-29 (make-up), 09-30,
    # 10-08, 10-09, 10-10.
    s = entered(Level.UNIT, "2024-09-20", rules)
    assert s.deadline == nth_published_workday_after(D(2024, 9, 20), 10) == D(2024, 10, 10)
    # Suspended Thursday 09-26, resumed Wednesday 10-09: lost 09-26..10-08 = 09-26, 09-27, 09-29, 09-30,
    # 10-08 = 5 working days (the seven days of National Day cost nothing).
    lost = published_workdays(D(2024, 9, 26), D(2024, 10, 8))
    assert lost == 5
    changes, credit = dl.shift_for_pause(s, at("2024-09-26T15:00"), at("2024-10-09T10:00"), rules)
    assert credit == dl.PauseCredit(5, WD)
    # 10-11, Saturday 10-12 (make-up), 10-14, 10-15, 10-16.
    assert changes["deadline"] == nth_published_workday_after(D(2024, 10, 10), lost) == D(2024, 10, 16)
    assert changes["deadline_provisional"] is False and changes["warned_at"] is None


def test_a_weekend_suspension_costs_no_working_day(rules):
    s = entered(Level.UNIT, "2024-03-04", rules)
    changes, credit = dl.shift_for_pause(s, at("2024-03-09T10:00"), at("2024-03-11T09:00"), rules)
    assert (changes, credit) == ({}, dl.PauseCredit(0, WD))


def test_resumed_the_same_day_gives_nothing_back(rules):
    s = entered(Level.SUPERVISION_13710, "2024-03-04", rules)
    assert dl.shift_for_pause(s, at("2024-03-05T08:00"), at("2024-03-05T17:00"), rules) == ({}, dl.PauseCredit(0, CD))


def test_local_dates_decide_the_days_lost(rules):
    # 2024-03-05T23:30 in Shanghai is still Tuesday; resumed Wednesday 00:30: one day (Tuesday) lost.
    s = entered(Level.UNIT, "2024-03-04", rules)
    _, credit = dl.shift_for_pause(s, at("2024-03-05T23:30"), at("2024-03-06T00:30"), rules)
    assert credit == dl.PauseCredit(1, WD)


def test_send_back_across_qingming_2024_in_working_days(rules):
    # Unit level from Monday 2024-03-25: 10 working days end Tuesday 04-09 (04-04..04-06 off, Sunday
    # 04-07 a make-up workday).
    s = entered(Level.UNIT, "2024-03-25", rules)
    assert s.deadline == nth_published_workday_after(D(2024, 3, 25), 10) == D(2024, 4, 9)
    resolved = fire("resolve", s, RESP, STAKE, at("2024-04-03T16:00"), rules, resolution="已办结")
    back = fire("send_back", resolved.after, INSPECTOR, STAKE, at("2024-04-08T09:00"), rules, reason="材料不全")
    # In review 04-03..04-07: Wednesday 04-03 and make-up Sunday 04-07 are working days → 2 back.
    lost = published_workdays(D(2024, 4, 3), D(2024, 4, 7))
    assert lost == 2
    assert back.changes["deadline"] == nth_published_workday_after(D(2024, 4, 9), lost) == D(2024, 4, 11)
    assert back.data["given_back"] == {"amount": 2, "unit": "workdays"}
    assert back.data["deadline"] == "2024-04-11"


# -- calendar-day periods (13710) -----------------------------------------------------------------------


def test_send_back_across_qingming_2024_in_calendar_days(rules):
    # 13710 from Monday 2024-03-25: 7 calendar days end Monday 04-01.
    s = entered(Level.SUPERVISION_13710, "2024-03-25", rules)
    assert s.deadline == first_published_workday_from(D(2024, 4, 1)) == D(2024, 4, 1)
    resolved = fire("resolve", s, RESP, STAKE, at("2024-03-29T16:00"), rules, resolution="已办结")
    back = fire("send_back", resolved.after, INSPECTOR, STAKE, at("2024-04-02T09:00"), rules, reason="材料不全")
    # In review 03-29..04-01 = 4 calendar days; 04-01 + 4 = Friday 04-05 (清明), so the deadline rolls
    # past 04-05 and Saturday 04-06 to the make-up Sunday 04-07.
    assert back.changes["deadline"] == first_published_workday_from(D(2024, 4, 5)) == D(2024, 4, 7)
    assert back.data["given_back"] == {"amount": 4, "unit": "calendar_days"}


def test_calendar_day_13710_suspension_moves_milestones_too(rules):
    # 13710 from Monday 2024-09-23: deploy 09-24 (1 day), feedback 09-26 (3 days), settle 09-30 (7 days).
    s = entered(Level.SUPERVISION_13710, "2024-09-23", rules)
    assert (s.deploy_due, s.feedback_due, s.deadline) == (D(2024, 9, 24), D(2024, 9, 26), D(2024, 9, 30))
    out = fire("suspend", s, INSPECTOR, STAKE, at("2024-09-24T10:00"), rules, reason="等待省厅批复")
    back = fire("resume", out.after, INSPECTOR, STAKE, at("2024-09-27T10:00"), rules)
    # Lost 09-24, 09-25, 09-26 = 3 calendar days.
    ch = back.changes
    assert ch["deadline"] == first_published_workday_from(D(2024, 10, 3)) == D(2024, 10, 8)  # 10-03 is 国庆
    assert ch["deploy_due"] == first_published_workday_from(D(2024, 9, 27)) == D(2024, 9, 27)
    assert ch["feedback_due"] == first_published_workday_from(D(2024, 9, 29)) == D(2024, 9, 29)  # make-up Sun
    assert back.data["given_back"] == {"amount": 3, "unit": "calendar_days"}
    assert back.data["deadline"] == "2024-10-08" and back.notices[0].payload["due"] == "2024-10-08"


def test_month_periods_give_back_calendar_days(rules):
    # Government meeting: 1 month from Monday 2024-09-02 ends Wednesday 10-02 (国庆) → 10-08.
    s = entered(Level.GOVERNMENT_MEETING, "2024-09-02", rules)
    assert s.deadline == D(2024, 10, 8)
    changes, credit = dl.shift_for_pause(s, at("2024-09-20"), at("2024-09-23"), rules)
    assert credit == dl.PauseCredit(3, CD)  # Friday, Saturday, Sunday
    assert changes["deadline"] == first_published_workday_from(D(2024, 10, 11)) == D(2024, 10, 11)


def test_milestones_use_their_own_unit_and_never_pass_the_deadline():
    # 13710 with a working-day settle limit and calendar-day milestones.
    rules = rules_with_13710("5 workdays")
    s = entered(Level.SUPERVISION_13710, "2024-09-23", rules)
    # 5 working days from 09-23: 09-24..09-27, make-up Sunday 09-29.
    assert s.deadline == nth_published_workday_after(D(2024, 9, 23), 5) == D(2024, 9, 29)
    assert (s.deploy_due, s.feedback_due) == (D(2024, 9, 24), D(2024, 9, 26))
    # Suspended Tuesday 09-24, resumed Saturday 09-28: 4 working days, 4 calendar days.
    changes, credit = dl.shift_for_pause(s, at("2024-09-24"), at("2024-09-28"), rules)
    assert credit == dl.PauseCredit(published_workdays(D(2024, 9, 24), D(2024, 9, 27)), WD) == dl.PauseCredit(4, WD)
    assert changes["deadline"] == nth_published_workday_after(D(2024, 9, 29), 4) == D(2024, 10, 10)
    assert changes["deploy_due"] == first_published_workday_from(D(2024, 9, 28)) == D(2024, 9, 29)
    assert changes["feedback_due"] == first_published_workday_from(D(2024, 9, 30)) == D(2024, 9, 30)


def test_a_weekend_moves_calendar_day_milestones_but_not_a_working_day_deadline():
    rules = rules_with_13710("3 workdays")
    # From Thursday 2024-03-07: settle 03-12 (03-08, 03-11, 03-12); deploy 03-08; feedback Sunday 03-10 → 03-11.
    s = entered(Level.SUPERVISION_13710, "2024-03-07", rules)
    assert (s.deploy_due, s.feedback_due, s.deadline) == (D(2024, 3, 8), D(2024, 3, 11), D(2024, 3, 12))
    s = replace(s, deploy_reminded_at=at("2024-03-09"), warned_at=at("2024-03-09"))
    changes, credit = dl.shift_for_pause(s, at("2024-03-09"), at("2024-03-11"), rules)
    assert credit == dl.PauseCredit(0, WD)
    # Two calendar days: deploy 03-10 (Sunday) → 03-11; feedback 03-13 capped by the deadline 03-12.
    assert changes == {
        "deploy_due": D(2024, 3, 11),
        "deploy_reminded_at": None,
        "feedback_due": D(2024, 3, 12),
        "feedback_reminded_at": None,
    }


# -- typed deadlines roll forward (Civil Code art. 203) -------------------------------------------------


def test_a_typed_deadline_on_a_holiday_moves_to_the_next_working_day(rules):
    s = dl.Snapshot(id=1, code="WT-2024-0001", created_at=at("2024-09-26"))
    params = dict(unit_id=10, person_id=1, leader_id=3, section="耕地保护股")
    out = fire("assign", s, INSPECTOR, STAKE, at("2024-09-27"), rules, **params, deadline=D(2024, 10, 3))
    assert out.changes["deadline"] == first_published_workday_from(D(2024, 10, 3)) == D(2024, 10, 8)
    assert out.changes["deadline_provisional"] is False
    assert out.data["deadline_rolled_from"] == "2024-10-03" and out.data["deadline"] == "2024-10-08"
    assert out.notices[0].payload["due"] == "2024-10-08"
    plain = fire("assign", s, INSPECTOR, STAKE, at("2024-09-27"), rules, **params, deadline=D(2024, 10, 9))
    assert plain.changes["deadline"] == D(2024, 10, 9) and "deadline_rolled_from" not in plain.data


def test_a_supervision_letter_deadline_on_a_weekend_rolls_and_caps_the_milestones(rules):
    s = entered(Level.UNIT, "2024-03-04", rules)
    out = fire(
        "escalate",
        s,
        INSPECTOR,
        STAKE,
        at("2024-03-07"),
        rules,
        reason="督办",
        to="supervision_13710",
        deadline=D(2024, 3, 9),
    )
    assert out.changes["deadline"] == D(2024, 3, 11)  # Saturday → Monday
    assert out.data["deadline_rolled_from"] == "2024-03-09" and out.data["deadline_given"] is True
    assert out.changes["feedback_due"] <= D(2024, 3, 11)


def test_a_typed_deadline_in_a_guessed_year_is_provisional(rules):
    s = dl.Snapshot(id=1, code="WT-2026-0001", created_at=at("2026-12-20"))
    params = dict(unit_id=10, person_id=1, leader_id=3, section="规划股")
    out = fire("assign", s, INSPECTOR, STAKE, at("2026-12-21"), rules, **params, deadline=D(2027, 1, 1))
    assert out.changes["deadline"] == D(2027, 1, 4) and out.changes["deadline_provisional"] is True


# -- recomputing from the basis -------------------------------------------------------------------------


def test_basis_reproduces_enter_level_and_working_day_pauses(rules):
    s = entered(Level.UNIT, "2024-09-20", rules)
    basis = dl.DeadlineBasis(D(2024, 9, 20), rules.time_limit(Level.UNIT, "other", "general"), 0, None)
    assert dl.due_from_basis(basis, rules.calendar) == DueDate(s.deadline)
    given = 0
    for paused, resumed in (("2024-09-26", "2024-10-09"), ("2024-10-11", "2024-10-15"), ("2024-10-18", "2024-10-19")):
        changes, credit = dl.shift_for_pause(s, at(paused), at(resumed), rules)
        s, given = replace(s, **changes), given + credit.amount
        basis = replace(basis, given_back=given)
        assert dl.due_from_basis(basis, rules.calendar) == DueDate(s.deadline), (paused, given)
    assert given == 5 + 3 + 1  # 10-11, Saturday 10-12 (make-up), 10-14; then Friday 10-18


def test_basis_reproduces_a_calendar_day_pause(rules):
    s = entered(Level.SUPERVISION_13710, "2024-09-23", rules)
    changes, credit = dl.shift_for_pause(s, at("2024-09-24"), at("2024-09-27"), rules)
    basis = dl.DeadlineBasis(D(2024, 9, 23), Period(7, CD), credit.amount, None)
    assert dl.due_from_basis(basis, rules.calendar) == DueDate(changes["deadline"]) == DueDate(D(2024, 10, 8))


def test_basis_with_a_typed_deadline(rules):
    cal = rules.calendar
    basis = dl.DeadlineBasis(D(2024, 9, 27), Period(10, WD), 0, D(2024, 10, 3))
    assert dl.due_from_basis(basis, cal) == DueDate(D(2024, 10, 8))
    # Three working days back after it: 10-09, 10-10, 10-11.
    assert dl.due_from_basis(replace(basis, given_back=3), cal) == DueDate(
        nth_published_workday_after(D(2024, 10, 8), 3)
    )


def test_provisional_2027_deadline_is_recomputed_once_the_year_is_declared(rules):
    # 10 working days from Friday 2027-09-24 on the law alone: 09-27..09-30 (4); 10-01..10-03 国庆 and
    # make-up days 10-04, 10-05; then 10-06, 10-07, 10-08, 10-11, 10-12, 10-13.
    basis = dl.DeadlineBasis(D(2027, 9, 24), Period(10, WD), 2, None)
    guessed = dl.due_from_basis(replace(basis, given_back=0), rules.calendar)
    assert guessed == DueDate(D(2027, 10, 13), provisional=True)
    assert dl.due_from_basis(basis, rules.calendar) == DueDate(D(2027, 10, 15), provisional=True)
    # Later the rules file declares 2027: 10-01..10-08 off, Sunday 09-26 a make-up workday.
    declared = WorkCalendar(
        extra_holidays=[D(2027, 10, d) for d in range(1, 9)], extra_workdays=[D(2027, 9, 26)], declared_years=[2027]
    )
    # 09-26, 09-27..09-30, then 10-11..10-15 → 10-15; two more given back → 10-18, 10-19.
    assert dl.due_from_basis(replace(basis, given_back=0), declared) == DueDate(D(2027, 10, 15), provisional=False)
    assert dl.due_from_basis(basis, declared) == DueDate(D(2027, 10, 19), provisional=False)
