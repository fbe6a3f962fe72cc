"""Compute deadlines again when the calendar changes (the rules file declares a year, changes a declared
year's days, or chinese-calendar learns a year): ``recalculate`` every open problem whose deadline was
computed with another calendar.

Each deadline stores the fingerprint of the calendar it was computed with (``problem.calendar_fp``, indexed).
Finding the stale ones is two index ranges — fingerprints below and above the current one — so in the
steady state (nothing stale) the sweep pays two index probes, however large the ledger. After a change every
open problem with a basis is read once, computed again (pure, microseconds), and written with the new
fingerprint: an audit event and a notice only where a date or the 暂定 flag changed. Idempotent: a second run
finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.db import reader
from models.db import session as open_session
from service import directory
from service.persist import PROBLEM, REFRESH, loaded_from_row, persist, select_loaded
from workflow.actions import ACTIONS
from workflow.errors import StaleVersion
from workflow.machine import Outcome, fire
from workflow.permissions import SYSTEM
from workflow.rules import Rules

ACTION = "recalculate"
STATES = tuple(s.value for s in ACTIONS[ACTION].sources)


@dataclass
class RecalcReport:
    checked: int = 0  # problems whose deadline was computed with another calendar
    changed: int = 0  # of them, those whose dates or 暂定 flag changed (an event each)
    moved: int = 0  # of them, those whose deadline or a milestone moved (a notice each)
    items: list[tuple[str, str]] = field(default_factory=list)  # (code, comment) of the changed ones

    def as_dict(self) -> dict:
        return {
            "checked": self.checked,
            "changed": self.changed,
            "moved": self.moved,
            "items": [{"code": c, "comment": m} for c, m in self.items],
        }


def stale_query(fingerprint: str, after_id: int, limit: int, lock: bool = False):
    """Open problems whose deadline was computed with a calendar other than ``fingerprint``: two ranges on
    ix_problem_calendar_fp (``<>`` would read the whole index). Keyset-paged by id."""
    fp = PROBLEM.c.calendar_fp
    query = (
        select_loaded()
        .where(sa.or_(fp < fingerprint, fp > fingerprint), PROBLEM.c.state.in_(STATES), PROBLEM.c.id > after_id)
        .order_by(PROBLEM.c.id)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True, of=PROBLEM) if lock else query


def recalculate(
    engine: Engine, rules: Rules, now: datetime, dry_run: bool = False, batch: int = 500, report=None
) -> RecalcReport:
    """Compute again every stale deadline with ``rules``' calendar (one transaction per batch). With
    ``dry_run`` nothing is written: the report says what would change (``duban rules check``).
    ``report``: a sweep report whose ``actions`` and ``planned`` also get the changed problems."""
    out = RecalcReport()
    fingerprint = rules.calendar.fingerprint
    after_id, retries = 0, 0
    while True:
        try:
            rows, last = _batch(engine, rules, now, fingerprint, after_id, batch, dry_run, out, report)
        except StaleVersion:
            # Someone acted on one of these problems meanwhile (and stored a fresh fingerprint): read again.
            retries += 1
            if retries > 5:
                raise
            continue
        if rows < batch:
            return out
        after_id = last


def _batch(engine, rules, now, fingerprint, after_id, batch, dry_run, out: RecalcReport, report) -> tuple[int, int]:
    with open_session(reader(engine) if dry_run else engine) as session, session.begin():
        lock = session.get_bind().dialect.name == "postgresql" and not dry_run
        rows = session.execute(stale_query(fingerprint, after_id, batch, lock)).all()
        items: list[tuple] = []
        for loaded in map(loaded_from_row, rows):
            outcome: Outcome = fire(ACTION, loaded.snap, SYSTEM, loaded.stake, now, rules)
            items.append((loaded, [outcome]))
            out.checked += 1
            if outcome.action == REFRESH:
                continue
            out.changed += 1
            out.moved += bool(outcome.notices)
            out.items.append((loaded.snap.code, outcome.comment))
            if report is not None:
                report.actions[ACTION] += 1
                report.planned.append((loaded.snap.code, ACTION, outcome.comment))
        if dry_run:
            session.rollback()
        else:
            persist(session, items, SYSTEM, now, directory.view(session))
    return len(rows), rows[-1].id if rows else after_id


def impact(engine: Engine, rules: Rules, now: datetime) -> RecalcReport | None:
    """What ``rules``' calendar would change in the ledger, without writing; None when the database holds
    no ledger yet."""
    if not sa.inspect(engine).has_table(PROBLEM.name):
        return None
    return recalculate(engine, rules, now, dry_run=True)
