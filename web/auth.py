"""Who is asking: the session cookie (pages, and the API from a browser) or a bearer token (scripts).

The session is Starlette's signed cookie (itsdangerous, HttpOnly, SameSite=Lax, Secure behind HTTPS).
It holds the user id, a fingerprint of the password hash (changing a password ends every other
session), the issue time and the CSRF token. The user row is re-read on every request, so a
deactivated user is out at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from sqlmodel import select

from models.tables import Unit, User
from web import passwords, tokens
from web.context import WebContext
from web.db import read_session
from web.errors import CsrfFailed, TooManyAttempts, Unauthenticated
from workflow.permissions import Actor

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Viewer:
    user_id: int
    login: str
    name: str
    role: str
    unit_id: int
    unit_name: str
    via: str  # "session" | "token"

    @property
    def actor(self) -> Actor:
        return Actor(self.login, self.name, self.role, self.user_id, self.unit_id, self.unit_name, True)


def ctx_of(request: Request) -> WebContext:
    return request.app.state.duban


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _load(ctx: WebContext, **where) -> tuple[User, str] | None:
    with read_session(ctx.reader) as s:
        query = select(User, Unit.name).join(Unit, Unit.id == User.unit_id)
        for k, v in where.items():
            query = query.where(getattr(User, k) == v)
        return s.exec(query).first()


def _viewer(user: User, unit_name: str, via: str) -> Viewer:
    return Viewer(user.id, user.login, user.name, user.role, user.unit_id, unit_name, via)


def session_viewer(request: Request) -> Viewer | None:
    """The logged-in user of this browser session, or None."""
    cached = request.scope.get("duban.viewer")
    if cached is not None:
        return cached or None
    viewer = None
    uid = request.session.get("uid")
    if isinstance(uid, int):
        row = _load(ctx_of(request), id=uid)
        if row and row[0].active and request.session.get("pw") == _fingerprint(row[0].password_hash):
            viewer = _viewer(row[0], row[1], "session")
        else:
            request.session.pop("uid", None)
            request.session.pop("pw", None)
    request.scope["duban.viewer"] = viewer or False
    return viewer


def require_viewer(request: Request) -> Viewer:
    viewer = session_viewer(request)
    if viewer is None:
        raise Unauthenticated()
    return viewer


def api_viewer(request: Request) -> Viewer:
    """Bearer token, or the browser session (then unsafe methods also need the X-CSRF-Token header)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("认证方式无效：请使用 Authorization: Bearer <令牌>")
        ctx = ctx_of(request)
        with read_session(ctx.reader) as s:
            user = tokens.lookup(s, token.strip(), ctx.now())
            unit = s.get(Unit, user.unit_id) if user else None
        if user is None:
            raise Unauthenticated("API 令牌无效、已过期或已吊销")
        return _viewer(user, unit.name if unit else "", "token")
    viewer = require_viewer(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return viewer


# -- input hygiene ----------------------------------------------------------------------------------


def has_nul(text: str) -> bool:
    """NUL cannot be stored by PostgreSQL (and is never meaningful in a form): refuse it at the door."""
    return "\x00" in text


async def read_form(request: Request):
    """The submitted form; a value containing NUL, or a file upload, is refused as invalid input."""
    from workflow.errors import InvalidValue

    form = await request.form()
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise InvalidValue(f"字段「{key[:40]}」不接受文件")
        if has_nul(key) or has_nul(value):
            raise InvalidValue(f"字段「{key[:40].replace(chr(0), '')}」含有不允许的控制字符")
    return form


# -- CSRF (synchroniser token kept in the signed session) ------------------------------------------


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(str(expected), str(submitted)):
        raise CsrfFailed()


# -- logging in and out ----------------------------------------------------------------------------


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login(request: Request, login_name: str, password: str) -> Viewer:
    """Check the password (throttled per login+IP) and start a session; raises with a Chinese message."""
    ctx = ctx_of(request)
    login_name = (login_name or "").strip()[:64]
    ip = client_ip(request)
    wait = ctx.throttle.retry_after(login_name, ip)
    if wait:
        raise TooManyAttempts(f"登录失败次数过多，请 {max(1, (wait + 59) // 60)} 分钟后再试", retry_after=wait)
    row = _load(ctx, login=login_name) if login_name else None
    user = row[0] if row else None
    ok = passwords.verify(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        ctx.throttle.failed(login_name, ip)
        raise Unauthenticated("登录名或密码错误" if (not user or ok is False) else "该账号已停用")
    ctx.throttle.succeeded(login_name, ip)
    if passwords.needs_rehash(user.password_hash):
        from models.db import session as write_session

        with write_session(ctx.engine) as s, s.begin():
            fresh = s.get(User, user.id)
            fresh.password_hash = passwords.hash_password(password)
            user = fresh
    csrf = secrets.token_urlsafe(32)  # a new token at login: no fixation of a pre-login session
    request.session.clear()
    request.session.update(uid=user.id, pw=_fingerprint(user.password_hash), csrf=csrf, t=int(time.time()))
    request.scope.pop("duban.viewer", None)
    return _viewer(user, row[1], "session")


def logout(request: Request) -> None:
    request.session.clear()
    request.scope["duban.viewer"] = False
