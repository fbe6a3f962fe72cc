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
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from models.db import reader as read_engine
from web.context import WebContext
from web.errors import Unauthenticated, body, status_for
from web.render import make_env
from web.settings import WebSettings
from web.throttle import LoginThrottle
from workflow.errors import DubanError
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


class GuardHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware overhead): refuses NUL in the path or query string
    (PostgreSQL cannot store it) and adds the security headers to every response."""

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
            return await JSONResponse(body(err), status_code=400, headers=SECURITY_HEADERS)(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self._headers if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
    limits=None,
) -> FastAPI:
    settings = settings or WebSettings.from_env()
    ctx = WebContext(
        engine=engine,
        reader=read_engine(engine),
        rules=rules,
        clock=clock,
        settings=settings,
        throttle=LoginThrottle(settings.login_max_failures, settings.login_window_seconds),
    )
    if limits is not None:
        ctx.limits = limits
    if run_scheduler or mail is not None:
        from notifications.config import MailConfig
        from service.scheduler import Jobs

        ctx.jobs = Jobs(engine, rules, mail or MailConfig.from_env(), clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
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

    app.add_middleware(GuardHeaders)

    from web import admin, api, api_evidence, evidence_pages, pages, reports_pages

    app.include_router(api.router)
    app.include_router(api_evidence.router)
    app.include_router(pages.router, include_in_schema=False)
    app.include_router(evidence_pages.router, include_in_schema=False)
    app.include_router(admin.router, include_in_schema=False)
    app.include_router(reports_pages.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _error_handlers(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _html_error(request: Request, exc: DubanError, status: int):
    from web.render import render

    return render(request, "error.html", status=status, title="出错了", heading=exc.message, error=exc)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DubanError)
    async def duban_error(request: Request, exc: DubanError):
        status = status_for(exc)
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(body(exc), status_code=status, headers=headers)
        if isinstance(exc, Unauthenticated):
            from urllib.parse import quote

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_html_error, request, exc, status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            parts.append(f"{where or '请求'}：{_cn(e)}")
        err = DubanError("输入无效：" + "；".join(parts))
        err.code = "invalid_value"
        if _is_api(request):
            return JSONResponse(body(err), status_code=400)
        return _html_error(request, err, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        messages = {404: ("not_found", "页面或接口不存在"), 405: ("method_not_allowed", "不支持该请求方法")}
        code, message = messages.get(exc.status_code, ("error", str(exc.detail)))
        err = DubanError(message)
        err.code = code
        if _is_api(request) or exc.status_code != 404:
            return JSONResponse(body(err), status_code=exc.status_code, headers=getattr(exc, "headers", None))
        return _html_error(request, err, exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = DubanError("服务器内部错误，请稍后重试或联系管理员")
        err.code = "internal_error"
        if _is_api(request):
            return JSONResponse(body(err), status_code=500)
        from fastapi.responses import HTMLResponse

        return HTMLResponse(
            f"<!doctype html><meta charset=utf-8><title>出错了</title><p>{err.message}</p>"
            "<p><a href=/dashboard>返回工作台</a></p>",
            status_code=500,
        )


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
