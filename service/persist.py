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

from models.tables import Event, Problem, Project, Unit, table_of
from service.clock import wall_now
from service.directory import DirectoryView, stamp_column
from service.recipients import NoticeSubject, insert_notices, notice_rows
from workflow import deadlines as dl
from workflow.errors import StaleVersion
from workflow.machine import Outcome
from workflow.permissions import Actor, Stake
from workflow.rules import Rules
from workflow.states import UnitKind

PROBLEM = table_of(Problem)
EVENT = table_of(Event)
PROJECT = table_of(Project)
REFRESH = "refresh"
SNAPSHOT_COLUMNS = [PROBLEM.c[name] for name in dl.Snapshot.FIELDS]
UNIT: sa.Table = table_of(Unit)
STAKE_COLUMNS = (
    PROBLEM.c.responsible_unit_id,
    PROBLEM.c.responsible_person_id,
    PROBLEM.c.leader_id,
    PROJECT.c.leader_id.label("project_leader_id"),
    PROBLEM.c.reporter_id,
    PROBLEM.c.resolver_id,
    # Is the responsible unit the inspection office itself (its problems are reviewed inside the office)?
    sa.exists()
    .where(UNIT.c.id == PROBLEM.c.responsible_unit_id, UNIT.c.kind == UnitKind.INSPECTION_OFFICE.value)
    .label("office_unit"),
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
        m["responsible_unit_id"],
        m["responsible_person_id"],
        m["leader_id"],
        m["project_leader_id"],
        m["reporter_id"],
        m["resolver_id"],
        bool(m["office_unit"]),
    )
    return Loaded(snap, m["version"], stake)


def persist(
    session: Session | Connection,
    items: Sequence[tuple[Loaded, Sequence[Outcome]]],
    actor: Actor,
    now: datetime,
    view: DirectoryView,
    rules: Rules | None = None,
) -> list[int]:
    """Write each problem's outcomes (one UPDATE per problem, one event per outcome, their notices).

    Returns the new event ids in order. Raises StaleVersion, writing nothing, if any row has moved on.
    An outcome whose action is ``refresh`` only updates the row. With ``rules``, the 督办函 register follows
    the outcomes too (``service.letters.on_outcomes``: a draft on entering the 13710 level, …).
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
    recorded = wall_now()  # the real time of this write, beside the business time ``now``
    event_rows = [
        dict(
            problem_id=loaded.snap.id,
            at=now,
            recorded_at=recorded,
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
    texts = _notice_texts(conn, {loaded.snap.id for loaded, outcome in flat if outcome.notices and loaded.snap.id})
    for (loaded, outcome), event_id in zip(flat, ids):
        if not outcome.notices:
            continue
        after = outcome.after or loaded.snap
        stake = stake_after(loaded.stake, outcome.changes)
        assert loaded.snap.id is not None  # a stored problem
        snapshot = notice_snapshot(texts[loaded.snap.id], after, stake, view)
        subject = NoticeSubject(loaded.snap.id, outcome.to_level, after.deadline, stake, event_id, snapshot)
        for intent in outcome.notices:
            notices.extend(notice_rows(view, intent, subject, now, actor))
    insert_notices(conn, notices)
    if rules is not None:
        from service import letters

        letters.on_outcomes(conn, flat, ids, now, rules)
    return ids


_TEXT_COLUMNS = (
    PROBLEM.c.id,
    PROBLEM.c.code,
    PROBLEM.c.title,
    PROBLEM.c.description,
    PROBLEM.c.progress,
    PROBLEM.c.resolution,
    PROBLEM.c.rating,
    PROBLEM.c.responsible_section,
    PROBLEM.c.project_id,
    PROBLEM.c.created_at,
)


def _notice_texts(conn: Connection, ids: set[int]) -> dict:
    """What a notice shows of its problems beyond the workflow fields, read after this transaction's UPDATE
    (so a 申请销号 notice shows the resolution just written). One query per batch, only when there are notices."""
    if not ids:
        return {}
    rows = conn.execute(sa.select(*_TEXT_COLUMNS).where(PROBLEM.c.id.in_(sorted(ids))))
    return {row.id: row for row in rows}


def notice_snapshot(row, after: dl.Snapshot, stake: Stake, view: DirectoryView) -> dict:
    """The problem as a notice describes it, fixed when the notice is recorded: a notice delivered late still
    says what was true when it was written (its level, deadline, light, people), never what is true now."""
    project = view.project_by_id(row.project_id)

    def name(user_id: int | None) -> str:
        user = view.user_by_id(user_id)
        return user.name if user else ""

    def day(value) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row.id,
        "code": row.code,
        "title": row.title,
        "description": row.description,
        "category": after.category,
        "severity": after.severity,
        "state": after.state,
        "level": after.level,
        "light": after.light,
        "deadline": day(after.deadline),
        "deadline_provisional": bool(after.deadline_provisional),
        "deploy_due": day(after.deploy_due),
        "feedback_due": day(after.feedback_due),
        "progress": row.progress,
        "resolution": row.resolution,
        "rating": row.rating,
        "project": project.name if project else "",
        "unit": view.unit_name(stake.responsible_unit_id),
        "person": name(stake.responsible_person_id),
        "leader": name(stake.leader_id),
        "project_leader": name(stake.project_leader_id),
        "section": row.responsible_section,
        "created_at": day(row.created_at),
    }


def stake_after(stake: Stake, changes: dict) -> Stake:
    """The stake once an outcome's changes apply (assignment names the unit and people)."""
    return Stake(
        changes.get("responsible_unit_id", stake.responsible_unit_id),
        changes.get("responsible_person_id", stake.responsible_person_id),
        changes.get("leader_id", stake.leader_id),
        stake.project_leader_id,
        stake.reporter_id,
        changes.get("resolver_id", stake.resolver_id),
        stake.office_unit,
    )
