"""Signing in: a password checked (and re-hashed when argon2's parameters changed), a browser session or an
API token turned back into the acting person. The web asks here; it never reads user rows itself."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import reader
from models.db import session as open_session
from models.tables import Unit, User
from service import passwords, tokens
from workflow.errors import PermissionDenied
from workflow.permissions import Actor


class BadCredentials(PermissionDenied):
    """登录名或密码错误。"""

    code = "bad_credentials"


def fingerprint(password_hash: str | None) -> str:
    """A short digest of the password hash kept in a session: changing the password ends other sessions."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _actor(user: User, unit_name: str) -> Actor:
    return Actor(user.login, user.name, user.role, user.id, user.unit_id, unit_name, user.active)


def authenticate(engine: Engine, login: str, password: str) -> tuple[Actor, str]:
    """The person whose login and password these are, and their password fingerprint; BadCredentials
    otherwise (the same message for an unknown login and a wrong password)."""
    login = (login or "").strip()[:64]
    with open_session(reader(engine)) as s:
        row = s.exec(select(User, Unit.name).join(Unit, Unit.id == User.unit_id).where(User.login == login)).first()
    user = row[0] if row else None
    ok = passwords.verify(user.password_hash if user else None, password or "")
    if user is None or not ok:
        raise BadCredentials()
    if not user.active:
        raise BadCredentials("该账号已停用")
    stored = user.password_hash or ""
    if passwords.needs_rehash(stored):
        with open_session(engine) as s, s.begin():
            fresh = s.get(User, user.id)
            if fresh is not None:
                fresh.password_hash = stored = passwords.hash_password(password)
    return _actor(user, row[1]), fingerprint(stored)


def session_actor(engine: Engine, user_id: int, password_fingerprint: str | None) -> Actor | None:
    """The person a browser session belongs to, if the account is active and its password unchanged."""
    with open_session(reader(engine)) as s:
        row = s.exec(select(User, Unit.name).join(Unit, Unit.id == User.unit_id).where(User.id == user_id)).first()
    if row is None or not row[0].active or fingerprint(row[0].password_hash) != password_fingerprint:
        return None
    return _actor(row[0], row[1])


def token_actor(engine: Engine, token: str, now: datetime) -> Actor | None:
    """The active person an API token belongs to (None: unknown, revoked, expired or deactivated)."""
    with open_session(reader(engine)) as s:
        user = tokens.lookup(s, token, now)
        unit = s.get(Unit, user.unit_id) if user else None
    return _actor(user, unit.name if unit else "") if user else None
