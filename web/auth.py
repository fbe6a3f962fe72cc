"""Who is asking: the session cookie (pages, and the API from a browser) or a bearer token (scripts).

The cookie is Starlette's signed cookie (itsdangerous, HttpOnly, SameSite=Lax, Secure behind HTTPS). It
holds a random session token (``sid``), the CSRF token and a flash message — nothing else. The session
itself lives on the server (``service.sessions``, table ``user_session``) and is checked on every request:
logging out, a password change, deactivation, "sign out everywhere" and the idle and absolute timeouts end
it at once, for every process.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request

from service import accounts
from web.context import WebContext
from web.errors import CsrfFailed, Unauthenticated
from workflow.permissions import Actor

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Viewer:
    """The person behind a request, and how they came (a browser session or an API token)."""

    actor: Actor
    via: str  # "session" | "token"

    @property
    def user_id(self) -> int:
        assert self.actor.user_id is not None
        return self.actor.user_id

    @property
    def login(self) -> str:
        return self.actor.login

    @property
    def name(self) -> str:
        return self.actor.name

    @property
    def role(self) -> str:
        return self.actor.role

    @property
    def unit_id(self) -> int | None:
        return self.actor.unit_id

    @property
    def unit_name(self) -> str:
        return self.actor.unit_name


def ctx_of(request: Request) -> WebContext:
    return request.app.state.duban


def session_viewer(request: Request) -> Viewer | None:
    """The logged-in user of this browser session, or None."""
    cached = request.scope.get("duban.viewer")
    if cached is not None:
        return cached or None
    viewer = None
    token = request.session.get("sid")
    if token is not None:
        ctx = ctx_of(request)
        actor = accounts.session_actor(ctx.engine, token, ctx.wall(), ctx.settings.session_policy())
        if actor is not None:
            viewer = Viewer(actor, "session")
        else:
            request.session.pop("sid", None)  # ended on the server: forget it in the browser too
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
        actor = accounts.token_actor(ctx.engine, token.strip(), ctx.now())
        if actor is None:
            raise Unauthenticated("API 令牌无效、已过期或已吊销")
        return Viewer(actor, "token")
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
    """Check the password (throttled per address and per login+address) and start a server-side session;
    raises with a Chinese message."""
    ctx = ctx_of(request)
    try:
        actor, token = accounts.sign_in(
            ctx.engine,
            login_name,
            password,
            ctx.wall(),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            throttle=ctx.settings.throttle_policy(),
        )
    except accounts.BadCredentials as exc:
        raise Unauthenticated(exc.message) from None
    csrf = secrets.token_urlsafe(32)  # a new token at login: no fixation of a pre-login session
    request.session.clear()
    request.session.update(sid=token, csrf=csrf)
    request.scope.pop("duban.viewer", None)
    return Viewer(actor, "session")


def logout(request: Request) -> None:
    """End the session on the server (so a copy of the cookie is worthless) and clear the cookie."""
    token = request.session.get("sid")
    if token is not None:
        ctx = ctx_of(request)
        accounts.sign_out(ctx.engine, token, ctx.wall())
    request.session.clear()
    request.scope["duban.viewer"] = False


def session_token(request: Request) -> str | None:
    """This browser's session token (kept when its own password changes)."""
    token = request.session.get("sid")
    return token if isinstance(token, str) else None
