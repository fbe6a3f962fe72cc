"""Browser sessions kept on the server (table ``user_session``): started at login, checked on every request,
ended by logging out, by a password change, by deactivating the account, by an administrator's "sign out
everywhere", or by the idle and absolute timeouts.

The browser's signed cookie carries only a random token; the table keeps its SHA-256 digest. Every process
serving the database reads the same rows, so an ended session is refused at once by every worker. The web
keeps the cookie; everything else happens here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import reader
from models.db import session as open_session
from models.tables import Unit, User, UserSession, table_of
from service.clock import wall_now
from workflow.permissions import Actor

SESSION: sa.Table = table_of(UserSession)
USER: sa.Table = table_of(User)
UNIT: sa.Table = table_of(Unit)
TOKEN_BYTES = 32
# last_seen_at is written at most this often per session: a page view is then a read, not a write.
TOUCH_EVERY = timedelta(seconds=60)
# Ended and expired rows are kept this long (who was signed in from where), then purged at a login.
KEEP_ENDED = timedelta(days=30)


class EndReason:
    LOGOUT = "logout"
    PASSWORD = "password"
    DEACTIVATED = "deactivated"
    SIGNOUT = "signout"
    IDLE = "idle"
    EXPIRED = "expired"


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: ``idle`` without a request, ``absolute`` since the login at most."""

    idle: timedelta = timedelta(hours=2)
    absolute: timedelta = timedelta(hours=12)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token_ok(token: object) -> bool:
    return isinstance(token, str) and 20 <= len(token) <= 100 and token.isascii()


def start(engine: Engine, user_id: int, now: datetime, ip: str = "", user_agent: str = "") -> str:
    """A new session for ``user_id``; returns the token for the cookie (shown to nobody else)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with open_session(engine) as s, s.begin():
        s.execute(sa.delete(SESSION).where(SESSION.c.created_at < now - KEEP_ENDED))
        s.execute(
            sa.insert(SESSION).values(
                id=digest(token),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                ip=(ip or "")[:64],
                user_agent=(user_agent or "")[:255],
            )
        )
    return token


def resume(engine: Engine, token: object, now: datetime, policy: SessionPolicy) -> Actor | None:
    """The person whose live session ``token`` is, or None: unknown, ended, idle or too old, or the account
    deactivated. A session found timed out is marked ended; an active one has its last-seen time moved on
    (at most once a minute)."""
    if not _token_ok(token):
        return None
    sid = digest(str(token))
    query = (
        sa.select(
            SESSION,
            USER.c.login,
            USER.c.name.label("user_name"),
            USER.c.role,
            USER.c.unit_id,
            USER.c.active,
            UNIT.c.name.label("unit_name"),
        )
        .select_from(SESSION.join(USER, USER.c.id == SESSION.c.user_id).join(UNIT, UNIT.c.id == USER.c.unit_id))
        .where(SESSION.c.id == sid)
    )
    with reader(engine).connect() as conn:  # every request: a plain connection, no ORM session needed
        row = conn.execute(query).first()
    if row is None or row.revoked_at is not None:
        return None
    ended = None
    if not row.active:
        ended = EndReason.DEACTIVATED
    elif now - row.created_at >= policy.absolute:
        ended = EndReason.EXPIRED
    elif now - row.last_seen_at >= policy.idle:
        ended = EndReason.IDLE
    if ended is not None:
        _end_where(engine, SESSION.c.id == sid, now, ended)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with open_session(engine) as s, s.begin():
            s.execute(
                sa.update(SESSION).where(SESSION.c.id == sid, SESSION.c.revoked_at.is_(None)).values(last_seen_at=now)
            )
    return Actor(row.login, row.user_name, row.role, row.user_id, row.unit_id, row.unit_name, True)


def end(engine: Engine, token: object, now: datetime, reason: str = EndReason.LOGOUT) -> None:
    """End one session (logging out). Unknown or already ended: nothing to do."""
    if _token_ok(token):
        _end_where(engine, SESSION.c.id == digest(str(token)), now, reason)


def end_all(session: Session, user_id: int, reason: str, keep: object = None) -> int:
    """End every live session of ``user_id`` in the caller's transaction, but the one whose token is ``keep``
    (the browser that changed its own password stays signed in). Returns how many ended. Stamped with the
    wall clock: a command run with a simulated time still ends the sessions now."""
    now = wall_now()
    condition = sa.and_(SESSION.c.user_id == user_id, SESSION.c.revoked_at.is_(None))
    if _token_ok(keep):
        condition = sa.and_(condition, SESSION.c.id != digest(str(keep)))
    result = session.execute(sa.update(SESSION).where(condition).values(revoked_at=now, end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)  # a CursorResult: UPDATE reports its row count


def _end_where(engine: Engine, condition, now: datetime, reason: str) -> None:
    with open_session(engine) as s, s.begin():
        s.execute(
            sa.update(SESSION)
            .where(condition, SESSION.c.revoked_at.is_(None))
            .values(revoked_at=now, end_reason=reason)
        )


def live_count(engine: Engine, user_id: int, now: datetime, policy: SessionPolicy) -> int:
    """How many sessions of ``user_id`` would still be accepted now (for listings and tests)."""
    with open_session(reader(engine)) as s:
        return int(
            s.execute(
                sa.select(sa.func.count())
                .select_from(SESSION)
                .where(
                    SESSION.c.user_id == user_id,
                    SESSION.c.revoked_at.is_(None),
                    SESSION.c.created_at > now - policy.absolute,
                    SESSION.c.last_seen_at > now - policy.idle,
                )
            ).scalar_one()
        )
