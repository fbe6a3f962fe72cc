"""Read problems as the workflow needs them, and write workflow outcomes: the problem row, its audit event
and its outbox rows, in the caller's transaction. Shared by single actions, the bulk sweep and the ledger
import so all follow exactly one path.

The UPDATE is filtered on the version as loaded (optimistic locking, as django-fsm does with the state):
if someone else changed the problem first, nothing is written and ``StaleVersion`` is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from models.tables import Event, Problem, Project
from service.directory import DirectoryView, stamp_column
from service.recipients import NoticeSubject, insert_notices, notice_rows
from workflow import deadlines as dl
from workflow.errors import StaleVersion
from workflow.machine import Outcome
from workflow.permissions import Actor, Stake

PROBLEM = Problem.__table__
EVENT = Event.__table__
PROJECT = Project.__table__
REFRESH = "refresh"
SNAPSHOT_COLUMNS = [PROBLEM.c[name] for name in dl.Snapshot.FIELDS]
STAKE_COLUMNS = (
    PROBLEM.c.responsible_unit_id,
    PROBLEM.c.responsible_person_id,
    PROBLEM.c.leader_id,
    PROBLEM.c.reporter_id,
    PROJECT.c.leader_id.label("project_leader_id"),
)


@dataclass
class Loaded:
    """A problem as the workflow needs it: snapshot, version and the people it concerns."""

    snap: dl.Snapshot
    version: int
    stake: Stake


def select_loaded():
    """SELECT of everything ``Loaded`` needs: the snapshot columns, the version and the stake."""
    return sa.select(*SNAPSHOT_COLUMNS, PROBLEM.c.version, *STAKE_COLUMNS).select_from(
        PROBLEM.join(PROJECT, PROJECT.c.id == PROBLEM.c.project_id)
    )


def _one_with_stamp():
    stamp = sa.select(stamp_column().label("directory_version")).subquery("stamp")
    problem = select_loaded().where(PROBLEM.c.code == sa.bindparam("code")).subquery("p")
    return sa.select(stamp.c.directory_version, problem).select_from(stamp.outerjoin(problem, sa.true()))


# Built once: constructing these per call costs more than running them (column collections, result
# metadata adaptation), so the act path executes the same statement objects with new parameters.
ONE_WITH_STAMP = _one_with_stamp()
INSERT_EVENTS = sa.insert(EVENT).returning(EVENT.c.id, sort_by_parameter_order=True)
_UPDATES: dict[tuple[str, ...], sa.Update] = {}


def select_one_with_stamp(code: str) -> tuple[sa.Select, dict]:
    """One problem by code together with the directory's version, in one statement — a row even when
    there is no such problem (its columns are then NULL), so the caller learns both at once."""
    return ONE_WITH_STAMP, {"code": code}


def _update(keys: tuple[str, ...]) -> sa.Update:
    stmt = _UPDATES.get(keys)
    if stmt is None:
        stmt = _UPDATES[keys] = (
            sa.update(PROBLEM)
            .where(PROBLEM.c.id == sa.bindparam("p_id"), PROBLEM.c.version == sa.bindparam("p_version"))
            .values({PROBLEM.c[k]: sa.bindparam(f"v_{k}") for k in keys})
            .values(version=PROBLEM.c.version + 1)
        )
    return stmt


def loaded_from_row(row) -> Loaded:
    """A ``Loaded`` from a row of ``select_loaded`` (by column name)."""
    m = row._mapping
    snap = dl.Snapshot(**{name: m[name] for name in dl.Snapshot.FIELDS})
    stake = Stake(
        m["responsible_unit_id"], m["responsible_person_id"], m["leader_id"], m["project_leader_id"], m["reporter_id"]
    )
    return Loaded(snap, m["version"], stake)


def persist(
    session: Session | Connection,
    items: Sequence[tuple[Loaded, Sequence[Outcome]]],
    actor: Actor,
    now: datetime,
    view: DirectoryView,
) -> list[int]:
    """Write each problem's outcomes (one UPDATE per problem, one event per outcome, their notices).

    Returns the new event ids in order. Raises StaleVersion, writing nothing, if any row has moved on.
    An outcome whose action is ``refresh`` only updates the row.
    """
    conn = session.connection() if isinstance(session, Session) else session
    if not items:
        return []
    groups: dict[tuple[str, ...], list[dict]] = {}
    for loaded, outcomes in items:
        values: dict = {}
        for outcome in outcomes:
            values.update((k, v) for k, v in outcome.changes.items() if k in PROBLEM.c and k not in ("id", "version"))
        values["updated_at"] = now
        keys = tuple(sorted(values))
        groups.setdefault(keys, []).append(
            {**{f"v_{k}": v for k, v in values.items()}, "p_id": loaded.snap.id, "p_version": loaded.version}
        )
    for keys, params in groups.items():
        result = conn.execute(_update(keys), params)
        if result.rowcount != len(params):
            raise StaleVersion()

    # A refresh only recomputes light and clock: nothing happened to the problem, so no event.
    flat = [(loaded, outcome) for loaded, outcomes in items for outcome in outcomes if outcome.action != REFRESH]
    if not flat:
        return []
    event_rows = [
        dict(
            problem_id=loaded.snap.id,
            at=now,
            actor=actor.login,
            action=outcome.action,
            from_state=outcome.from_state,
            to_state=outcome.to_state,
            from_level=outcome.from_level,
            to_level=outcome.to_level,
            comment=outcome.comment,
            data=outcome.data,
        )
        for loaded, outcome in flat
    ]
    ids = list(conn.execute(INSERT_EVENTS, event_rows).scalars())

    notices: list[dict] = []
    for (loaded, outcome), event_id in zip(flat, ids):
        if not outcome.notices:
            continue
        after = outcome.after or loaded.snap
        subject = NoticeSubject(
            loaded.snap.id, outcome.to_level, after.deadline, stake_after(loaded.stake, outcome.changes), event_id
        )
        for intent in outcome.notices:
            notices.extend(notice_rows(view, intent, subject, now, actor))
    insert_notices(conn, notices)
    return ids


def stake_after(stake: Stake, changes: dict) -> Stake:
    """The stake once an outcome's changes apply (assignment names the unit and people)."""
    return Stake(
        changes.get("responsible_unit_id", stake.responsible_unit_id),
        changes.get("responsible_person_id", stake.responsible_person_id),
        changes.get("leader_id", stake.leader_id),
        stake.project_leader_id,
        stake.reporter_id,
    )
