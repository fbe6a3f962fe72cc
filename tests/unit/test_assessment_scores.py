"""The monthly assessment's arithmetic on a hand-built audit log: every figure, point and score below is worked
out by hand in the comments, from the definitions in workflow/assessment.py and docs/reports.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from workflow.assessment import EventRec, Month, figures, rank
from workflow.rules import load_rules

pytestmark = pytest.mark.unit
SH = ZoneInfo("Asia/Shanghai")
UNITS = {
    1: ("町店镇", "town"),
    2: ("北留镇", "town"),
    3: ("自然资源局", "department"),
    4: ("督查室", "inspection_office"),
}


def t(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}T09:00").replace(tzinfo=SH).astimezone(UTC)


def ev(pid: int, day: str, action: str, state: str, level: str = "unit", **data) -> EventRec:
    return EventRec(pid, t(day), action, state, level, data)


EVENTS = [
    # A (町店镇): assigned before the period, applied to close on 4 Jan (deadline 5 Jan), closed 6 Jan 良好.
    ev(1, "2023-12-20", "assign", "assigned", unit_id=1, deadline="2024-01-05"),
    ev(1, "2023-12-21", "ack", "assigned"),
    ev(1, "2024-01-04", "resolve", "review"),
    ev(1, "2024-01-06", "close", "closed", rating="good"),
    # B (町店镇): deadline 10 Jan passed (超期催办 11 Jan), applied 12 Jan, sent back 13 Jan with the deadline
    # moved to 15 Jan, applied again 14 Jan, closed 16 Jan 合格: closed late, one send-back.
    ev(2, "2024-01-02", "assign", "assigned", unit_id=1, deadline="2024-01-10"),
    ev(2, "2024-01-11", "overdue", "assigned"),
    ev(2, "2024-01-12", "resolve", "review"),
    ev(2, "2024-01-13", "send_back", "supervised", deadline="2024-01-15"),
    ev(2, "2024-01-14", "resolve", "review"),
    ev(2, "2024-01-16", "close", "closed", rating="pass"),
    # C (北留镇): deadline 17 Jan passed, escalated automatically on Saturday 20 Jan to 13710 (new deadline
    # 27 Jan); 研究部署 missed (reminder 22 Jan), 反馈 made on 23 Jan.
    ev(3, "2024-01-03", "assign", "assigned", unit_id=2, deadline="2024-01-17"),
    ev(3, "2024-01-20", "escalate", "supervised", "supervision_13710", auto=True, deadline="2024-01-27"),
    ev(3, "2024-01-22", "remind", "supervised", "supervision_13710", milestone="deploy"),
    ev(3, "2024-01-23", "feedback", "supervised", "supervision_13710"),
    # D (自然资源局): closed in November — not in this period.
    ev(4, "2023-11-01", "assign", "assigned", unit_id=3, deadline="2023-11-20"),
    ev(4, "2023-11-18", "resolve", "review"),
    ev(4, "2023-11-25", "close", "closed", rating="fail"),
    # E (自然资源局): assigned on the period's last day, nothing else.
    ev(5, "2024-01-24", "assign", "assigned", unit_id=3, deadline="2024-02-20"),
    # F (督查室): its kind is not assessed. G: logged, never assigned.
    ev(6, "2024-01-05", "assign", "assigned", unit_id=4, deadline="2024-01-06"),
    ev(7, "2024-01-05", "log", "discovered"),
    # After the period: ignored.
    ev(3, "2024-01-25", "close", "closed", rating="excellent"),
]
CURRENT = {1: 1, 2: 1, 3: 2, 4: 3, 5: 3, 6: 4, 7: None}


def compute(rules):
    first, after = Month(2024, 1).period(rules.assessment.day)  # 2023-12-25 … 2024-01-24
    start = datetime.combine(first, datetime.min.time(), SH).astimezone(UTC)
    end = datetime.combine(after, datetime.min.time(), SH).astimezone(UTC)
    events = sorted(EVENTS, key=lambda e: (e.problem_id, e.at))
    figs = figures(events, CURRENT, start, end, rules)
    return figs, rank(figs, UNITS, rules)


def test_figures_by_hand():
    figs, _ = compute(load_rules())
    a, b, c = figs[1], figs[2], figs[3]
    # 町店镇: A on time (applied 4 Jan ≤ deadline 5 Jan), B late (an 超期催办 before the close).
    assert (a.cases, a.closed, a.on_time, a.ratings, a.send_backs, a.escalations) == (2, 2, 1, [85.0, 70.0], 1, 0)
    # B began Thu 11 and Fri 12 Jan overdue (deadline 10 Jan; in review from 12 Jan 09:00); after the
    # send-back its deadline was 15 Jan and it was in review again from Sunday 14 Jan: 2 working days.
    assert a.overdue_days == 2
    assert (a.nodes_met, a.nodes_missed) == (0, 0)
    # 北留镇: C began Thu 18 and Fri 19 Jan overdue (deadline 17 Jan); escalated on Saturday 20 Jan with a
    # new deadline of 27 Jan: 2 working days. One 13710 node missed (研究部署), one met (反馈).
    assert (b.cases, b.closed, b.escalations, b.overdue_days, b.nodes_met, b.nodes_missed) == (1, 0, 1, 2, 1, 1)
    # 自然资源局: only E (D was closed before the period).
    assert (c.cases, c.closed, c.overdue_days, c.escalations, c.send_backs) == (1, 0, 0, 0, 0)


def test_scores_and_ranks_by_hand():
    _, rows = compute(load_rules())
    by_unit = {r.unit: r for r in rows}
    assert set(by_unit) == {"町店镇", "北留镇", "自然资源局"}  # not 督查室 (kind not assessed)
    dd, bl, zr = by_unit["町店镇"], by_unit["北留镇"], by_unit["自然资源局"]
    # 町店镇: 按期办结率 1/2 → 50; 反馈及时率 not measured; 销号评价 (85 + 70) / 2 = 77.5; 升级 0 → 100;
    # 超期工作日 2 → 100 − 5×2 = 90; 退回 1 → 100 − 20 = 80. Weights 30, —, 20, 10, 10, 10 (sum 80):
    # (30×50 + 20×77.5 + 10×100 + 10×90 + 10×80) / 80 = 5750 / 80 = 71.875 → 71.88.
    assert dd.points == {
        "on_time_closure": 50.0,
        "feedback_timeliness": None,
        "closing_rating": 77.5,
        "escalations": 100.0,
        "overdue_days": 90.0,
        "send_backs": 80.0,
    }
    assert dd.score == 71.88
    # 北留镇: 反馈及时率 1/2 → 50; 升级 1 → 75; 超期工作日 2 → 90; 退回 0 → 100; nothing closed or rated.
    # (20×50 + 10×75 + 10×90 + 10×100) / 50 = 3650 / 50 = 73.
    assert bl.score == 73.0
    # 自然资源局: only the counts apply, all zero: 100.
    assert zr.score == 100.0
    assert [(r.group, r.unit, r.rank, r.of) for r in rows] == [
        ("乡镇", "北留镇", 1, 2),
        ("乡镇", "町店镇", 2, 2),
        ("县直部门", "自然资源局", 1, 1),
    ]
    assert not any(r.bottom for r in rows)  # no consequence configured: nobody is marked
    row = dd.as_dict()
    assert (row["unit"], row["group"], row["score"], row["rank"]) == ("町店镇", "乡镇", 71.88, 2)
    assert row["on_time_closure"] == 0.5 and row["closing_rating"] == 77.5 and row["overdue_days"] == 2
    assert row["detail"]["on_time_closure"] == "1/2"


def test_the_bottom_places_carry_the_configured_consequence():
    rules = load_rules()
    rules = replace(rules, assessment=replace(rules.assessment, consequence="由分管处级领导约谈", bottom=1))
    _, rows = compute(rules)
    assert [(r.unit, r.bottom) for r in rows] == [("北留镇", False), ("町店镇", True), ("自然资源局", False)]


def test_a_period_with_nothing_to_assess_has_no_rows():
    rules = load_rules()
    first, after = Month(2023, 8).period(25)
    start = datetime.combine(first, datetime.min.time(), SH).astimezone(UTC)
    end = datetime.combine(after, datetime.min.time(), SH).astimezone(UTC)
    assert rank(figures([], {}, start, end, rules), UNITS, rules) == []
