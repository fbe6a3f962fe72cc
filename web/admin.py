"""Admin pages: users (add, reset a password, deactivate), units, projects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from models.db import session as write_session
from web import directory_ops as ops
from web import guards, passwords
from web.auth import check_csrf, ctx_of, read_form, require_viewer
from web.db import read_session
from web.errors import status_for
from web.pages import redirect
from web.render import flash, render
from workflow.errors import DubanError
from workflow.states import Role, UnitKind

router = APIRouter(prefix="/admin")


def _page(request: Request, which: str, status: int = 200, error=None, values=None):
    viewer = require_viewer(request)
    (guards.require_projects if which == "projects" else guards.require_users)(viewer.actor)
    ctx = ctx_of(request)
    with read_session(ctx.reader) as s:
        data = {
            "users": ops.list_users(s) if which == "users" else [],
            "units": ops.list_units(s),
            "projects": ops.list_projects(s) if which == "projects" else [],
            "leaders": [u for u in ops.list_users(s) if u["role"] == Role.COUNTY_LEADER] if which == "projects" else [],
        }
    return render(
        request,
        f"admin_{which}.html",
        status=status,
        title="系统管理",
        nav="admin",
        tab=which,
        roles=[(r.value, r.label) for r in Role],
        kinds=[(k.value, k.label) for k in UnitKind],
        error=error,
        values=values or {},
        can_users=guards.can_manage_users(viewer.actor),
        **data,
    )


@router.get("/users")
def users_page(request: Request):
    return _page(request, "users")


@router.get("/units")
def units_page(request: Request):
    return _page(request, "units")


@router.get("/projects")
def projects_page(request: Request):
    return _page(request, "projects")


def _post(which: str, work_fn, with_login: bool = False):
    async def run(request: Request, kw: dict):
        form = await read_form(request)

        def work():
            viewer = require_viewer(request)
            check_csrf(request, form.get("csrf_token"))
            (guards.require_projects if which == "projects" else guards.require_users)(viewer.actor)
            ctx = ctx_of(request)
            try:
                with write_session(ctx.engine) as s, s.begin():
                    text = work_fn(s, form, viewer, ctx, **kw)
            except DubanError as exc:
                values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "password")}
                return _page(request, which, status=status_for(exc), error=exc, values=values)
            flash(request, text)
            return redirect(f"/admin/{which}")

        return await run_in_threadpool(work)

    if with_login:

        async def handler_login(request: Request, login: str):
            return await run(request, {"login": login})

        return handler_login

    async def handler(request: Request):
        return await run(request, {})

    return handler


def _f(form, name: str) -> str:
    return str(form.get(name) or "").strip()


def _add_user(s, form, viewer, ctx):
    u = ops.add_user(
        s,
        _f(form, "login"),
        _f(form, "name"),
        _f(form, "unit"),
        _f(form, "role"),
        _f(form, "email"),
        str(form.get("password") or ""),
        ctx.now(),
    )
    return f"已新增用户 {u.login}（{u.name}）"


def _set_password(s, form, viewer, ctx, login: str):
    passwords.set_password(s, login, str(form.get("password") or ""))
    return f"已重设 {login} 的密码"


def _set_active(s, form, viewer, ctx, login: str):
    active = _f(form, "active") == "1"
    ops.set_active(s, login, active, viewer.login)
    return f"已{'启用' if active else '停用'}用户 {login}"


def _add_unit(s, form, viewer, ctx):
    u = ops.add_unit(s, _f(form, "code"), _f(form, "name"), _f(form, "kind"))
    return f"已新增单位 {u.name}"


def _add_project(s, form, viewer, ctx):
    p = ops.add_project(s, _f(form, "name"), _f(form, "unit"), _f(form, "leader"), ctx.now())
    return f"已登记项目「{p.name}」"


router.add_api_route("/users", _post("users", _add_user), methods=["POST"])
router.add_api_route("/users/{login}/password", _post("users", _set_password, True), methods=["POST"])
router.add_api_route("/users/{login}/active", _post("users", _set_active, True), methods=["POST"])
router.add_api_route("/units", _post("units", _add_unit), methods=["POST"])
router.add_api_route("/projects", _post("projects", _add_project), methods=["POST"])
