"""Dashboard figures: counts by state, level and light; overdue items by unit; open vs closed over the
campaign (as SVG polyline points); red items; the viewer's own items; the review queue."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from models.tables import Problem, Project, Unit
from service.ledger import ledger_row, ledger_select
from workflow.permissions import Manage, may
from workflow.states import CLOCK_STATES, OPEN_STATES, Level, Light, Role, State

OPEN = [s.value for s in OPEN_STATES]
CLOCK = [s.value for s in CLOCK_STATES]


def counts(session: Session) -> dict:
    rows = session.exec(
        select(Problem.state, Problem.level, Problem.light, sa.func.count()).group_by(
            Problem.state, Problem.level, Problem.light
        )
    ).all()
    by_state, by_level, by_light = Counter(), Counter(), Counter()
    total = 0
    for state, level, light, n in rows:
        total += n
        by_state[state] += n
        if state in OPEN:
            by_level[level] += n
            by_light[light] += n
    return {
        "total": total,
        "open": sum(by_state[s] for s in OPEN),
        "states": [(s.value, s.label, by_state[s.value]) for s in State],
        "levels": [(lv.value, lv.label, by_level[lv.value]) for lv in Level],
        "lights": [(li.value, li.label, by_light[li.value]) for li in Light],
    }


def overdue_by_unit(session: Session, today: date, limit: int = 15) -> list[dict]:
    rows = session.exec(
        select(Unit.code, Unit.name, sa.func.count())
        .select_from(Problem)
        .join(Unit, Unit.id == Problem.responsible_unit_id)
        .where(Problem.state.in_(CLOCK), Problem.deadline < today)
        .group_by(Unit.code, Unit.name)
        .order_by(sa.func.count().desc(), Unit.code)
        .limit(limit)
    ).all()
    return [{"code": c, "name": n, "count": k} for c, n, k in rows]


def open_closed_series(session: Session, tz, today: date, points: int = 40) -> dict:
    """Cumulative logged and closed counts per day from the first problem to today, sampled to ``points``;
    open = logged − closed. Returns SVG-ready coordinates on a 600×200 canvas."""
    first = session.exec(select(sa.func.min(Problem.created_at))).one()
    if first is None:
        return {"empty": True}
    start = first.astimezone(tz).date()
    days = max(1, (today - start).days)
    step = max(1, -(-days // points))
    marks = [start + timedelta(days=i) for i in range(0, days + 1, step)]
    if marks[-1] != today:
        marks.append(today)
    # Bucket by the sample each moment falls before: two GROUP BY scans, no per-row Python.
    created = _daily(session, Problem.created_at, tz)
    closed = _daily(session, Problem.closed_at, tz)
    logged_c, closed_c = [], []
    for m in marks:
        logged_c.append(sum(n for d, n in created.items() if d <= m))
        closed_c.append(sum(n for d, n in closed.items() if d <= m))
    open_c = [a - b for a, b in zip(logged_c, closed_c, strict=True)]
    top = max(max(open_c + closed_c), 1)
    w, h, pad = 600, 200, 30

    def pts(values):
        n = max(len(values) - 1, 1)
        return " ".join(
            f"{pad + i * (w - 2 * pad) / n:.1f},{h - pad - v * (h - 2 * pad) / top:.1f}" for i, v in enumerate(values)
        )

    return {
        "empty": False,
        "open": pts(open_c),
        "closed": pts(closed_c),
        "top": top,
        "start": start.isoformat(),
        "end": today.isoformat(),
        "open_now": open_c[-1],
        "closed_now": closed_c[-1],
        "w": w,
        "h": h,
        "pad": pad,
    }


def _daily(session: Session, column, tz) -> dict:
    # Local dates: shift the UTC timestamps by the zone's current offset (Asia/Shanghai has no DST).
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    if session.get_bind().dialect.name == "sqlite":
        day = sa.func.date(column, f"{hours:+d} hours")
    else:
        day = sa.func.date(column + sa.text(f"interval '{hours} hours'"))
    rows = session.exec(select(day, sa.func.count()).where(column.is_not(None)).group_by(day)).all()
    return {date.fromisoformat(str(d)): n for d, n in rows if d}


def red_items(session: Session, today: date, limit: int = 10) -> list[dict]:
    q = (
        ledger_select()
        .where(Problem.light == Light.RED.value, Problem.state.in_(OPEN))
        .order_by(Problem.deadline, Problem.code)
    )
    return [ledger_row(r, today) for r in session.execute(q.limit(limit))]


def my_items(session: Session, viewer, today: date, limit: int = 20) -> list[dict]:
    """What the viewer works on: problems they are responsible for or lead; their unit's open problems
    (staff, unit heads); the projects they contract (county leaders); the review queue (inspectors)."""
    p = Problem
    mine = [p.responsible_person_id == viewer.user_id, p.leader_id == viewer.user_id, p.reporter_id == viewer.user_id]
    if viewer.role in (Role.STAFF, Role.UNIT_HEAD, Role.DEPUTY_HEAD):
        mine.append(p.responsible_unit_id == viewer.unit_id)
    if viewer.role == Role.COUNTY_LEADER:
        mine.append(Project.leader_id == viewer.user_id)
    if may(Manage.REVIEW, viewer):
        mine.append(p.state == State.REVIEW.value)
    q = ledger_select().where(p.state.in_(OPEN), sa.or_(*mine)).order_by(LIGHT_ORDER, p.deadline, p.code)
    return [ledger_row(r, today) for r in session.execute(q.limit(limit))]


LIGHT_ORDER = sa.case({"red": 0, "yellow": 1, "blue": 2, "green": 3}, value=Problem.light, else_=4)


def review_queue(session: Session, today: date, limit: int = 200) -> list[tuple[dict, datetime | None, str]]:
    q = (
        ledger_select()
        .add_columns(Problem.resolved_at, Problem.resolution)
        .where(Problem.state == State.REVIEW.value)
        .order_by(Problem.resolved_at, Problem.code)
        .limit(limit)
    )
    return [(ledger_row(r, today), r.resolved_at, r.resolution) for r in session.execute(q)]


def overview(engine, actor, tz, today: date) -> dict:
    """Everything the dashboard shows, in one read."""
    from models.db import reader
    from models.db import session as open_session

    with open_session(reader(engine)) as s:
        return dict(
            c=counts(s),
            overdue=overdue_by_unit(s, today),
            chart=open_closed_series(s, tz, today),
            red=red_items(s, today),
            mine=my_items(s, actor, today),
        )
