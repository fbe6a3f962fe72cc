"""The dispatch report (调度通报): per-unit figures for a month or half month, read from the audit log.

Every figure is computed from the ``event`` table as it stood at the period's end (events at or after the
end are ignored), so a report for January gives the same numbers in March. The definitions are in
docs/reports.md; each is stated again where it is computed below. The problem's responsible unit, people
and project are taken from the problem row: the engine sets them once, at assignment, and has no
re-assignment, so they are the same at any moment after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from models.tables import Event, Problem, Project, Unit, User, table_of
from reports.columns import clean
from service import directory
from workflow import deadlines as dl
from workflow.dates import check_year
from workflow.errors import InvalidValue
from workflow.permissions import Manage
from workflow.rules import Rules
from workflow.states import CLOCK_STATES, OPEN_STATES, Level, State

_PERIOD_RE = re.compile(r"^(\d{4})\s*(?:-|/|年)\s*(\d{1,2})\s*月?$")


@dataclass(frozen=True)
class Period:
    year: int
    month: int
    half: int | None  # None: the whole month; 1: days 1–15; 2: day 16 to the month's end

    @classmethod
    def parse(cls, text: str, half: str | None = None) -> Period:
        m = _PERIOD_RE.match(clean(text))
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise InvalidValue(
                f"统计期「{text}」无效，应为年-月，如 2024-01 或 2024年1月", field="period", value=text, label="统计期"
            )
        check_year(int(m.group(1)), "统计期", "period", shown=text)
        h = None
        if half not in (None, ""):
            if clean(half) not in ("1", "2"):
                raise InvalidValue(
                    f"半月「{half}」无效，可选：1（1–15 日）或 2（16 日至月末）", field="half", value=half, label="半月"
                )
            h = int(clean(half))
        return cls(int(m.group(1)), int(m.group(2)), h)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 16 if self.half == 2 else 1)

    @property
    def after(self) -> date:
        """The first day after the period."""
        if self.half == 1:
            return date(self.year, self.month, 16)
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def label(self) -> str:
        base = f"{self.year}年{self.month}月"
        return (
            base
            + {None: "", 1: "上半月（1–15日）", 2: f"下半月（16–{(self.after - timedelta(days=1)).day}日）"}[self.half]
        )

    @property
    def slug(self) -> str:
        return f"{self.year}-{self.month:02d}" + (f"-h{self.half}" if self.half else "")


@dataclass
class UnitFigures:
    unit_id: int
    unit: str
    new: int = 0  # 新交办
    closed: int = 0  # 办结销号
    on_time: int = 0  # 按期销号
    overdue: int = 0  # 超期未办结（期末）
    open: int = 0  # 在办（期末）
    red: int = 0  # 红灯（期末）
    to_13710: int = 0  # 升级至“13710”督办
    to_meeting: int = 0  # 提交县政府会议研究
    days_to_close: list[int] = field(default_factory=list)
    rank: int = 0
    dispatched: int = 0  # dispatch records (调度) of the unit's problems in the period

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.closed if self.closed else None

    @property
    def late(self) -> int:
        return self.closed - self.on_time

    @property
    def avg_days(self) -> float | None:
        return round(sum(self.days_to_close) / len(self.days_to_close), 1) if self.days_to_close else None

    def as_dict(self) -> dict:
        return {
            "unit": self.unit,
            "rank": self.rank,
            "dispatched": self.dispatched,
            "new": self.new,
            "closed": self.closed,
            "closed_on_time": self.on_time,
            "on_time_rate": None if self.on_time_rate is None else round(self.on_time_rate, 4),
            "overdue": self.overdue,
            "open": self.open,
            "red": self.red,
            "escalated_13710": self.to_13710,
            "to_government_meeting": self.to_meeting,
            "avg_days_to_close": self.avg_days,
        }


@dataclass
class RedItem:
    code: str
    title: str
    project: str
    unit: str
    level: str
    deadline: date | None
    days_overdue: int
    person: str
    leader: str
    project_leader: str
    auto_escalations: int


@dataclass
class DispatchReport:
    period: Period
    start: datetime
    end: datetime  # the period's end, or "now" if the period is not over
    complete: bool  # False: the period has not ended yet
    units: list[UnitFigures]
    total: UnitFigures
    red: list[RedItem]
    daily: list[tuple[date, int, int]]  # (day, open at the day's end, closed in the period so far)
    discovered_open: int  # logged, not yet assigned, at the end

    def as_dict(self) -> dict:
        return {
            "period": self.period.slug,
            "label": self.period.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "complete": self.complete,
            "units": [u.as_dict() for u in self.units],
            "total": self.total.as_dict(),
            "red": [{**r.__dict__, "deadline": r.deadline.isoformat() if r.deadline else None} for r in self.red],
            "daily": [{"day": d.isoformat(), "open": o, "closed": c} for d, o, c in self.daily],
            "discovered_open": self.discovered_open,
        }


def _instant(day: date, rules: Rules) -> datetime:
    return dl.start_of_day(day, rules)


@dataclass
class _Track:
    """One problem's history up to the end of the period."""

    state: str = State.DISCOVERED
    level: str = Level.UNIT
    deadline: date | None = None
    assigned_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    late_flag: bool = False  # an 超期催办 / 最高层级超期 / 超期自动升级 event happened
    auto_escalations: int = 0


def build(engine, rules: Rules, period: Period, now: datetime, actor_login: str | None) -> DispatchReport:
    directory.authorize(engine, actor_login, Manage.REPORTS)
    start = _instant(period.first, rules)
    end_of_period = _instant(period.after, rules)
    if start > now:
        raise InvalidValue(
            f"统计期 {period.label} 尚未开始（当前时间 {now.astimezone(rules.timezone):%Y-%m-%d %H:%M}）"
        )
    end = min(end_of_period, now)
    as_of_day = dl.local_date(end, rules)  # a deadline before this day has passed at ``end``
    last_day = dl.local_date(end - timedelta(microseconds=1), rules)  # the last day the report covers

    from models.db import session as open_session

    p, e = table_of(Problem), table_of(Event)
    with open_session(engine) as session:
        meta = {
            row[0]: row[1:]
            for row in session.execute(
                sa.select(
                    p.c.id,
                    p.c.code,
                    p.c.title,
                    p.c.responsible_unit_id,
                    p.c.responsible_person_id,
                    p.c.leader_id,
                    table_of(Project).c.name,
                    table_of(Project).c.leader_id,
                ).select_from(p.join(table_of(Project), table_of(Project).c.id == p.c.project_id))
            )
        }
        units = dict(session.execute(sa.select(Unit.id, Unit.name)).all())
        people = dict(session.execute(sa.select(User.id, User.name)).all())
        events = session.execute(
            sa.select(e.c.problem_id, e.c.at, e.c.action, e.c.to_state, e.c.to_level, e.c.data)
            .where(e.c.at < sa.bindparam("end", end, type_=e.c.at.type))
            .order_by(e.c.problem_id, e.c.at, e.c.id)
        ).all()

    figures: dict[int, UnitFigures] = {}

    def fig(unit_id: int | None) -> UnitFigures:
        if unit_id not in figures:
            figures[unit_id] = UnitFigures(unit_id or 0, units.get(unit_id, "（未指定）"))
        return figures[unit_id]

    tracks: dict[int, _Track] = {}
    logged, closings = [], []
    for pid, at, action, to_state, to_level, data in events:
        t = tracks.get(pid)
        if t is None:
            t = tracks[pid] = _Track()
        in_period = at >= start
        unit_fig = fig(meta[pid][2]) if t.state != State.DISCOVERED or action == "assign" else None
        if action == "log":
            logged.append(at)
        elif action == "assign":
            t.assigned_at = t.assigned_at or at
            if in_period:
                unit_fig.new += 1  # 新交办: an assignment in the period
                if to_level == Level.GOVERNMENT_MEETING:
                    unit_fig.to_meeting += 1  # a major problem goes to the meeting at assignment
        elif action == "escalate" and in_period:
            if to_level == Level.SUPERVISION_13710:
                unit_fig.to_13710 += 1
            elif to_level == Level.GOVERNMENT_MEETING:
                unit_fig.to_meeting += 1
        if action in ("dispatch", "decide") and in_period and unit_fig is not None:
            unit_fig.dispatched += 1
        if action in ("assign", "escalate", "resume", "send_back", "decide") and (data or {}).get("deadline"):
            t.deadline = date.fromisoformat(data["deadline"])
        elif action == "send_back" and t.deadline and t.resolved_at:
            # Older send-back events carry no deadline: recompute the days given back for the review the
            # way the engine does (workflow.deadlines.shift_for_pause).
            shifted, _ = dl.shift_for_pause(dl.Snapshot(level=t.level, deadline=t.deadline), t.resolved_at, at, rules)
            t.deadline = shifted.get("deadline", t.deadline)
        if action in ("overdue", "stall") or (action == "escalate" and (data or {}).get("auto")):
            t.late_flag = True
            if action == "escalate":
                t.auto_escalations += 1
        if action == "resolve":
            t.resolved_at = at
        if action == "close":
            t.closed_at = at
            closings.append(at)
            if in_period:
                f = unit_fig
                f.closed += 1
                # 按期销号: the accepted application to close came on or before the deadline then in force,
                # and the problem never went overdue (no 超期催办, 最高层级超期 or 超期自动升级 event).
                resolved_day = dl.local_date(t.resolved_at or at, rules)
                if not t.late_flag and t.deadline is not None and resolved_day <= t.deadline:
                    f.on_time += 1
                if t.assigned_at:
                    f.days_to_close.append((dl.local_date(at, rules) - dl.local_date(t.assigned_at, rules)).days)
        t.state, t.level = to_state or t.state, to_level or t.level

    red: list[RedItem] = []
    discovered_open = 0
    for pid, t in tracks.items():
        if t.state == State.DISCOVERED:
            discovered_open += 1
            continue
        if t.state not in OPEN_STATES:
            continue
        code, title, unit_id, person_id, leader_id, project, project_leader_id = meta[pid]
        f = fig(unit_id)
        f.open += 1
        if t.state not in CLOCK_STATES or t.deadline is None:
            continue
        if t.deadline < as_of_day:
            f.overdue += 1  # 超期未办结: open in 交办/督办 with its deadline passed at the period's end
        thresholds = dl.thresholds(dl.Snapshot(level=t.level, deadline=t.deadline), rules)
        if (rules.red_sticky and t.auto_escalations) or end >= thresholds.escalate_at:
            f.red += 1
            red.append(
                RedItem(
                    code,
                    title,
                    project,
                    units.get(unit_id, ""),
                    t.level,
                    t.deadline,
                    max((last_day - t.deadline).days, 0),
                    people.get(person_id, ""),
                    people.get(leader_id, ""),
                    people.get(project_leader_id, ""),
                    t.auto_escalations,
                )
            )
    red.sort(key=lambda r: (-r.days_overdue, r.code))

    ranked = [f for f in figures.values() if f.unit_id]
    _rank(ranked)
    total = UnitFigures(0, "全县合计")
    for f in ranked:
        for name in ("new", "closed", "on_time", "overdue", "open", "red", "to_13710", "to_meeting", "dispatched"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
        total.days_to_close.extend(f.days_to_close)
    daily = _daily(period, end, logged, closings, start, rules)
    return DispatchReport(period, start, end, end == end_of_period, ranked, total, red, daily, discovered_open)


def rank_key(f: UnitFigures) -> tuple:
    """Fewer overdue first, then fewer closed late, then more closed on time, then fewer sent to 13710."""
    return (f.overdue, f.late, -f.on_time, f.to_13710)


def _rank(units: list[UnitFigures]) -> None:
    """Competition ranking (1, 2, 2, 4) by ``rank_key``. No place carries a consequence here: the plan's
    "排名末3位…约谈" belongs to the monthly assessment (``reports.assessment``), which scores units within
    their group, not to these raw counts."""
    units.sort(key=lambda f: (rank_key(f), f.unit))
    previous, rank = None, 0
    for i, f in enumerate(units, start=1):
        key = rank_key(f)
        if key != previous:
            rank, previous = i, key
        f.rank = rank


def _daily(
    period: Period, end: datetime, logged: list, closings: list, start: datetime, rules: Rules
) -> list[tuple[date, int, int]]:
    logged, closings = sorted(logged), sorted(closings)
    out, li, ci, closed_before = [], 0, 0, 0
    day = period.first
    while day < period.after:
        day_end = min(_instant(day + timedelta(days=1), rules), end)
        if day_end <= _instant(day, rules):
            break
        while li < len(logged) and logged[li] < day_end:
            li += 1
        while ci < len(closings) and closings[ci] < day_end:
            if closings[ci] < start:
                closed_before += 1
            ci += 1
        out.append((day, li - ci, ci - closed_before))
        day += timedelta(days=1)
    return out
