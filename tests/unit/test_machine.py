"""The workflow machine: every legal and illegal transition, every role, routing and the ladders by severity,
reclassification and the closing review."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tests.conftest import at
from workflow import deadlines as dl
from workflow.errors import InvalidTransition, InvalidValue, MissingField, PermissionDenied
from workflow.machine import ACTIONS, MACHINE, available, fire, mermaid
from workflow.permissions import SYSTEM, Actor, Stake
from workflow.states import Level, Light, Role, State

UNIT, OTHER_UNIT, OFFICE, GOV = 10, 20, 30, 40
PERSON, HEAD, LEADER_USER, COUNTY_LEADER, OTHER_LEADER = 1, 2, 3, 4, 5

STAFF = Actor("staff", "科员", Role.STAFF, 11, UNIT)
HEAD_A = Actor("head", "局长", Role.UNIT_HEAD, HEAD, UNIT)
RESP = Actor("resp", "责任人", Role.STAFF, PERSON, UNIT)
OUTSIDER = Actor("other", "外单位", Role.STAFF, 12, OTHER_UNIT)
OUT_HEAD = Actor("ohead", "外单位负责人", Role.UNIT_HEAD, 13, OTHER_UNIT)
INSPECTOR = Actor("insp", "督查员", Role.INSPECTOR, 14, OFFICE)
ADMIN = Actor("admin", "管理员", Role.ADMIN, 15, OFFICE)
CLEADER = Actor("lead", "包联副县长", Role.COUNTY_LEADER, COUNTY_LEADER, GOV)
OTHER_CLEADER = Actor("lead2", "其他副县长", Role.COUNTY_LEADER, OTHER_LEADER, GOV)
DISABLED = Actor("gone", "已停用", Role.INSPECTOR, 16, OFFICE, active=False)
EVERYONE = [STAFF, HEAD_A, RESP, OUTSIDER, OUT_HEAD, INSPECTOR, ADMIN, CLEADER, OTHER_CLEADER]

STAKE = Stake(
    responsible_unit_id=UNIT, responsible_person_id=PERSON, leader_id=LEADER_USER, project_leader_id=COUNTY_LEADER
)
NOW = at("2024-01-08")

PARAMS = {
    "assign": dict(unit_id=UNIT, person_id=PERSON, leader_id=LEADER_USER, section="耕地保护股"),
    "ack": {},
    "feedback": dict(text="已召开专题会"),
    "note": dict(text="备注"),
    "supervise": dict(reason="进展缓慢"),
    "escalate": dict(reason="需县级协调"),
    "suspend": dict(reason="等待省厅批复"),
    "resume": {},
    "resolve": dict(resolution="已办结"),
    "close": dict(rating="good"),
    "send_back": dict(reason="材料不全"),
    "reclassify": dict(reason="涉及永久基本农田，需县政府研究"),
}
USER_ACTIONS = list(PARAMS)


def snap(state: State, rules, **kw) -> dl.Snapshot:
    s = dl.Snapshot(id=1, code="WT-2024-0001", state=state, created_at=at("2024-01-05"), category="other")
    if state != State.DISCOVERED:
        s = replace(s, **dl.enter_level(s, Level.UNIT, at("2024-01-05"), rules))
    if state == State.SUSPENDED:
        s = replace(s, suspended_at=at("2024-01-06"), suspended_from=State.ASSIGNED)
    if state == State.REVIEW:
        s = replace(s, resolved_at=at("2024-01-07"))
    return replace(s, **kw)


# What each role may do, as the issue and GUIDE state it (state-independent).
ALLOWED = {
    "assign": {INSPECTOR, ADMIN, CLEADER},
    "supervise": {INSPECTOR, ADMIN, CLEADER},
    "ack": {STAFF, HEAD_A, RESP, ADMIN},
    "feedback": {STAFF, HEAD_A, RESP, ADMIN},
    "resolve": {STAFF, HEAD_A, RESP, ADMIN},
    "note": set(EVERYONE),
    "escalate": {INSPECTOR, ADMIN, CLEADER, HEAD_A},
    "suspend": {INSPECTOR, ADMIN},
    "resume": {INSPECTOR, ADMIN},
    "close": {INSPECTOR, ADMIN},
    "send_back": {INSPECTOR, ADMIN},
    "reclassify": {INSPECTOR, ADMIN},
}
LEGAL_FROM = {
    "assign": {State.DISCOVERED},
    "ack": {State.ASSIGNED, State.SUPERVISED},
    "feedback": {State.ASSIGNED, State.SUPERVISED},
    "note": set(State),
    "supervise": {State.ASSIGNED},
    "escalate": {State.ASSIGNED, State.SUPERVISED},
    "suspend": {State.ASSIGNED, State.SUPERVISED},
    "resume": {State.SUSPENDED},
    "resolve": {State.ASSIGNED, State.SUPERVISED},
    "close": {State.REVIEW},
    "send_back": {State.REVIEW},
    "reclassify": {State.DISCOVERED, State.ASSIGNED, State.SUPERVISED, State.SUSPENDED},
}
DEST = {
    "assign": State.ASSIGNED,
    "supervise": State.SUPERVISED,
    "escalate": State.SUPERVISED,
    "suspend": State.SUSPENDED,
    "resume": State.ASSIGNED,
    "resolve": State.REVIEW,
    "close": State.CLOSED,
    "send_back": State.SUPERVISED,
}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", USER_ACTIONS)
def test_every_action_from_every_state(rules, action, state):
    s = snap(state, rules)
    if state in LEGAL_FROM[action]:
        out = fire(action, s, ADMIN, STAKE, NOW, rules, **PARAMS[action])
        assert out.to_state == DEST.get(action, state)
        assert out.action == action and out.from_state == state
    else:
        with pytest.raises(InvalidTransition) as err:
            fire(action, s, ADMIN, STAKE, NOW, rules, **PARAMS[action])
        assert State(state).label in err.value.message


@pytest.mark.parametrize("actor", EVERYONE + [DISABLED], ids=lambda a: a.login)
@pytest.mark.parametrize("action", USER_ACTIONS)
def test_every_role_against_every_action(rules, action, actor):
    state = sorted(LEGAL_FROM[action])[0]
    s = snap(state, rules)
    if actor in ALLOWED[action]:
        fire(action, s, actor, STAKE, NOW, rules, **PARAMS[action])
    else:
        with pytest.raises(PermissionDenied) as err:
            fire(action, s, actor, STAKE, NOW, rules, **PARAMS[action])
        assert actor.login in err.value.message


def test_a_unit_never_closes_its_own_problem_even_as_inspector(rules):
    inspector_in_unit = Actor("x", "本单位督查员", Role.INSPECTOR, 99, UNIT)
    for action in ("close", "send_back"):
        with pytest.raises(PermissionDenied, match="不能"):
            fire(action, snap(State.REVIEW, rules), inspector_in_unit, STAKE, NOW, rules, **PARAMS[action])


def test_people_cannot_fire_system_actions_and_the_system_cannot_act_for_people(rules):
    s = snap(State.ASSIGNED, rules)
    for action in ("warn", "remind", "overdue", "stall"):
        with pytest.raises(PermissionDenied):
            fire(action, s, ADMIN, STAKE, NOW, rules)
        fire(action, s, SYSTEM, STAKE, NOW, rules)
    for action in ("resolve", "supervise"):
        with pytest.raises(PermissionDenied):
            fire(action, s, SYSTEM, STAKE, NOW, rules, **PARAMS[action])


@pytest.mark.parametrize(
    "action,missing",
    [
        ("feedback", "text"),
        ("note", "text"),
        ("supervise", "reason"),
        ("escalate", "reason"),
        ("suspend", "reason"),
        ("resolve", "resolution"),
        ("send_back", "reason"),
    ],
)
def test_required_text_is_checked_before_anything_changes(rules, action, missing):
    state = sorted(LEGAL_FROM[action])[0]
    params = {k: v for k, v in PARAMS[action].items() if k != missing}
    with pytest.raises(MissingField):
        fire(action, snap(state, rules), ADMIN, STAKE, NOW, rules, **params)
    with pytest.raises(MissingField):
        fire(action, snap(state, rules), ADMIN, STAKE, NOW, rules, **{**params, missing: "   "})


def test_overlong_text_is_refused(rules):
    with pytest.raises(InvalidValue, match="过长"):
        fire("note", snap(State.ASSIGNED, rules), ADMIN, STAKE, NOW, rules, text="长" * 5001)


def test_assign_needs_unit_and_person_and_a_future_deadline(rules):
    s = snap(State.DISCOVERED, rules)
    with pytest.raises(MissingField, match="责任单位"):
        fire("assign", s, ADMIN, STAKE, NOW, rules, person_id=PERSON)
    with pytest.raises(MissingField, match="责任人"):
        fire("assign", s, ADMIN, STAKE, NOW, rules, unit_id=UNIT)
    with pytest.raises(InvalidValue, match="早于今天"):
        fire("assign", s, ADMIN, STAKE, NOW, rules, **PARAMS["assign"], deadline=date(2024, 1, 1))


def test_assign_without_leader_and_section_is_one_error_naming_both(rules):
    s = snap(State.DISCOVERED, rules)
    with pytest.raises(MissingField) as err:
        fire("assign", s, ADMIN, STAKE, NOW, rules, unit_id=UNIT, person_id=PERSON)
    assert "分管领导和责任科室" in err.value.message and err.value.field == "leader"
    with pytest.raises(MissingField) as err:
        fire("assign", s, ADMIN, STAKE, NOW, rules, unit_id=UNIT, person_id=PERSON, leader_id=LEADER_USER)
    assert "责任科室" in err.value.message and "分管领导" not in err.value.message
    assert err.value.field == "section"
    with pytest.raises(MissingField, match="指定分管领导（") as err:
        fire("assign", s, ADMIN, STAKE, NOW, rules, unit_id=UNIT, person_id=PERSON, section="股")
    # The rules file may make them optional.
    lenient = replace(rules, require_leader=False, require_section=False)
    out = fire("assign", s, ADMIN, STAKE, NOW, lenient, unit_id=UNIT, person_id=PERSON)
    assert out.to_state == State.ASSIGNED and out.changes["leader_id"] is None


@pytest.mark.parametrize(
    "severity,county_level,level",
    [
        ("general", False, Level.UNIT),
        ("general", True, Level.COUNTY_LEADER),
        ("major", False, Level.SUPERVISION_13710),
        ("major", True, Level.SUPERVISION_13710),
    ],
)
def test_routing_at_assignment(rules, severity, county_level, level):
    s = snap(State.DISCOVERED, rules, severity=severity, county_level=county_level)
    out = fire("assign", s, INSPECTOR, STAKE, NOW, rules, **PARAMS["assign"])
    assert out.to_level == level
    assert out.changes["deadline"] > NOW.date()


def test_assign_computes_the_deadline_from_the_rules_and_honours_a_given_one(rules):
    s = snap(State.DISCOVERED, rules, category="land")
    out = fire("assign", s, INSPECTOR, STAKE, NOW, rules, **PARAMS["assign"])
    # Land at unit level: 20 working days from Monday 2024-01-08 (Sunday 02-04 is a make-up workday).
    assert out.changes["deadline"] == date(2024, 2, 4)
    assert {n.kind for n in out.notices} == {"assignment"}
    # A deadline in a year without a published schedule, within the two years ahead the rules allow.
    later = NOW.replace(year=2025, month=6)
    given = fire("assign", s, INSPECTOR, STAKE, later, rules, **PARAMS["assign"], deadline=date(2027, 3, 1))
    assert given.changes["deadline"] == date(2027, 3, 1) and given.changes["deadline_provisional"] is True


def climb(s: dl.Snapshot, rules) -> tuple[list[Level], str]:
    seen, now = [Level(s.level)], NOW
    while True:
        try:
            out = fire("escalate", s, INSPECTOR, STAKE, now, rules, reason="久拖不决")
        except InvalidTransition as err:
            return seen, err.message
        assert out.to_state == State.SUPERVISED
        assert out.changes["deadline"] > now.date()
        assert out.changes["level_started_at"] == now
        assert out.notices[0].kind == "escalation" and not out.notices[0].replayable
        seen.append(Level(out.to_level))
        s = out.after
        now = at("2024-03-01")


def test_the_ladder_gives_every_level_its_own_time_and_general_problems_stop_at_13710(rules):
    seen, refusal = climb(snap(State.ASSIGNED, rules), rules)
    assert seen == [Level.UNIT, Level.COUNTY_LEADER, Level.SUPERVISION_13710]
    assert "最高层级" in refusal and "重新定性为重大问题" in refusal


def test_major_problems_climb_from_13710_to_the_meeting(rules):
    s = snap(State.DISCOVERED, rules, severity="major")
    s = fire("assign", s, INSPECTOR, STAKE, NOW, rules, **PARAMS["assign"]).after
    seen, refusal = climb(s, rules)
    assert seen == [Level.SUPERVISION_13710, Level.GOVERNMENT_MEETING] and "最高层级" in refusal


def test_a_general_problem_cannot_be_sent_to_the_meeting_by_hand(rules):
    s = snap(State.ASSIGNED, rules)
    with pytest.raises(InvalidValue, match="重新定性为重大问题"):
        fire("escalate", s, INSPECTOR, STAKE, NOW, rules, reason="x", to="government_meeting")


def test_reclassify_as_major_opens_the_way_to_the_meeting(rules):
    # A general problem at 13710 from Monday 2024-01-08: 7 calendar days → Monday 01-15; stuck at the top.
    s = fire("escalate", snap(State.ASSIGNED, rules), INSPECTOR, STAKE, NOW, rules, reason="x", to="supervision_13710")
    s = s.after
    assert s.deadline == date(2024, 1, 15) and rules.next_rung(s.severity, s.level) is None
    s = replace(s, stalled_at=at("2024-01-18"), overdue_reminded_at=at("2024-01-16"))
    with pytest.raises(PermissionDenied):
        fire("reclassify", s, HEAD_A, STAKE, at("2024-01-20"), rules, reason="重大")
    with pytest.raises(MissingField, match="定性理由"):
        fire("reclassify", s, INSPECTOR, STAKE, at("2024-01-20"), rules)
    out = fire("reclassify", s, INSPECTOR, STAKE, at("2024-01-20"), rules, reason="涉及永久基本农田")
    # Major at 13710: one month from the day it entered the level, 2024-01-08 → 02-08; reminders start over.
    assert out.changes["severity"] == "major" and out.changes["basis_period"] == "1 months"
    assert out.changes["deadline"] == date(2024, 2, 8) and out.changes["stalled_at"] is None
    assert out.data == {"from": "general", "to": "major", "deadline": "2024-02-08", "next_rung": "government_meeting"}
    assert [n.kind for n in out.notices] == ["reclassified"]
    assert fire("escalate", out.after, INSPECTOR, STAKE, at("2024-01-22"), rules, reason="x").to_level == (
        Level.GOVERNMENT_MEETING
    )
    with pytest.raises(InvalidValue, match="已是重大问题"):
        fire("reclassify", out.after, INSPECTOR, STAKE, at("2024-01-22"), rules, reason="x", severity="重大")


def test_reclassify_before_assignment_moves_the_starting_level(rules):
    out = fire("reclassify", snap(State.DISCOVERED, rules), INSPECTOR, STAKE, NOW, rules, reason="重大")
    assert out.changes == {"severity": "major", "level": Level.SUPERVISION_13710, **out.changes}
    assert out.to_level == Level.SUPERVISION_13710


def test_escalate_to_a_chosen_level_must_go_up(rules):
    s = snap(State.ASSIGNED, rules)
    out = fire("escalate", s, INSPECTOR, STAKE, NOW, rules, reason="久拖不决", to="supervision_13710")
    assert out.to_level == Level.SUPERVISION_13710
    assert out.changes["deploy_due"] == date(2024, 1, 9) and out.changes["feedback_due"] == date(2024, 1, 11)
    assert out.changes["deadline"] == date(2024, 1, 15)  # 7 calendar days: Sunday 01-14 moves to Monday
    with pytest.raises(InvalidValue, match="不高于当前层级"):
        fire("escalate", out.after, INSPECTOR, STAKE, NOW, rules, reason="x", to="county_leader")
    with pytest.raises(InvalidValue, match="不高于当前层级"):
        fire("escalate", s, INSPECTOR, STAKE, NOW, rules, reason="x", to="unit")
    with pytest.raises(InvalidValue, match="可选"):
        fire("escalate", s, INSPECTOR, STAKE, NOW, rules, reason="x", to="province")


def test_major_problems_get_a_month_at_13710(rules):
    s = snap(State.ASSIGNED, rules, severity="major")
    out = fire("escalate", s, INSPECTOR, STAKE, NOW, rules, reason="x", to="supervision_13710")
    assert out.changes["deadline"] == date(2024, 2, 8)


def test_ack_only_once_per_level(rules):
    out = fire("ack", snap(State.ASSIGNED, rules), RESP, STAKE, NOW, rules)
    with pytest.raises(InvalidTransition, match="已于"):
        fire("ack", out.after, RESP, STAKE, NOW, rules)


def test_suspend_pauses_the_clock_and_resume_moves_the_deadline(rules):
    s = snap(State.SUPERVISED, rules)
    out = fire("suspend", s, INSPECTOR, STAKE, at("2024-01-10"), rules, reason="等待省厅批复")
    assert out.changes["next_check_at"] is None and out.to_state == State.SUSPENDED
    back = fire("resume", out.after, INSPECTOR, STAKE, at("2024-01-20"), rules)
    assert back.to_state == State.SUPERVISED
    assert back.changes["deadline"] >= s.deadline + (date(2024, 1, 20) - date(2024, 1, 10))
    assert rules.calendar.is_workday(back.changes["deadline"])
    assert back.changes["next_check_at"] is not None


def test_resume_returns_to_the_state_it_was_suspended_from(rules):
    s = snap(State.ASSIGNED, rules)
    out = fire("suspend", s, INSPECTOR, STAKE, NOW, rules, reason="等待")
    assert fire("resume", out.after, INSPECTOR, STAKE, NOW, rules).to_state == State.ASSIGNED


def test_send_back_gives_the_unit_back_the_review_time(rules):
    s = snap(State.SUPERVISED, rules)
    resolved = fire("resolve", s, RESP, STAKE, at("2024-01-10"), rules, resolution="已办结")
    back = fire("send_back", resolved.after, INSPECTOR, STAKE, at("2024-01-15"), rules, reason="材料不全")
    assert back.to_state == State.SUPERVISED
    assert back.changes["deadline"] >= s.deadline
    assert back.notices[0].kind == "sent_back"


def test_close_validates_the_rating(rules):
    with pytest.raises(InvalidValue, match="优秀"):
        fire("close", snap(State.REVIEW, rules), INSPECTOR, STAKE, NOW, rules, rating="棒")
    out = fire("close", snap(State.REVIEW, rules), INSPECTOR, STAKE, NOW, rules, rating="良好")
    assert out.changes["rating"] == "good" and out.to_state == State.CLOSED
    assert out.changes["calendar_fp"] is None  # nothing to compute again once closed


def test_close_without_a_rating_is_refused(rules):
    for params in ({}, {"rating": ""}, {"comment": "同意销号"}):
        with pytest.raises(MissingField, match="评价等级") as err:
            fire("close", snap(State.REVIEW, rules), INSPECTOR, STAKE, NOW, rules, **params)
        assert err.value.field == "rating"


def test_a_fail_rating_is_a_send_back_with_its_reason(rules):
    s = snap(State.REVIEW, rules)
    with pytest.raises(MissingField, match="退回理由") as err:
        fire("close", s, INSPECTOR, STAKE, NOW, rules, rating="不合格")
    assert err.value.field == "reason"
    out = fire("close", s, INSPECTOR, STAKE, NOW, rules, rating="不合格", reason="补偿协议未全部签订")
    assert out.action == "send_back" and out.to_state == State.SUPERVISED
    assert "rating" not in out.changes and "closed_at" not in out.changes
    assert out.comment == "补偿协议未全部签订" and out.data["rating"] == "fail"
    assert [(n.kind, n.payload["rating"]) for n in out.notices] == [("sent_back", "fail")]


def test_unknown_action(rules):
    with pytest.raises(InvalidValue, match="未知操作"):
        fire("delete", snap(State.ASSIGNED, rules), ADMIN, STAKE, NOW, rules)


def test_one_machine_built_once_and_diagram_comes_from_it():
    assert set(ACTIONS) >= set(USER_ACTIONS)
    text = mermaid()
    assert text.startswith("stateDiagram-v2")
    for event in MACHINE.events.values():
        for source, transitions in event.transitions.items():
            for t in transitions:
                if t.dest is not None:
                    assert f"{source} --> {t.dest}" in text
    assert "closed --> [*]" in text
    assert available(State.CLOSED) == ["note"]
    assert "review --> supervised: 销号 close" in text  # 不合格


def test_lights_follow_the_thresholds(rules):
    s = snap(State.ASSIGNED, rules)  # unit level from 2024-01-05, 10 workdays → 2024-01-19
    assert s.deadline == date(2024, 1, 19)
    assert dl.light_for(s, at("2024-01-10"), rules) == Light.GREEN
    assert dl.light_for(s, at("2024-01-17"), rules) == Light.BLUE  # 2 workdays before
    assert dl.light_for(s, at("2024-01-20"), rules) == Light.YELLOW  # overdue, within grace
    assert dl.light_for(s, at("2024-01-24"), rules) == Light.RED  # grace (2 workdays) over


def test_a_supervision_letter_may_set_its_own_deadline(rules):
    s = snap(State.ASSIGNED, rules)
    out = fire(
        "escalate",
        s,
        INSPECTOR,
        STAKE,
        NOW,
        rules,
        reason="督办函另定时限",
        to="supervision_13710",
        deadline=date(2024, 1, 12),
    )
    assert out.changes["deadline"] == date(2024, 1, 12)
    assert out.changes["feedback_due"] <= date(2024, 1, 12) and out.data["deadline_given"] is True
    with pytest.raises(InvalidValue, match="早于今天"):
        fire("escalate", s, INSPECTOR, STAKE, NOW, rules, reason="x", deadline=date(2024, 1, 1))


def test_action_text_goes_through_the_text_gate(rules):
    s = snap(State.ASSIGNED, rules)
    with pytest.raises(InvalidValue, match="控制字符") as info:
        fire("note", s, ADMIN, STAKE, NOW, rules, text="备注\x1b[2J")
    assert info.value.field == "text" and info.value.label == "备注内容"
    with pytest.raises(InvalidValue, match="文字方向控制符"):
        fire("note", s, ADMIN, STAKE, NOW, rules, text="invoice\u202egnp.exe")
    outcome = fire("note", s, ADMIN, STAKE, NOW, rules, text="  第一行\r\n第二行\t完  ")
    assert outcome.comment == "第一行\n第二行\t完"  # CRLF → LF, tab kept in multi-line text, ends trimmed
