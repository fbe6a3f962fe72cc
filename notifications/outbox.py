"""Outbox queries: claim due notices, record outcomes, re-queue failed ones, list them.

Claiming is one conditional UPDATE, safe with several workers on one database::

    UPDATE notice SET status='sending', claimed_by=:token, claimed_until=:now+lease, attempts=attempts+1
     WHERE id IN (SELECT id FROM notice WHERE <due> ORDER BY next_attempt_at, id LIMIT :n) AND <due>

where ``<due>`` is ``status='pending' AND next_attempt_at<=:now`` or, for crash recovery, ``status='sending'
AND claimed_until<:now``. SQLite runs writers one at a time (``models.db`` starts every transaction with
BEGIN IMMEDIATE); on PostgreSQL the sub-select adds ``FOR UPDATE SKIP LOCKED`` and the repeated ``<due>``
makes a row another worker took in the meantime drop out. The claimed rows are then read back by their
claim token. ``attempts`` counts claims, so a notice that kills its sender every time still ends up
``failed`` once a crashed claim of it expires with ``attempts >= max_attempts``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from models.tables import Notice, Problem, table_of
from notifications.kinds import kind_label, status_label

T = table_of(Notice)
ERROR_MAX = 1000  # characters kept in last_error
CRASHED_TOO_OFTEN = "发送进程多次在发送此通知时中断，已停止重试"


@contextmanager
def _transaction(bind: Engine | Connection):
    if isinstance(bind, Connection):
        with bind.begin():
            yield bind
    else:
        with bind.begin() as conn:
            yield conn


def _due(now: datetime, due_at: datetime, t=T):
    return sa.or_(
        sa.and_(t.c.status == "pending", sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= due_at)),
        sa.and_(t.c.status == "sending", sa.or_(t.c.claimed_until.is_(None), t.c.claimed_until < now)),
    )


def new_token(worker_id: str) -> str:
    """A claim token: the worker id (for people reading the table) plus a random part (unique per claim)."""
    return f"{worker_id[:100]}:{uuid.uuid4().hex[:16]}"


def claim(
    engine: Engine,
    worker_id: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    max_attempts: int | None = None,
    *,
    due_at: datetime | None = None,
) -> tuple[str, list[Notice]]:
    """Atomically take up to ``limit`` due notices until ``now + lease``; returns (claim token, rows).

    ``now`` is the lease clock (real time: claims are about process liveness). A pending notice is due
    when ``next_attempt_at <= due_at`` — business time, default ``now``; a sender passes the start of
    its run so that a notice it rescheduled is not taken again in the same run. A claim is expired
    when ``claimed_until < now``. Rows whose claim expired after ``max_attempts`` attempts are marked
    failed instead of being taken again.
    """
    token = new_token(worker_id)
    with engine.begin() as conn:
        if max_attempts is not None:
            conn.execute(
                T.update()
                .where(T.c.status == "sending", T.c.claimed_until < now, T.c.attempts >= max_attempts)
                .values(status="failed", last_error=CRASHED_TOO_OFTEN, claimed_by=None, claimed_until=None)
            )
        due_at = now if due_at is None else due_at
        due = _due(now, due_at)
        inner = T.alias("due_notice")  # an alias, so the sub-select is never correlated with the UPDATE
        pick = sa.select(inner.c.id).where(_due(now, due_at, inner))
        pick = pick.order_by(inner.c.next_attempt_at, inner.c.id).limit(limit)
        if engine.dialect.name == "postgresql":
            # PostgreSQL may run an IN (sub-select … LIMIT … SKIP LOCKED) more than once per UPDATE and so
            # claim more than ``limit`` rows; a materialised CTE picks the rows exactly once.
            picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
            target = T.c.id == picked.c.id
        else:
            target = T.c.id.in_(pick)
        result = conn.execute(
            T.update()
            .where(target, due)
            .values(status="sending", claimed_by=token, claimed_until=now + lease, attempts=T.c.attempts + 1)
        )
        if not result.rowcount:
            return token, []
    with Session(engine, expire_on_commit=False) as session:
        rows = session.execute(
            sa.select(Notice).where(Notice.claimed_by == token, Notice.status == "sending").order_by(Notice.id)
        ).scalars()
        rows = list(rows)
        session.expunge_all()
    return token, rows


def renew(bind: Engine | Connection, token: str, until: datetime) -> int:
    """Extend the lease of every row still held under ``token``."""
    with _transaction(bind) as conn:
        stmt = T.update().where(T.c.claimed_by == token, T.c.status == "sending").values(claimed_until=until)
        return conn.execute(stmt).rowcount


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed notice. ``status``: sent | pending (retry later) | failed.

    ``counted=False`` on a retry gives back the attempt the claim took: the server never judged the
    message (it could not be reached), so an outage does not use up a notice's attempts.
    """

    notice_id: int
    token: str
    status: str
    at: datetime
    error: str = ""
    next_attempt_at: datetime | None = None
    counted: bool = True


_released = {"claimed_by": None, "claimed_until": None}
_ours = sa.and_(T.c.id == sa.bindparam("nid"), T.c.claimed_by == sa.bindparam("tok"), T.c.status == "sending")
# Built once: the sender records outcomes many times a second, and building + caching a statement
# costs more than executing it on SQLite.
_MARK_SENT = (
    T.update()
    .where(T.c.id == sa.bindparam("nid"))
    .values(status="sent", sent_at=sa.bindparam("at"), last_error="", **_released)
)
_MARK_RETRY = (
    T.update()
    .where(_ours)
    .values(status="pending", next_attempt_at=sa.bindparam("next"), last_error=sa.bindparam("err"), **_released)
)
_MARK_RETRY_FREE = _MARK_RETRY.values(attempts=T.c.attempts - 1)
_MARK_FAILED = T.update().where(_ours).values(status="failed", last_error=sa.bindparam("err"), **_released)


def record(bind: Engine | Connection, outcomes: Iterable[Outcome]) -> None:
    """Write outcomes in one short transaction (``bind``: an engine, or a connection held by the caller).

    ``sent`` is recorded whatever the claim (the server has the message: that is the truth).
    ``pending``/``failed`` are recorded only while the row is still held under the outcome's claim
    token, so a worker that lost its lease never overwrites the outcome of the one that took over.
    """
    sent, retry_counted, retry_free, failed = [], [], [], []
    for o in outcomes:
        if o.status == "sent":
            sent.append({"nid": o.notice_id, "at": o.at})
            continue
        row = {"nid": o.notice_id, "tok": o.token, "err": o.error[:ERROR_MAX], "next": o.next_attempt_at or o.at}
        if o.status == "failed":
            failed.append(row)
        else:
            (retry_counted if o.counted else retry_free).append(row)
    if not (sent or retry_counted or retry_free or failed):
        return
    with _transaction(bind) as conn:
        for stmt, rows in (
            (_MARK_SENT, sent),
            (_MARK_RETRY, retry_counted),
            (_MARK_RETRY_FREE, retry_free),
            (_MARK_FAILED, failed),
        ):
            if rows:
                conn.execute(stmt, rows)


def retry(engine: Engine, notice_id: int | None, now: datetime) -> int:
    """Put failed notices back in the queue (one, or all when ``notice_id`` is None); returns how many.

    ``attempts`` restarts at 0 so the notice gets the full number of tries again.
    """
    stmt = T.update().where(T.c.status == "failed")
    if notice_id is not None:
        stmt = stmt.where(T.c.id == notice_id)
    stmt = stmt.values(status="pending", attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None)
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount


def list_notices(
    session: Session, status: str | None = None, *, problem_code: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Notices as plain dicts (newest last), optionally filtered by status and problem code."""
    stmt = sa.select(Notice, Problem.code).outerjoin(Problem, Problem.id == Notice.problem_id).order_by(Notice.id)
    if status:
        stmt = stmt.where(Notice.status == status)
    if problem_code:
        stmt = stmt.where(Problem.code == problem_code)
    if limit:
        stmt = stmt.limit(limit)
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "kind_label": kind_label(n.kind),
            "problem_code": code,
            "level": n.level,
            "recipient_role": n.recipient_role,
            "recipient_login": n.recipient_login,
            "recipient_email": n.recipient_email,
            "status": n.status,
            "status_label": status_label(n.status),
            "attempts": n.attempts,
            "created_at": n.created_at,
            "next_attempt_at": n.next_attempt_at,
            "sent_at": n.sent_at,
            "last_error": n.last_error,
        }
        for n, code in session.execute(stmt)
    ]


def status_counts(session: Session) -> dict[str, int]:
    """{status: number of notices}."""
    rows = session.execute(sa.select(T.c.status, sa.func.count()).group_by(T.c.status))
    return {status: count for status, count in rows}
