"""The FastAPI application: pages, the JSON API, static files, error handling, security headers, and —
in the same process — the scheduler (``service.scheduler``) started and stopped with the app.

``create_app`` takes the engine, the rules and a clock, so tests run it on a real SQLite file with a
clock they move, and ``duban serve`` runs it under uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from models.db import reader as read_engine
from service.uploads import limits_from_env
from web.context import WebContext
from web.errors import Unauthenticated, body, status_for
from web.render import make_env
from web.settings import MIB, WebSettings
from web.uploads import upload_body_limits
from workflow.errors import DubanError
from workflow.evidence import Limits
from workflow.rules import Rules

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}
NO_STORE = (b"cache-control", b"no-store")


class GuardHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware overhead): refuses NUL in the path or query string
    (PostgreSQL cannot store it), adds the security headers to every response, and ``Cache-Control:
    no-store`` to every response but the static files (pages, downloads and API answers may hold what only
    the signed-in person may see; no browser or proxy cache keeps them)."""

    _headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = scope.get("query_string", b"").lower() + scope.get("raw_path", b"").lower()
        if b"%00" in raw or "\x00" in scope.get("path", ""):
            err = DubanError("请求地址或参数含有不允许的控制字符")
            err.code = "invalid_value"
            return await error_response(scope, 400, err)(scope, receive, send)
        extra = self._headers if scope.get("path", "").startswith("/static/") else [*self._headers, NO_STORE]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(StarletteHTTPException):
    """A request body over its route's limit (413). Raised while the body streams in, so the rest is never
    read; ``Connection: close`` tells the server not to wait for it either."""

    def __init__(self, limit: int):
        super().__init__(413, detail=_too_large_message(limit), headers={"Connection": "close"})
        self.limit = limit


def _too_large_message(limit: int) -> str:
    size = f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit} 字节"
    return f"请求内容过大：最多 {size}（{limit} 字节）"


class BodyLimit:
    """Pure ASGI middleware: a request body larger than its route's limit (``WebSettings.body_limit``) is
    refused with 413 before the application reads it. A declared ``Content-Length`` over the limit is
    answered at once, without reading a byte of the body; a chunked body is counted as it streams in and
    refused as soon as the count passes the limit."""

    def __init__(self, app, limit_for: Callable[[str], int]):
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope.get("path", ""))
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared:
            text = declared[0].strip()
            if not (text.isdigit() and len(declared) == 1):
                err = DubanError("请求头 Content-Length 无效")
                err.code = "invalid_value"
                return await error_response(scope, 400, err, {"Connection": "close"})(scope, receive, send)
            if int(text) > limit:
                err = DubanError(_too_large_message(limit))
                err.code = "payload_too_large"
                return await error_response(scope, 413, err, {"Connection": "close"})(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


def error_response(scope, status: int, err: DubanError, headers: dict | None = None):
    """An error answered before the application (and its sessions and templates) is reached: the JSON body
    for the API, a plain Chinese page otherwise."""
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", **(headers or {})}
    if scope.get("path", "").startswith(API_PREFIX):
        return JSONResponse(body(err), status_code=status, headers=headers)
    return HTMLResponse(_plain_page(err.message), status_code=status, headers=headers)


def _plain_page(message: str) -> str:
    from markupsafe import escape

    return (
        f"<!doctype html><html lang=zh-CN><meta charset=utf-8><title>出错了</title><p>{escape(message)}</p>"
        "<p><a href=/dashboard>返回工作台</a></p></html>"
    )


def wall_clock() -> datetime:
    return datetime.now(UTC)


class SchedulerThread:
    """``service.scheduler.serve`` on its own event loop in a background thread. Outside the main
    thread ``serve`` installs no signal handlers, so uvicorn keeps Ctrl-C/SIGTERM; stopping the app
    sets ``serve``'s stop event, and ``serve`` waits for the job in flight before returning."""

    def __init__(self, jobs, rules: Rules):
        self.jobs, self.rules = jobs, rules
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="duban-scheduler", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from service.scheduler import serve

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await serve(self.jobs, self.rules, stop=self._stop)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self, timeout: float = 60) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)


def create_app(
    engine: Engine,
    rules: Rules,
    clock: Callable[[], datetime] = wall_clock,
    settings: WebSettings | None = None,
    run_scheduler: bool = False,
    mail=None,
    wall: Callable[[], datetime] = wall_clock,
    limits: Limits | None = None,
) -> FastAPI:
    """``clock`` is business time (deadlines, the audit's ``at``); ``wall`` the real time sessions and the
    login throttle count in. Tests pass both. ``limits``: the upload limits (default: DUBAN_ATTACH_MAX_*)."""
    settings = settings or WebSettings.from_env()
    # Routes that take files accept bodies up to the upload limits (BodyLimit, like every other route).
    limits = limits or limits_from_env()
    settings = replace(settings, route_body_limits=settings.route_body_limits + upload_body_limits(limits))
    ctx = WebContext(
        engine=engine, reader=read_engine(engine), rules=rules, clock=clock, settings=settings, wall=wall, limits=limits
    )
    if run_scheduler or mail is not None:
        from notifications.channel_config import ChannelSettings
        from notifications.config import MailConfig
        from service.scheduler import Jobs

        ctx.jobs = Jobs(engine, rules, mail or MailConfig.from_env(), clock, channels=ChannelSettings.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threads = settings.request_threads(engine.dialect.name)
        if threads is not None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        runner = None
        if run_scheduler:
            runner = SchedulerThread(ctx.jobs, rules)
            runner.start()
            log.info("scheduler started in the web process")
        try:
            yield
        finally:
            if runner is not None:
                await asyncio.get_running_loop().run_in_executor(None, runner.stop)

    app = FastAPI(
        title="督办 duban API",
        version="1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        description="项目问题台账“发现—交办—督办—销号”的 JSON API。认证：Authorization: Bearer <令牌>"
        '（duban token create LOGIN 生成）。错误统一为 {"code", "message"}。',
    )
    app.state.duban = ctx
    app.state.jinja = make_env(rules.timezone)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="duban_session",
        max_age=settings.session_hours * 3600,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(BodyLimit, limit_for=settings.body_limit)
    app.add_middleware(GuardHeaders)  # outermost of ours: its headers go on every answer, 413s included

    from web import admin, api, api_evidence, documents, evidence_pages, inbox_api, notices_pages, pages, reports_pages

    app.include_router(api.router)
    app.include_router(inbox_api.router)
    app.include_router(api_evidence.router)
    app.include_router(documents.api)
    app.include_router(documents.pages, include_in_schema=False)
    app.include_router(pages.router, include_in_schema=False)
    app.include_router(evidence_pages.router, include_in_schema=False)
    app.include_router(admin.router, include_in_schema=False)
    app.include_router(reports_pages.router, include_in_schema=False)
    app.include_router(notices_pages.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _error_handlers(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _html_error(request: Request, exc: DubanError, status: int):
    from web.render import render

    return render(request, "error.html", status=status, title="出错了", heading=exc.message, error=exc)


# How errors that Starlette or FastAPI raise themselves (no route, wrong method, unreadable body …) are worded.
_HTTP_ERRORS = {
    400: ("invalid_value", "请求内容无法解析，请检查格式（JSON 或表单）"),
    401: ("unauthenticated", "请先登录"),
    403: ("permission_denied", "无权访问"),
    404: ("not_found", "页面或接口不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供所要求的格式"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("invalid_value", "输入无效"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}


def _error_handlers(app: FastAPI) -> None:
    from starlette.concurrency import run_in_threadpool

    @app.exception_handler(DubanError)
    async def duban_error(request: Request, exc: DubanError):
        status = status_for(exc)
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry else {}
        if _is_api(request):
            if status == 401:
                headers["WWW-Authenticate"] = "Bearer"
            return JSONResponse(body(exc), status_code=status, headers=headers or None)
        if isinstance(exc, Unauthenticated):
            from urllib.parse import quote

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        response = await run_in_threadpool(_html_error, request, exc, status)
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors()[:5]:
            if e.get("type") == "json_invalid":  # its loc is a character position, not a field
                position = (e.get("loc") or ("", 0))[-1]
                parts.append(f"请求：JSON 格式无效（第 {position} 个字符附近）")
                continue
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            parts.append(f"{where or '请求'}：{_cn(e)}")
        err = DubanError("输入无效：" + "；".join(parts))
        err.code = "invalid_value"
        if _is_api(request):
            return JSONResponse(body(err), status_code=400)
        return await run_in_threadpool(_html_error, request, err, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        status = exc.status_code
        code, message = _HTTP_ERRORS.get(status, ("http_error", f"请求无法处理（HTTP {status}）"))
        if isinstance(exc, BodyTooLarge):
            message = str(exc.detail)
        err = DubanError(message)
        err.code = code
        headers = dict(getattr(exc, "headers", None) or {})
        if _is_api(request):
            return JSONResponse(body(err), status_code=status, headers=headers or None)
        response = await run_in_threadpool(_html_error, request, err, status)
        response.headers.update(headers)
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        # Starlette's outermost middleware answers this one, outside GuardHeaders: the headers go on here.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = DubanError("服务器内部错误，请稍后重试或联系管理员")
        err.code = "internal_error"
        return error_response(request.scope, 500, err)


_CN = {
    "missing": "缺少必填项",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "enum": "取值无效",
    "int_parsing": "应为整数",
    "bool_parsing": "应为 true/false",
    "extra_forbidden": "不支持的字段",
    "greater_than_equal": "过小",
    "less_than_equal": "过大",
    "json_invalid": "JSON 格式无效",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "string_type": "应为字符串",
    "literal_error": "取值无效",
    "int_type": "应为整数",
    "bool_type": "应为 true/false",
}


def _cn(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ") or "格式无效"
    text = _CN.get(kind)
    if text is None:
        return "格式无效"
    ctx = error.get("ctx") or {}
    if kind == "enum" and "expected" in ctx:
        return f"取值无效，可选：{ctx['expected']}"
    if kind in ("string_too_long",) and "max_length" in ctx:
        return f"过长，最多 {ctx['max_length']} 字"
    return text
