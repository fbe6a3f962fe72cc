"""Dashboard figures: counts by state, level and light; overdue items by unit; open vs closed over the
campaign (as SVG polyline points); red items; the viewer's own items; the review queue.

The counts and the series come from the tally the database keeps on every write (``service.tally``), not
from a scan of the ledger; overdue-by-unit reads only the open problems past their deadline (an index)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.tables import Problem, Project, Unit
from service import directory, tally, write_stamp
from service.ledger_rows import ledger_row, ledger_select
from workflow.permissions import Manage, may
from workflow.states import CLOCK_STATES, OPEN_STATES, Level, Light, Role, State

log = logging.getLogger(__name__)
OPEN = [s.value for s in OPEN_STATES]
CLOCK = [s.value for s in CLOCK_STATES]


def counts(session: Session, totals: dict[str, int] | None = None) -> dict:
    if totals is None:
        totals, _ = tally.sums(session, "s|")
    by_state: Counter[str] = Counter()
    by_level: Counter[str] = Counter()
    by_light: Counter[str] = Counter()
    total = 0
    for (state, level, light), n in tally.by_state(totals).items():
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
    # Counted per unit id first, reading only the open problems past their deadline (the index on state,
    # deadline, unit); "+ 0" keeps SQLite from walking every problem in unit order to save a small sort.
    unit_id = (col(Problem.responsible_unit_id) + 0).label("unit_id")
    per_unit = (
        select(unit_id, sa.func.count().label("n"))
        .where(
            col(Problem.state).in_(CLOCK), col(Problem.deadline) < today, col(Problem.responsible_unit_id).is_not(None)
        )
        .group_by(unit_id)
        .subquery()
    )
    rows = session.exec(
        select(Unit.code, Unit.name, per_unit.c.n)
        .join(per_unit, per_unit.c.unit_id == Unit.id)
        .order_by(per_unit.c.n.desc(), Unit.code)
        .limit(limit)
    ).all()
    return [{"code": c, "name": n, "count": k} for c, n, k in rows]


def open_closed_series(session: Session, tz, today: date, points: int = 40) -> dict:
    """Cumulative logged and closed counts per day from the first problem to today, sampled to ``points``;
    open = logged − closed. Returns SVG-ready coordinates on a 600×200 canvas. The tally's hour rows are
    summed into the sampled days by the database: the cost follows ``points``, not the ledger's age."""
    start = tally.first_day(session, "c|", tz)
    if start is None:
        return {"empty": True}
    days = max(1, (today - start).days)
    step = max(1, -(-days // points))
    marks = [start + timedelta(days=i) for i in range(0, days + 1, step)]
    if marks[-1] != today:
        marks.append(today)
    logged_c = tally.cumulative(session, "c|", marks, tz)
    closed_c = tally.cumulative(session, "x|", marks, tz)
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


def red_items(session: Session, today: date, limit: int = 10) -> list[dict]:
    q = (
        ledger_select()
        .where(Problem.light == Light.RED.value, col(Problem.state).in_(OPEN))
        # "deadline IS NULL" first: the order no index gives, so the database reads the red problems (few)
        # through the light index instead of walking every problem in deadline order looking for them.
        .order_by(col(Problem.deadline).is_(None), Problem.deadline, Problem.code)
    )
    view = directory.view(session)
    return [ledger_row(r, today, view) for r in session.execute(q.limit(limit))]


def my_items(session: Session, viewer, today: date, limit: int = 20) -> list[dict]:
    """What the viewer works on: problems they are responsible for or lead; their unit's open problems
    (staff, unit heads); the projects they contract (county leaders); the review queue (inspectors).

    One small query per reason, each on its own index and limited, merged here: the cost follows the size
    of the viewer's own share, never the size of the ledger (an OR of the reasons would let the database
    read the whole ledger whenever one reason is common, e.g. one person who logged most problems)."""
    p = Problem
    mine = [p.responsible_person_id == viewer.user_id, p.leader_id == viewer.user_id, p.reporter_id == viewer.user_id]
    if viewer.role in (Role.STAFF, Role.UNIT_HEAD, Role.DEPUTY_HEAD):
        mine.append(p.responsible_unit_id == viewer.unit_id)
    if viewer.role == Role.COUNTY_LEADER:
        mine.append(col(p.project_id).in_(select(Project.id).where(Project.leader_id == viewer.user_id)))
    if may(Manage.REVIEW, viewer):
        mine.append(p.state == State.REVIEW.value)
    found: dict[str, dict] = {}
    view = directory.view(session)
    for reason in mine:
        q = ledger_select().where(col(p.state).in_(OPEN), reason)
        q = q.order_by(LIGHT_ORDER, col(p.deadline).is_(None), p.deadline, p.code).limit(limit)
        for r in session.execute(q):
            found.setdefault(r.code, ledger_row(r, today, view))
    rank = {"red": 0, "yellow": 1, "blue": 2, "green": 3}
    ordered = sorted(
        found.values(),
        key=lambda d: (rank.get(d["light"], 4), d["deadline"] is None, d["deadline"] or "", d["code"]),
    )
    return ordered[:limit]


LIGHT_ORDER = sa.case({"red": 0, "yellow": 1, "blue": 2, "green": 3}, value=Problem.light, else_=4)


def review_queue(session: Session, today: date, limit: int = 200) -> list[tuple[dict, datetime | None, str]]:
    q = (
        ledger_select()
        .add_columns(Problem.resolved_at, Problem.resolution)
        .where(Problem.state == State.REVIEW.value)
        .order_by(Problem.resolved_at, Problem.code)
        .limit(limit)
    )
    view = directory.view(session)
    return [(ledger_row(r, today, view), r.resolved_at, r.resolution) for r in session.execute(q)]


_OVERVIEWS = write_stamp.StampedCache()


def overview(engine, actor, tz, today: date) -> dict:
    """Everything the dashboard shows, in one read (the tally read once for counts and series). Computed
    again only after a write (``service.write_stamp``): at a million problems the figures cost 13–18 ms of
    database round trips and Python, the stamp one index probe per table."""
    from models.db import reader
    from models.db import session as open_session

    with open_session(reader(engine)) as s:
        stamp = write_stamp.read(s)

        def make() -> tuple[dict, bool]:
            totals, rows = tally.sums(s, "s|")  # the state keys: every write adds rows to them
            data = dict(
                c=counts(s, totals),
                overdue=overdue_by_unit(s, today),
                chart=open_closed_series(s, tz, today),
                red=red_items(s, today),
                mine=my_items(s, actor, today),
            )
            return data, tally.needs_compaction(rows, len(totals))

        data, compact = _OVERVIEWS.get_or_make(s, (actor, str(tz), today), stamp, make)
    if compact:
        try:
            tally.compact(engine, patient=False)
        except Exception:  # noqa: BLE001 — housekeeping: the sweep compacts too; the page is already answered
            log.info("tally compaction skipped (database busy)")
    return dict(data)  # the figures are shared read-only; the caller may add its own keys
