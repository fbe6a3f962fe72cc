"""The HTML pages: login, dashboard, ledger (+ Excel/CSV), problem page with its action forms, logging a
problem, the review queue, changing one's password. Admin pages are in ``web.admin``.

Thin: every page asks ``service`` for what to show and what the viewer may do (``available_actions``), and
every POST checks the CSRF token, then acts through the service (roles, state, fields and the version are
checked there). Form handlers read the form in the event loop and do the work in the thread pool.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from service import dashboard, directory, ledger, search
from service.ledger import DEFAULT_SORT, LedgerPage, LedgerQuery
from service.problems import normalize_code
from service.queries import problem_page, review_queue
from web import auth
from web.auth import check_csrf, ctx_of, read_form, require_viewer
from web.errors import status_for
from web.render import flash, render
from web.uploads import Received, received_form
from workflow.actions import ACTIONS, USER_ACTIONS
from workflow.errors import DubanError, InvalidValue, NotFound
from workflow.states import Rating

router = APIRouter()


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


def query_int(raw: str | None, name: str, default: int, limit: int = 10_000_000) -> int:
    """A positive integer from a query string or form: ASCII digits only (``str.isdigit`` also accepts ²)."""
    text = (raw or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not 1 <= int(text) <= limit:
        raise InvalidValue(f"参数 {name}「{text[:20]}」应为 1 到 {limit} 之间的整数", field=name, value=text)
    return int(text)


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
    data = dashboard.overview(ctx.reader, viewer.actor, ctx.rules.timezone, ctx.today())
    from service.campaigns import for_dashboard

    data["campaigns"] = for_dashboard(ctx.reader, ctx.rules, ctx.today())
    return render(request, "dashboard.html", title="工作台", nav="dashboard", now=ctx.now(), **data)


# -- the ledger --------------------------------------------------------------------------------------


def ledger_query(request: Request) -> LedgerQuery:
    qp = request.query_params

    def flag(name: str) -> bool:
        return qp.get(name, "") in ("1", "true", "on", "yes")

    return LedgerQuery(
        state=qp.get("state", ""),
        level=qp.get("level", ""),
        unit=qp.get("unit", ""),
        project=qp.get("project", ""),
        category=qp.get("category", ""),
        severity=qp.get("severity", ""),
        light=qp.get("light", ""),
        overdue=flag("overdue"),
        open_only=flag("open_only"),
        q=qp.get("q", ""),
        sort=qp.get("sort", "") or DEFAULT_SORT,
        page=query_int(qp.get("page"), "page", 1),
        per_page=query_int(qp.get("per_page"), "per_page", ctx_of(request).settings.page_size, ledger.MAX_PER_PAGE),
        cursor=qp.get("cursor", "")[:1000],
    )


@router.get("/ledger")
def ledger_page(request: Request):
    require_viewer(request)
    ctx = ctx_of(request)
    opts = ledger.filter_choices(ctx.reader)
    try:
        lq = ledger_query(request)
        result = ledger.browse(ctx.reader, require_viewer(request).login, lq, ctx.today())
    except (InvalidValue, NotFound) as exc:
        empty = LedgerQuery(q=request.query_params.get("q", "")[: ledger.MAX_SEARCH])
        return render(
            request,
            "ledger.html",
            status=400,
            title="问题台账",
            nav="ledger",
            error=exc,
            page=LedgerPage(empty, [], 0),
            lq=empty,
            opts=opts,
            qs="",
            limits=_LIMITS,
        )
    return render(
        request,
        "ledger.html",
        title="问题台账",
        nav="ledger",
        page=result,
        lq=result.query,
        opts=opts,
        qs=result.query.params(page=1, sort=DEFAULT_SORT),
        limits=_LIMITS,
    )


_LIMITS = {
    "max_page": ledger.MAX_PAGE,
    "short_scan": search.SHORT_SCAN,
    "min_indexed": search.MIN_INDEXED,
    "count_cap": ledger.COUNT_CAP,
}


@router.get("/ledger.xlsx")
def ledger_xlsx(request: Request):
    return _export(request, "xlsx")


@router.get("/ledger.csv")
def ledger_csv(request: Request):
    return _export(request, "csv")


_MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


def _export(request: Request, suffix: str):
    """The ledger with the page's filters, as a file written by ``reports.ledger_export``."""
    from reports.ledger_export import export_ledger

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    lq = ledger_query(request)
    tmpdir = Path(tempfile.mkdtemp(prefix="duban-export-"))
    target = tmpdir / f"ledger.{suffix}"

    def cleanup():
        target.unlink(missing_ok=True)
        tmpdir.rmdir()

    try:
        export_ledger(ctx.reader, ctx.rules, ctx.now(), target, lq, viewer.login)
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
        raise NotFound(f"问题编号「{code[:40]}」不存在", field="code", value=code) from None


def show_problem(
    request: Request, code: str, error: DubanError | None = None, open_action: str = "", values: dict | None = None
):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    view = problem_page(ctx.reader, _code(code), viewer.login, ctx.rules, ctx.today())
    choices = directory.form_choices(ctx.reader)
    default_unit = next((c for c, n in choices["units"] if n == view.detail["responsible_unit"]), "")
    return render(
        request,
        "problem.html",
        status=status_for(error) if error else 200,
        title=view.detail["code"],
        nav="ledger",
        d=view.detail,
        actions=view.actions,
        error=error,
        open_action=open_action,
        values=values or {},
        people=choices["people"],
        units=choices["units"],
        default_unit=default_unit,
        evidence_note=ctx.rules.evidence.requirement(view.detail["category"]),
    )


@router.get("/problems/new")
def new_form(request: Request):
    require_viewer(request)
    ctx = ctx_of(request)
    return render(
        request,
        "new.html",
        title="登记问题",
        nav="new",
        opts=ledger.filter_choices(ctx.reader),
        spec=ACTIONS["log"],
        values={},
    )


@router.post("/problems/new")
async def new_submit(request: Request):
    async with received_form(request) as received:
        return await run_in_threadpool(_new_work, request, received)


def _new_work(request: Request, received: Received):
    form = received.form
    viewer = require_viewer(request)
    if received.error is None:
        check_csrf(request, form.get("csrf_token"))
    ctx = ctx_of(request)
    spec = ACTIONS["log"]
    values = {f.name: str(form.get(f.name) or "").strip() for f in spec.fields}
    try:
        if received.error is not None:
            raise received.error
        problem = ctx.service.log_fields(
            viewer.login, {**values, "county_level": bool(form.get("county_level"))}, attachments=received.batch
        )
    except DubanError as exc:
        return render(
            request,
            "new.html",
            status=status_for(exc),
            title="登记问题",
            nav="new",
            opts=ledger.filter_choices(ctx.reader),
            spec=spec,
            values=values,
            error=exc,
        )
    flash(request, f"已登记问题 {problem.code}" + _files_note(problem))
    return redirect(f"/problems/{problem.code}")


def _files_note(problem) -> str:
    return f"，附件 {len(problem.attachment_ids)} 个" if problem.attachment_ids else ""


@router.get("/problems/{code}")
def problem_view(request: Request, code: str):
    return show_problem(request, code)


@router.post("/problems/{code}/actions/{action}")
async def problem_act(request: Request, code: str, action: str):
    async with received_form(request) as received:
        return await run_in_threadpool(_act_work, request, code, action, received)


def _act_work(request: Request, code: str, action: str, received: Received):
    form = received.form
    viewer = require_viewer(request)
    if received.error is None:
        check_csrf(request, form.get("csrf_token"))
    ctx = ctx_of(request)
    if action not in USER_ACTIONS:
        raise NotFound(f"没有「{action[:40]}」这个操作", field="action", value=action)
    spec = ACTIONS[action]
    code_n = _code(code)
    ctx.service.get(code_n)  # an unknown problem is a 404 page; any other error shows on its page
    from_review = request.query_params.get("from") == "review"
    raw_values = {f.name: str(form.get(f.name) or "") for f in spec.fields}
    try:
        if received.error is not None:
            raise received.error
        version = query_int(str(form.get("version") or ""), "version", 0, 2_000_000_000) or None
        done = ctx.service.act(
            viewer.login, code_n, action, expected_version=version, attachments=received.batch, **spec.read(form)
        )
    except DubanError as exc:
        if from_review:
            return show_review(request, error=exc)
        return show_problem(request, code_n, error=exc, open_action=action, values=raw_values)
    # 销号 rated 不合格 is a send-back (workflow.review): say what happened, not what was asked.
    said = "评为不合格，已退回督办" if action == "close" and done.state != "closed" else f"已{spec.label}"
    flash(request, f"{code_n} {said}" + _files_note(done) + "".join(f"。提示：{w}" for w in done.warnings))
    return redirect("/review" if from_review else f"/problems/{code_n}")


# -- review queue ------------------------------------------------------------------------------------


def show_review(request: Request, error: DubanError | None = None):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    items = review_queue(ctx.reader, viewer.login, ctx.rules, ctx.today())
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
    return show_review(request)


# -- account -----------------------------------------------------------------------------------------


@router.get("/account/password")
def password_form(request: Request):
    require_viewer(request)
    return render(request, "password.html", title="修改密码")


@router.post("/account/password")
async def password_submit(request: Request):
    form = await read_form(request)

    def work():
        viewer = require_viewer(request)
        check_csrf(request, form.get("csrf_token"))
        ctx = ctx_of(request)
        try:
            # Every other session of this user ends; this browser stays signed in.
            ctx.admin.change_own_password(
                viewer.login,
                str(form.get("current") or ""),
                str(form.get("new") or ""),
                str(form.get("again") or ""),
                keep_session=auth.session_token(request),
            )
        except DubanError as exc:
            return render(request, "password.html", status=status_for(exc), title="修改密码", error=exc)
        flash(request, "密码已修改")
        return redirect("/dashboard")

    return await run_in_threadpool(work)
