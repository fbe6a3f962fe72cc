"""Run the sweep: select due problems by ``next_check_at`` (an indexed range scan), plan and fire their
actions through the workflow as the system actor, and persist everything in one transaction per batch.

First, deadlines computed with another calendar than the rules' (a year declared since) are computed again
(``service.recalc``: two index probes when there are none), so the thresholds that follow use the new dates.
"""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.db import session as open_session
from service import directory
from service.persist import PROBLEM, REFRESH, Loaded, loaded_from_row, persist, select_loaded
from service.recalc import recalculate
from workflow.errors import StaleVersion
from workflow.machine import Outcome, fire
from workflow.permissions import SYSTEM
from workflow.rules import Rules
from workflow.sweep import plan

MAX_STEPS = 6  # actions one problem can need at one moment (e.g. escalate, then warn at the new level)


@dataclass
class SweepReport:
    now: datetime
    dry_run: bool = False
    selected: int = 0
    actions: Counter = field(default_factory=Counter)
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # (code, action, comment)
    retries: int = 0

    def as_dict(self) -> dict:
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "selected": self.selected,
            "actions": dict(self.actions),
            "items": [{"code": c, "action": a, "comment": m} for c, a, m in self.planned],
        }


_DUE = (
    select_loaded()
    .where(PROBLEM.c.next_check_at <= sa.bindparam("now", type_=PROBLEM.c.next_check_at.type))
    .order_by(PROBLEM.c.next_check_at, PROBLEM.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


_DUE_LOCKED = _DUE.with_for_update(skip_locked=True, of=PROBLEM)


def due_query(now: datetime, limit: int, lock: bool = False):
    """Problems whose next threshold has come: a range scan on ix_problem_next_check_at.

    ``lock`` (PostgreSQL): FOR UPDATE OF problem SKIP LOCKED, so several schedulers sweeping at once
    each take different problems instead of waiting for one another.
    """
    return (_DUE_LOCKED if lock else _DUE).params(now=now, limit=limit)


def plan_problem(loaded: Loaded, now: datetime, rules: Rules) -> list[Outcome]:
    """Every action the problem needs at ``now``, fired in order on a moving snapshot. When none is due
    (a threshold that no longer applies, e.g. the rules changed) the machine's ``refresh`` recomputes the
    light and the next check."""
    outcomes: list[Outcome] = []
    snap = loaded.snap
    for _ in range(MAX_STEPS):
        step = plan(snap, now, rules)
        if step is None:
            break
        action, params = step
        outcome = fire(action, snap, SYSTEM, loaded.stake, now, rules, **params)
        outcomes.append(outcome)
        snap = outcome.after or snap
    return outcomes or [fire(REFRESH, snap, SYSTEM, loaded.stake, now, rules)]


def run_sweep(
    engine: Engine, rules: Rules, now: datetime, dry_run: bool = False, batch: int = 2000, max_batches: int = 1000
) -> SweepReport:
    report = SweepReport(now=now, dry_run=dry_run)
    recalculate(engine, rules, now, dry_run=dry_run, batch=min(batch, 500), report=report)
    for _ in range(max_batches):
        try:
            done = _sweep_batch(engine, rules, now, dry_run, batch, report)
        except StaleVersion:
            # Someone changed one of these problems between our SELECT and UPDATE: redo the batch.
            report.retries += 1
            if report.retries > 5:
                raise
            continue
        if done < batch or dry_run:
            break
    return report


def _sweep_batch(engine: Engine, rules: Rules, now: datetime, dry_run: bool, batch: int, report: SweepReport) -> int:
    # The batch allocates many short-lived objects and no cycles; the collector only adds pauses.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _sweep_batch_inner(engine, rules, now, dry_run, batch, report)
    finally:
        if was_enabled:
            gc.enable()


def _sweep_batch_inner(
    engine: Engine, rules: Rules, now: datetime, dry_run: bool, batch: int, report: SweepReport
) -> int:
    with open_session(engine) as session:
        with session.begin():
            lock = session.get_bind().dialect.name == "postgresql" and not dry_run
            rows = session.execute(due_query(now, batch, lock=lock)).all()
            items = [(loaded, plan_problem(loaded, now, rules)) for loaded in map(loaded_from_row, rows)]
            report.selected += len(rows)
            for loaded, outcomes in items:
                for o in outcomes:
                    if o.action != REFRESH:
                        report.actions[o.action] += 1
                        report.planned.append((loaded.snap.code, o.action, o.comment))
            if dry_run:
                session.rollback()
                return len(rows)
            persist(session, items, SYSTEM, now, directory.view(session), rules=rules)
    return len(rows)
