"""The monthly assessment (考核) of problem handling: indicators per responsible unit from the audit log,
scores from the rules file's weights, ranks within each group. Pure: events in, rows out.

Every figure comes from the events of the period (``start`` ≤ at < ``end``) and the state the events left
before it, so a month's assessment gives the same result whenever it is computed. Definitions (also in
docs/reports.md):

- 按期办结率 on_time_closure: of the problems closed in the period, those whose accepted application to
  close came on or before the deadline then in force and that never went overdue (no 超期催办, 最高层级超期
  or automatic escalation before the close) — the dispatch report's 按期销号.
- 反馈及时率 feedback_timeliness: the 13710 nodes (研究部署 = ack, 反馈办理情况 = feedback) settled in the
  period: met when the unit acted before a reminder for that node, missed when the reminder came first.
- 销号评价 closing_rating: the average of the rules file's points for the ratings given at the closes.
- 超期升级次数 escalations: automatic escalations (the deadline and its grace passed) in the period.
- 超期工作日 overdue_days: for each working day of the period, each problem that began the day overdue
  (assigned or supervised, its deadline before that day) counts one for its unit.
- 销号退回次数 send_backs: applications to close sent back in the period.

A rate or an average scores its value on 0–100; a count scores max(0, 100 − penalty × count). An indicator
with nothing to measure (no close, no 13710 node) is left out and the others' weights are scaled up.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from workflow import deadlines as dl
from workflow.errors import InvalidValue
from workflow.office_rules import IndicatorRule, first_workday_from
from workflow.rules import Rules
from workflow.states import CLOCK_STATES, Level, Milestone, State

_FULLWIDTH = str.maketrans("０１２３４５６７８９－／", "0123456789-/")
DEADLINE_ACTIONS = frozenset({"assign", "escalate", "resume", "send_back", "decide"})
L13710 = Level.SUPERVISION_13710.value


@dataclass(frozen=True)
class EventRec:
    problem_id: int
    at: datetime
    action: str
    to_state: str | None
    to_level: str | None
    data: dict


@dataclass
class Figures:
    """One unit's raw figures for the period."""

    unit_id: int
    cases: int = 0  # problems of the unit open at some time in the period
    closed: int = 0
    on_time: int = 0
    nodes_met: int = 0
    nodes_missed: int = 0
    ratings: list[float] = field(default_factory=list)
    escalations: int = 0
    overdue_days: int = 0
    send_backs: int = 0

    def value(self, key: str) -> float | int | None:
        """The indicator's raw value; None when there is nothing to measure."""
        if key == "on_time_closure":
            return self.on_time / self.closed if self.closed else None
        if key == "feedback_timeliness":
            nodes = self.nodes_met + self.nodes_missed
            return self.nodes_met / nodes if nodes else None
        if key == "closing_rating":
            return sum(self.ratings) / len(self.ratings) if self.ratings else None
        return getattr(self, key)

    def detail(self, key: str) -> str:
        """How the value came about, for the 通报: "3/4", "85.0（2 项）", "2"."""
        if key == "on_time_closure":
            return f"{self.on_time}/{self.closed}" if self.closed else "—"
        if key == "feedback_timeliness":
            nodes = self.nodes_met + self.nodes_missed
            return f"{self.nodes_met}/{nodes}" if nodes else "—"
        if key == "closing_rating":
            return f"{sum(self.ratings) / len(self.ratings):.1f}（{len(self.ratings)} 项）" if self.ratings else "—"
        return str(getattr(self, key))


@dataclass
class Row:
    unit_id: int
    unit: str
    group: str
    figures: Figures
    points: dict[str, float | None]
    score: float
    rank: int = 0
    of: int = 0  # units in the group
    bottom: bool = False

    def as_dict(self) -> dict:
        out: dict = {
            "unit": self.unit,
            "group": self.group,
            "score": self.score,
            "rank": self.rank,
            "of": self.of,
            "bottom": self.bottom,
            "cases": self.figures.cases,
        }
        for key in self.points:
            value = self.figures.value(key)
            out[key] = round(value, 4) if isinstance(value, float) else value
        out["points"] = {k: (None if v is None else round(v, 2)) for k, v in self.points.items()}
        out["detail"] = {k: self.figures.detail(k) for k in self.points}
        return out


@dataclass
class _Track:
    state: str = State.DISCOVERED
    level: str = Level.UNIT
    deadline: date | None = None
    unit_id: int | None = None
    resolved_at: datetime | None = None
    late: bool = False
    deploy: str = ""  # 13710 node status in the current stint: "" (none), "pending", "done"
    feedback: str = ""


def figures(
    events: Iterable[EventRec],
    current_unit: dict[int, int | None],
    start: datetime,
    end: datetime,
    rules: Rules,
) -> dict[int, Figures]:
    """Replay ``events`` (ordered by time, then id) up to ``end`` and count per unit. ``current_unit``: each
    problem's responsible unit now, for events that predate recording the unit on assignment."""
    ratings = rules.assessment.ratings
    out: dict[int, Figures] = {}
    tracks: dict[int, _Track] = {}
    timeline: dict[int, list[tuple[datetime, str, date | None, int | None]]] = {}
    in_period: dict[int, set[int]] = {}  # unit → problems open in the period

    def fig(unit_id: int | None) -> Figures | None:
        if unit_id is None:
            return None
        if unit_id not in out:
            out[unit_id] = Figures(unit_id)
        return out[unit_id]

    for ev in events:
        if ev.at >= end:
            continue
        t = tracks.setdefault(ev.problem_id, _Track())
        data = ev.data or {}
        counting = ev.at >= start
        if ev.action in ("assign", "decide") and data.get("unit_id"):
            t.unit_id = data["unit_id"]
        elif ev.action == "assign":
            t.unit_id = current_unit.get(ev.problem_id)
        f = fig(t.unit_id) if counting else None
        if ev.action in DEADLINE_ACTIONS and data.get("deadline"):
            t.deadline = date.fromisoformat(data["deadline"])
        if ev.action in ("overdue", "stall") or (ev.action == "escalate" and data.get("auto")):
            t.late = True
            if ev.action == "escalate" and f:
                f.escalations += 1
        if ev.action == "resolve":
            t.resolved_at = ev.at
        if ev.action == "send_back" and f:
            f.send_backs += 1
        if ev.action == "close" and f:
            f.closed += 1
            resolved = dl.local_date(t.resolved_at or ev.at, rules)
            if not t.late and t.deadline is not None and resolved <= t.deadline:
                f.on_time += 1
            if data.get("rating") in ratings:
                f.ratings.append(ratings[data["rating"]])
        _nodes(t, ev, f)
        t.state, t.level = ev.to_state or t.state, ev.to_level or t.level
        if t.level != L13710 or t.state == State.CLOSED:
            t.deploy = t.feedback = ""  # nodes not settled in the stint are not counted
        timeline.setdefault(ev.problem_id, []).append((ev.at, t.state, t.deadline, t.unit_id))

    for pid, line in timeline.items():
        _open_in_period(pid, line, start, end, in_period)
    for unit_id, problems in in_period.items():
        fig(unit_id).cases = len(problems)  # type: ignore[union-attr]
    _overdue_days(timeline, start, end, rules, fig)
    return out


def _nodes(t: _Track, ev: EventRec, f: Figures | None) -> None:
    """The 13710 nodes: a stint starts when the problem enters the level; each node is settled once."""
    entering = ev.to_level == L13710 and t.level != L13710
    if entering:
        t.deploy = t.feedback = "pending"
        return
    if t.level != L13710:
        return
    if ev.action == "ack" and t.deploy == "pending":
        t.deploy = "done"
        if f:
            f.nodes_met += 1
    elif ev.action == "feedback" and t.feedback == "pending":
        t.feedback = "done"
        if f:
            f.nodes_met += 1
    elif ev.action == "remind":
        # One reminder covers everything missed so far (workflow.machine._e_remind).
        missed = ["feedback", "deploy"] if (ev.data or {}).get("milestone") == Milestone.FEEDBACK else ["deploy"]
        for node in missed:
            if getattr(t, node) == "pending":
                setattr(t, node, "done")
                if f:
                    f.nodes_missed += 1


def _open_in_period(pid: int, line: list, start: datetime, end: datetime, in_period: dict[int, set[int]]) -> None:
    """A problem counts for the unit responsible while it was assigned and not closed in the period."""
    for i, (at, state, _deadline, unit_id) in enumerate(line):
        if unit_id is None or state == State.DISCOVERED or state == State.CLOSED:
            continue
        until = line[i + 1][0] if i + 1 < len(line) else end
        if at < end and until > start:
            in_period.setdefault(unit_id, set()).add(pid)


def _overdue_days(timeline: dict, start: datetime, end: datetime, rules: Rules, fig) -> None:
    cal = rules.calendar
    day, last = dl.local_date(start, rules), dl.local_date(end - timedelta(microseconds=1), rules)
    days = []
    while day <= last:
        if cal.is_workday(day):
            days.append((day, dl.start_of_day(day, rules)))
        day += timedelta(days=1)
    for line in timeline.values():
        moments = [at for at, *_ in line]
        for day, moment in days:
            i = bisect.bisect_left(moments, moment) - 1  # the last event before the day began
            if i < 0:
                continue
            _at, state, deadline, unit_id = line[i]
            if state in CLOCK_STATES and deadline is not None and deadline < day:
                f = fig(unit_id)
                if f:
                    f.overdue_days += 1


def score(f: Figures, indicators: Sequence[IndicatorRule], total: float) -> tuple[float, dict[str, float | None]]:
    """The unit's score out of ``total`` and each indicator's points (0–100, None when not measured)."""
    points: dict[str, float | None] = {}
    weighted = weights = 0.0
    for ind in indicators:
        value = f.value(ind.key)
        if value is None:
            points[ind.key] = None
            continue
        p = value * 100 if ind.kind == "rate" else value if ind.kind == "average" else 100 - ind.penalty * value
        p = min(max(p, 0.0), 100.0)
        points[ind.key] = p
        weighted += ind.weight * p
        weights += ind.weight
    result = weighted / weights * total / 100 if weights else total
    return round(result + 1e-9, 2), points


def rank(figs: dict[int, Figures], units: dict[int, tuple[str, str]], rules: Rules) -> list[Row]:
    """Rows for every unit with a case in the period, grouped by the rules file's groups (unit kinds) and
    ranked by score within each group (equal scores share a rank: 1, 2, 2, 4)."""
    a = rules.assessment
    rows: list[Row] = []
    for unit_id, f in figs.items():
        if unit_id not in units or not f.cases:
            continue
        name, kind = units[unit_id]
        group = a.group_of(kind)
        if group is None:
            continue
        total, points = score(f, a.indicators, a.total)
        rows.append(Row(unit_id, name, group, f, points, total))
    order = {g: i for i, g in enumerate(dict.fromkeys(a.groups.values()))}
    rows.sort(key=lambda r: (order.get(r.group, 99), -r.score, r.unit))
    for group in order:
        members = [r for r in rows if r.group == group]
        previous, place = None, 0
        for i, r in enumerate(members, start=1):
            if r.score != previous:
                place, previous = i, r.score
            r.rank, r.of = place, len(members)
        if a.consequence and a.bottom and members:
            cutoff = members[max(len(members) - a.bottom, 0)].rank
            for r in members:
                r.bottom = r.rank >= cutoff and r.rank > 1
    return rows


# -- the month ---------------------------------------------------------------------------------------------

_MONTH_RE = re.compile(r"^\s*(\d{4})\s*(?:-|/|年)\s*(\d{1,2})\s*月?\s*$")


@dataclass(frozen=True)
class Month:
    """An assessment month. Its period runs from ``day`` of the month before through the day before ``day``
    of this month (day 25: 2024-01 is 2023-12-25 to 2024-01-24)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = _MONTH_RE.match(str(text or "").translate(_FULLWIDTH))
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise InvalidValue(
                f"考核月份「{text}」无效，应为年-月，如 2024-01 或 2024年1月",
                field="month",
                value=text,
                label="考核月份",
            )
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def slug(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def period(self, day: int) -> tuple[date, date]:
        """(first day, the day after the last): [``day`` of the month before, ``day`` of this month)."""
        prev = (self.year - 1, 12) if self.month == 1 else (self.year, self.month - 1)
        return date(*prev, day), date(self.year, self.month, day)

    def run_day(self, rules: Rules) -> date:
        """When the month's assessment runs: its ``day``, or the first working day after it."""
        return first_workday_from(rules.calendar, self.year, self.month, rules.assessment.day)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)


def period_text(first: date, after: date) -> str:
    last = after - timedelta(days=1)
    return f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"
