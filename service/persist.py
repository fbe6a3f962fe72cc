"""Write workflow outcomes: the problem row, its audit event and its outbox rows, in the caller's
transaction. Shared by single actions and the bulk sweep so both follow exactly one path.

The UPDATE is filtered on the version as loaded (optimistic locking, as django-fsm does with the state):
if someone else changed the problem first, nothing is written and ``StaleVersion`` is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from models.tables import Event, Problem
from service.recipients import Parties, RecipientBook, insert_notices, notice_rows
from workflow import deadlines as dl
from workflow.errors import StaleVersion
from workflow.machine import Outcome
from workflow.permissions import Actor

PROBLEM = Problem.__table__
EVENT = Event.__table__
REFRESH = "refresh"
SNAPSHOT_COLUMNS = [PROBLEM.c[name] for name in dl.Snapshot.FIELDS]


@dataclass
class Loaded:
    """A problem as the workflow needs it: snapshot, version and the people it concerns."""

    snap: dl.Snapshot
    version: int
    parties: Parties


def select_loaded():
    """SELECT of everything ``Loaded`` needs (problem columns + the project's contracting leader)."""
    from models.tables import Project

    proj = Project.__table__
    return sa.select(
        *SNAPSHOT_COLUMNS,
        PROBLEM.c.version,
        PROBLEM.c.responsible_unit_id,
        PROBLEM.c.responsible_person_id,
        PROBLEM.c.leader_id,
        PROBLEM.c.reporter_id,
        proj.c.leader_id.label("project_leader_id"),
    ).select_from(PROBLEM.join(proj, proj.c.id == PROBLEM.c.project_id))


_N = len(dl.Snapshot.FIELDS)


def loaded_from_row(row) -> Loaded:
    """Unpack by position: ``select_loaded`` fixes the order (snapshot fields, version, parties)."""
    snap = dl.Snapshot(*row[:_N])
    version, unit_id, person_id, leader_id, reporter_id, project_leader_id = row[_N:]
    return Loaded(snap, version, Parties(unit_id, person_id, leader_id, project_leader_id, reporter_id))


def stake_fields(parties: Parties) -> dict:
    return dict(
        responsible_unit_id=parties.responsible_unit_id,
        responsible_person_id=parties.responsible_person_id,
        leader_id=parties.leader_id,
        project_leader_id=parties.project_leader_id,
    )


def persist(
    session: Session,
    items: Sequence[tuple[Loaded, Sequence[Outcome]]],
    actor: Actor,
    now: datetime,
    book: RecipientBook | None = None,
) -> list[int]:
    """Write each problem's outcomes (one UPDATE per problem, one event per outcome, their notices).

    Returns the new event ids in order. Raises StaleVersion, writing nothing, if any row has moved on.
    An outcome whose action is ``REFRESH`` only updates the row.
    """
    if not items:
        return []
    book = book or RecipientBook(session)
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
        stmt = (
            sa.update(PROBLEM)
            .where(PROBLEM.c.id == sa.bindparam("p_id"), PROBLEM.c.version == sa.bindparam("p_version"))
            .values({PROBLEM.c[k]: sa.bindparam(f"v_{k}") for k in keys})
            .values(version=PROBLEM.c.version + 1)
        )
        result = session.connection().execute(stmt, params)
        if result.rowcount != len(params):
            raise StaleVersion()

    # A "refresh" only recomputes light and clock: nothing happened to the problem, so no event.
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
    ids = list(
        session.execute(sa.insert(EVENT).returning(EVENT.c.id, sort_by_parameter_order=True), event_rows).scalars()
    )

    notices: list[dict] = []
    for (loaded, outcome), event_id in zip(flat, ids):
        parties = _parties_after(loaded.parties, outcome.changes)
        deadline = outcome.after.deadline
        for intent in outcome.notices:
            notices.extend(
                notice_rows(
                    book,
                    intent,
                    loaded.snap.id,
                    outcome.to_level,
                    deadline,
                    parties,
                    event_id,
                    now,
                    actor.login,
                    actor.name,
                )
            )
    insert_notices(session, notices)
    return ids


def _parties_after(p: Parties, changes: dict) -> Parties:
    return Parties(
        changes.get("responsible_unit_id", p.responsible_unit_id),
        changes.get("responsible_person_id", p.responsible_person_id),
        changes.get("leader_id", p.leader_id),
        p.project_leader_id,
        p.reporter_id,
    )
