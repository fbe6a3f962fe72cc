"""The sweep's pure planning: one step at a time, the most advanced wins, no storms after a late run."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from tests.conftest import at
from tests.unit.test_machine import STAKE, snap
from workflow import deadlines as dl
from workflow.machine import fire
from workflow.permissions import SYSTEM
from workflow.states import Level, Light, State
from workflow.sweep import plan


def run(s, now, rules):
    """Fire planned steps until nothing is left, like service.sweep does; return the actions."""
    actions = []
    for _ in range(6):
        step = plan(s, now, rules)
        if step is None:
            return actions, s
        out = fire(step[0], s, SYSTEM, STAKE, now, rules, **step[1])
        actions.append(step[0])
        s = out.after
    raise AssertionError("sweep did not settle")


def test_warn_then_overdue_then_escalate(rules):
    s = snap(State.ASSIGNED, rules)  # deadline 2024-01-19 (Fri), warn from 01-17, grace 2 workdays
    assert run(s, at("2024-01-16"), rules)[0] == []
    actions, s = run(s, at("2024-01-17"), rules)
    assert actions == ["warn"] and s.light == Light.BLUE
    assert run(s, at("2024-01-18"), rules)[0] == []
    actions, s = run(s, at("2024-01-20"), rules)
    assert actions == ["overdue"] and s.light == Light.YELLOW
    actions, s = run(s, at("2024-01-24"), rules)
    assert actions == ["escalate"]
    assert s.level == Level.COUNTY_LEADER and s.light == Light.RED and s.overdue_escalations == 1
    assert s.deadline > date(2024, 1, 24)


def test_a_late_sweep_escalates_once_without_a_burst_of_older_notices(rules):
    s = snap(State.ASSIGNED, rules)
    actions, s = run(s, at("2024-03-01"), rules)  # weeks late: warning and reminder are long moot
    assert actions == ["escalate"]
    assert s.level == Level.COUNTY_LEADER  # one rung: the next level gets its own time


def test_thirteen_seven_ten_milestones(rules):
    s = replace(
        snap(State.SUPERVISED, rules),
        **dl.enter_level(snap(State.SUPERVISED, rules), Level.SUPERVISION_13710, at("2024-01-08"), rules),
    )
    assert (s.deploy_due, s.feedback_due, s.deadline) == (date(2024, 1, 9), date(2024, 1, 11), date(2024, 1, 15))
    actions, s1 = run(s, at("2024-01-10"), rules)
    assert actions == ["remind"] and s1.light == Light.YELLOW and s1.deploy_reminded_at
    # Acknowledged and fed back in time: no reminders at all.
    ok = replace(s, acked_at=at("2024-01-08T15:00"), feedback_at=at("2024-01-10"))
    assert run(ok, at("2024-01-11T18:00"), rules)[0] == []
    # Both milestones missed by a late sweep: ONE reminder.
    actions, s2 = run(s, at("2024-01-12"), rules)
    assert actions == ["remind"] and s2.deploy_reminded_at and s2.feedback_reminded_at
    # Missing the last milestone (settle = the level deadline): 13710 is the top of a general problem's
    # ladder, so it stays there, red; a major problem goes on to the meeting.
    actions, s3 = run(s2, at("2024-01-17"), rules)
    assert actions == ["stall"] and s3.level == Level.SUPERVISION_13710 and s3.light == Light.RED
    actions, s4 = run(replace(s2, severity="major"), at("2024-01-17"), rules)
    assert actions == ["escalate"] and s4.level == Level.GOVERNMENT_MEETING


def test_top_of_the_ladder_goes_red_once_and_then_is_reminded_every_five_workdays(rules):
    s = replace(
        snap(State.SUPERVISED, rules, severity="major"),
        **dl.enter_level(snap(State.SUPERVISED, rules), Level.GOVERNMENT_MEETING, at("2024-01-08"), rules),
    )
    # One month from 2024-01-08 → 02-08; grace 2 workdays → escalate threshold after 02-18 (Sunday 02-18 is a
    # make-up workday after the Spring Festival, 02-10..17).
    actions, s = run(s, at("2024-03-20"), rules)  # Wednesday
    assert actions == ["stall"] and s.light == Light.RED
    # Five working days after Wednesday 03-20: 03-21, 22, 25, 26, 27 → reminded from Wednesday 03-27, 00:00.
    assert s.next_check_at == dl.start_of_day(date(2024, 3, 27), rules)
    assert run(s, at("2024-03-26T23:00"), rules)[0] == []
    actions, s2 = run(s, at("2024-03-27T08:00"), rules)
    assert actions == ["stall"] and s2.level == Level.GOVERNMENT_MEETING and s2.light == Light.RED
    assert s2.next_check_at == dl.start_of_day(date(2024, 4, 3), rules)
    # A ladder with remind_every = 0: reminded once, then quiet.
    quiet = replace(
        rules, ladders={k: replace(v, remind_every=dl.Period(0, v.remind_every.unit)) for k, v in rules.ladders.items()}
    )
    actions, s3 = run(replace(s, stalled_at=None, next_check_at=None), at("2024-03-20"), quiet)
    assert actions == ["stall"] and s3.next_check_at is None
    assert run(s3, at("2024-04-20"), quiet)[0] == []


def test_unassigned_problems_remind_the_office_once(rules):
    s = dl.Snapshot(id=1, code="WT-2024-0001", state=State.DISCOVERED, created_at=at("2024-01-08"))
    assert run(s, at("2024-01-10"), rules)[0] == []
    actions, s = run(s, at("2024-01-11"), rules)
    assert actions == ["unassigned"] and s.light == Light.YELLOW
    assert run(s, at("2024-01-20"), rules)[0] == []


def test_paused_and_closed_problems_are_not_swept(rules):
    for state in (State.SUSPENDED, State.CLOSED):
        assert plan(snap(state, rules), at("2025-01-01"), rules) is None


def test_a_review_past_its_limit_reminds_the_office_once(rules):
    s = snap(State.REVIEW, rules)  # the unit applied on Sunday 2024-01-07
    # Three working days from 01-07: 01-08, 01-09, 01-10 → reminded after 01-10.
    assert dl.next_check(s, at("2024-01-08"), rules) == dl.after_day(date(2024, 1, 10), rules)
    assert plan(s, at("2024-01-10T23:00"), rules) is None
    actions, s = run(s, at("2024-01-11T08:00"), rules)
    assert actions == ["review_overdue"] and s.state == State.REVIEW and s.next_check_at is None
    assert run(s, at("2024-02-11"), rules)[0] == []


def test_next_check_is_always_the_next_threshold(rules):
    s = snap(State.ASSIGNED, rules)
    assert s.next_check_at is None  # not yet scheduled in the snapshot helper
    assert dl.next_check(s, at("2024-01-08"), rules) == dl.start_of_day(date(2024, 1, 17), rules)
    _, s = run(s, at("2024-01-17"), rules)
    assert s.next_check_at == dl.after_day(date(2024, 1, 19), rules)
