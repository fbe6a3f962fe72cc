"""Signing in: a password checked (throttled, and re-hashed when argon2's parameters changed), a server-side
browser session started, resumed and ended (``service.sessions``), an API token turned back into the acting
person. The web asks here and keeps only the cookie; it never reads user or session rows itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.db import reader
from models.db import session as open_session
from models.tables import Unit, User
from service import login_throttle, passwords, sessions, tokens
from service.login_throttle import ThrottlePolicy
from service.sessions import SessionPolicy
from workflow.errors import DubanError, PermissionDenied
from workflow.permissions import Actor


class BadCredentials(PermissionDenied):
    """登录名或密码错误。"""

    code = "bad_credentials"


class TooManyAttempts(DubanError):
    """登录失败次数过多，请稍后再试。"""

    code = "too_many_attempts"

    def __init__(self, message: str | None = None, retry_after: int = 60, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


def _actor(user: User, unit_name: str) -> Actor:
    return Actor(user.login, user.name, user.role, user.id, user.unit_id, unit_name, user.active)


def authenticate(engine: Engine, login: str, password: str) -> Actor:
    """The person whose login and password these are; BadCredentials otherwise (the same message for an
    unknown login and a wrong password)."""
    login = (login or "").strip()[:64]
    with open_session(reader(engine)) as s:
        row = s.exec(
            select(User, col(Unit.name)).join(Unit, col(Unit.id) == col(User.unit_id)).where(User.login == login)
        ).first()
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
                fresh.password_hash = passwords.hash_password(password)
    assert row is not None
    return _actor(user, row[1])


def sign_in(
    engine: Engine,
    login: str,
    password: str,
    now: datetime,
    ip: str = "",
    user_agent: str = "",
    throttle: ThrottlePolicy = ThrottlePolicy(),
) -> tuple[Actor, str]:
    """Check the password — unless ``ip`` or ``login`` from it is throttled — and start a session.
    Returns the person and the session token for the cookie. Raises TooManyAttempts (with the seconds to
    wait) or BadCredentials."""
    login = (login or "").strip()[:64]
    verdict = login_throttle.check(engine, login, ip, now, throttle)
    if verdict.retry_after:
        minutes = max(1, (verdict.retry_after + 59) // 60)
        whom = "该账号在本机" if verdict.scope == "login" else "本机地址"
        raise TooManyAttempts(
            f"{whom}登录失败次数过多，请 {minutes} 分钟后再试", retry_after=verdict.retry_after, field="login"
        )
    try:
        actor = authenticate(engine, login, password)
    except BadCredentials:
        login_throttle.failed(engine, login, ip, now, throttle)
        raise
    login_throttle.succeeded(engine, login, ip)
    assert actor.user_id is not None
    return actor, sessions.start(engine, actor.user_id, now, ip, user_agent)


def session_actor(engine: Engine, token: object, now: datetime, policy: SessionPolicy) -> Actor | None:
    """The person a browser session belongs to while it is live and the account active; None otherwise."""
    return sessions.resume(engine, token, now, policy)


def sign_out(engine: Engine, token: object, now: datetime) -> None:
    """End this browser's session (logout): its cookie is refused from now on, by every process."""
    sessions.end(engine, token, now)


def token_actor(engine: Engine, token: str, now: datetime) -> Actor | None:
    """The active person an API token belongs to (None: unknown, revoked, expired or deactivated)."""
    with open_session(reader(engine)) as s:
        user = tokens.lookup(s, token, now)
        unit = s.get(Unit, user.unit_id) if user else None
    return _actor(user, unit.name if unit else "") if user else None
