"""The HTML pages: login, dashboard, ledger (+ Excel), problem page with its action forms, logging a
problem, the review queue, changing one's password. Admin pages are in ``web.admin``.

Every POST checks the CSRF token first, then acts through ``ProblemService`` (roles, state, fields and
the version are checked there). Form handlers read the form in the event loop and do the work in the
thread pool.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlmodel import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from models.tables import Unit, User
from service.persist import stake_fields
from service.problems import normalize_code
from service.queries import problem_detail
from web import auth, dashboard, guards
from web.auth import check_csrf, ctx_of, read_form, require_viewer
from web.db import read_session
from web.errors import status_for
from web.forms import DANGER, FIELDS, USER_ACTIONS, params_from
from web.ledger import LedgerQuery, options, page
from web.render import flash, render
from workflow.errors import DubanError, InvalidValue, NotFound
from workflow.machine import available
from workflow.permissions import ACTION_LABELS, Stake, allowed
from workflow.states import Rating

router = APIRouter()


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


# -- login -------------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request):
    return redirect("/dashboard" if auth.session_viewer(request) else "/login")


@router.get("/login")
def login_form(request: Request, next: str = ""):
    if auth.session_viewer(request):
        return redirect(_safe_next(next))
    return render(request, "login.html", title="登录", next=_safe_next(next) if next else "", login="")


@router.post("/login")
async def login_submit(request: Request):
    form = await read_form(request)

    def work():
        login_name = str(form.get("login") or "")
        try:
            check_csrf(request, form.get("csrf_token"))
            auth.login(request, login_name, str(form.get("password") or ""))
        except DubanError as exc:
            response = render(
                request,
                "login.html",
                status=status_for(exc),
                title="登录",
                error=exc,
                next=_safe_next(str(form.get("next") or "")),
                login=login_name[:64],
            )
            if getattr(exc, "retry_after", None):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return redirect(_safe_next(str(form.get("next") or "")))

    return await run_in_threadpool(work)


@router.post("/logout")
async def logout(request: Request):
    form = await read_form(request)
    check_csrf(request, form.get("csrf_token"))
    auth.logout(request)
    return redirect("/login")


# -- dashboard ---------------------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard_page(request: Request):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    today = ctx.today()
    with read_session(ctx.reader) as s:
        data = dict(
            c=dashboard.counts(s),
            overdue=dashboard.overdue_by_unit(s, today),
            chart=dashboard.open_closed_series(s, ctx.rules.timezone, today),
            red=dashboard.red_items(s, today),
            mine=dashboard.my_items(s, viewer, today),
        )
    return render(request, "dashboard.html", title="工作台", nav="dashboard", now=ctx.now(), **data)


# -- the ledger --------------------------------------------------------------------------------------


def ledger_query(request: Request) -> LedgerQuery:
    qp = request.query_params

    def integer(name: str, default: int) -> int:
        raw = qp.get(name, "")
        if not raw:
            return default
        if not raw.isdigit() or len(raw) > 7:
            raise InvalidValue(f"参数 {name}「{raw[:20]}」应为正整数")
        return int(raw)

    flag = lambda name: qp.get(name, "") in ("1", "true", "on", "yes")  # noqa: E731
    return LedgerQuery(
        state=qp.get("state", ""),
        level=qp.get("level", ""),
        unit=qp.get("unit", ""),
        category=qp.get("category", ""),
        light=qp.get("light", ""),
        overdue=flag("overdue"),
        open_only=flag("open_only"),
        q=qp.get("q", ""),
        project=qp.get("project", ""),
        sort=qp.get("sort", "") or "-code",
        page=integer("page", 1),
        per_page=integer("per_page", ctx_of(request).settings.page_size),
    )


@router.get("/ledger")
def ledger_page(request: Request):
    require_viewer(request)
    ctx = ctx_of(request)
    lq = ledger_query(request)
    with read_session(ctx.reader) as s:
        opts = options(s)
        try:
            result = page(s, lq, ctx.today())
        except InvalidValue as exc:
            from web.ledger import LedgerPage

            return render(
                request,
                "ledger.html",
                status=400,
                title="问题台账",
                nav="ledger",
                error=exc,
                page=LedgerPage(LedgerQuery(), [], 0),
                lq=LedgerQuery(),
                opts=opts,
                qs="",
            )
    return render(
        request,
        "ledger.html",
        title="问题台账",
        nav="ledger",
        page=result,
        lq=result.query,
        opts=opts,
        qs=result.query.params(page=1, sort="-code"),
    )


@router.get("/ledger.xlsx")
def ledger_xlsx(request: Request):
    return _export(request, "xlsx")


@router.get("/ledger.csv")
def ledger_csv(request: Request):
    return _export(request, "csv")


_MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


def _export(request: Request, suffix: str):
    """The filtered ledger as a file written by ``reports.ledger_export`` (Excel: ~2,500 rows/s; CSV:
    ~45,000 rows/s). That export knows state, level, unit, light and overdue; the page's other filters
    (type, project, search) do not narrow the file."""
    from reports.ledger_export import Filters, export_ledger

    require_viewer(request)
    ctx = ctx_of(request)
    lq = ledger_query(request).validated()
    tmpdir = Path(tempfile.mkdtemp(prefix="duban-export-"))
    target = tmpdir / f"ledger.{suffix}"
    filters = Filters(lq.state or None, lq.level or None, lq.unit or None, lq.light or None, lq.overdue)

    def cleanup():
        target.unlink(missing_ok=True)
        tmpdir.rmdir()

    try:
        export_ledger(ctx.reader, ctx.rules, ctx.now(), target, filters)
    except BaseException:
        cleanup()
        raise
    name = f"问题台账-{ctx.today():%Y%m%d}.{suffix}"
    return FileResponse(
        target,
        media_type=_MEDIA[suffix],
        headers={"Content-Disposition": f"attachment; filename=ledger.{suffix}; filename*=UTF-8''{quote(name)}"},
        background=BackgroundTask(cleanup),
    )


# -- one problem -------------------------------------------------------------------------------------


def _code(code: str) -> str:
    try:
        return normalize_code(code)
    except InvalidValue:
        raise NotFound(f"问题编号「{code[:40]}」不存在") from None


def problem_page(
    request: Request, code: str, error: DubanError | None = None, open_action: str = "", values: dict | None = None
):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    code = _code(code)
    with read_session(ctx.reader) as s:
        loaded = ctx.service.load(s, code)
        detail = problem_detail(s, code, ctx.today(), ctx.rules.timezone)
        stake = Stake(**stake_fields(loaded.parties))
        names = [a for a in available(loaded.snap.state) if a in USER_ACTIONS and allowed(a, viewer.actor, stake)]
        if detail["acked_at"]:
            names = [a for a in names if a != "ack"]
        people = s.exec(
            select(User.login, User.name, Unit.name)
            .join(Unit, Unit.id == User.unit_id)
            .where(User.active.is_(True))
            .order_by(Unit.id, User.login)
        ).all()
        units = s.exec(select(Unit.code, Unit.name).order_by(Unit.id)).all()
        default_unit = next((c for c, n in units if n == detail["responsible_unit"]), "")
    actions = [{"name": a, "label": ACTION_LABELS[a], "fields": FIELDS[a], "danger": a in DANGER} for a in names]
    return render(
        request,
        "problem.html",
        status=status_for(error) if error else 200,
        title=code,
        nav="ledger",
        d=detail,
        actions=actions,
        error=error,
        open_action=open_action,
        values=values or {},
        people=people,
        units=units,
        default_unit=default_unit,
    )


@router.get("/problems/new")
def new_form(request: Request):
    require_viewer(request)
    ctx = ctx_of(request)
    with read_session(ctx.reader) as s:
        opts = options(s)
    return render(request, "new.html", title="登记问题", nav="new", opts=opts, values={})


@router.post("/problems/new")
async def new_submit(request: Request):
    form = await read_form(request)

    def work():
        viewer = require_viewer(request)
        check_csrf(request, form.get("csrf_token"))
        ctx = ctx_of(request)
        values = {
            k: str(form.get(k) or "").strip()
            for k in ("project", "category", "title", "description", "unit", "severity")
        }
        values["county_level"] = bool(form.get("county_level"))
        try:
            problem = ctx.service.log(
                viewer.login,
                values["project"],
                values["category"],
                values["title"],
                unit=values["unit"] or None,
                description=values["description"],
                severity=values["severity"] or "general",
                county_level=values["county_level"],
            )
        except DubanError as exc:
            with read_session(ctx.reader) as s:
                opts = options(s)
            return render(
                request,
                "new.html",
                status=status_for(exc),
                title="登记问题",
                nav="new",
                opts=opts,
                values=values,
                error=exc,
            )
        flash(request, f"已登记问题 {problem.code}")
        return redirect(f"/problems/{problem.code}")

    return await run_in_threadpool(work)


@router.get("/problems/{code}")
def problem_view(request: Request, code: str):
    return problem_page(request, code)


@router.post("/problems/{code}/actions/{action}")
async def problem_act(request: Request, code: str, action: str):
    form = await read_form(request)

    def work():
        viewer = require_viewer(request)
        check_csrf(request, form.get("csrf_token"))
        ctx = ctx_of(request)
        if action not in USER_ACTIONS:
            raise NotFound(f"没有「{action[:40]}」这个操作")
        code_n = _code(code)
        ctx.service.get(code_n)  # an unknown problem is a 404 page; any other error shows on its page
        from_review = request.query_params.get("from") == "review"
        raw_values = {f.name: str(form.get(f.name) or "") for f in FIELDS[action]}
        try:
            version = _version(form.get("version"))
            params = params_from(action, form)
            ctx.service.act(viewer.login, code_n, action, expected_version=version, **params)
        except DubanError as exc:
            if from_review:
                return review_page(request, error=exc)
            return problem_page(request, code_n, error=exc, open_action=action, values=raw_values)
        flash(request, f"{code_n} 已{ACTION_LABELS[action]}")
        return redirect("/review" if from_review else f"/problems/{code_n}")

    return await run_in_threadpool(work)


def _version(raw) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise InvalidValue(f"版本号「{text[:20]}」无效")
    return int(text)


# -- review queue ------------------------------------------------------------------------------------


def review_page(request: Request, error: DubanError | None = None):
    viewer = require_viewer(request)
    guards.require_review(viewer.actor)
    ctx = ctx_of(request)
    with read_session(ctx.reader) as s:
        items = dashboard.review_queue(s, ctx.today())
    return render(
        request,
        "review.html",
        status=status_for(error) if error else 200,
        title="销号审核",
        nav="review",
        items=items,
        ratings=[(r.value, r.label) for r in Rating],
        error=error,
    )


@router.get("/review")
def review_view(request: Request):
    return review_page(request)


# -- account -----------------------------------------------------------------------------------------


@router.get("/account/password")
def password_form(request: Request):
    require_viewer(request)
    return render(request, "password.html", title="修改密码")


@router.post("/account/password")
async def password_submit(request: Request):
    form = await read_form(request)

    def work():
        from models.db import session as write_session
        from web import passwords

        viewer = require_viewer(request)
        check_csrf(request, form.get("csrf_token"))
        ctx = ctx_of(request)
        try:
            with write_session(ctx.engine) as s, s.begin():
                user = s.get(User, viewer.user_id)
                if not passwords.verify(user.password_hash, str(form.get("current") or "")):
                    raise InvalidValue("当前密码不正确")
                if str(form.get("new") or "") != str(form.get("again") or ""):
                    raise InvalidValue("两次输入的新密码不一致")
                user.password_hash = passwords.hash_password(str(form.get("new") or ""))
                fingerprint = auth._fingerprint(user.password_hash)
        except DubanError as exc:
            return render(request, "password.html", status=status_for(exc), title="修改密码", error=exc)
        request.session["pw"] = fingerprint  # keep this session; every other session of this user ends
        request.scope.pop("duban.viewer", None)
        flash(request, "密码已修改")
        return redirect("/dashboard")

    return await run_in_threadpool(work)
