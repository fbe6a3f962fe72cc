"""Admin pages: users (add, reset a password, activate/deactivate), units, projects. Every change goes through
``service.directory_admin.DirectoryAdmin``, which decides who may."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from web.auth import check_csrf, ctx_of, read_form, require_viewer
from web.errors import status_for
from web.pages import redirect
from web.render import flash, render
from workflow.errors import DubanError
from workflow.permissions import Manage, may, require
from workflow.states import Role, UnitKind

router = APIRouter(prefix="/admin")
_NEEDS = {"users": Manage.USERS, "units": Manage.UNITS, "projects": Manage.PROJECTS}


def _page(request: Request, which: str, status: int = 200, error=None, values=None):
    viewer = require_viewer(request)
    require(_NEEDS[which], viewer.actor)
    admin = ctx_of(request).admin
    data = {
        "users": [u.as_dict() for u in admin.users(viewer.login)] if which == "users" else [],
        "units": [u.as_dict() for u in admin.units()],
        "projects": [p.as_dict() for p in admin.projects()] if which == "projects" else [],
        "leaders": [u.as_dict() for u in admin.users(viewer.login) if u.role == Role.COUNTY_LEADER and u.active]
        if which == "projects"
        else [],
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
        can_users=may(Manage.USERS, viewer.actor),
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
            try:
                text = work_fn(ctx_of(request).admin, form, viewer.login, **kw)
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


def _add_user(admin, form, actor: str):
    u = admin.add_user(
        actor,
        _f(form, "login"),
        _f(form, "name"),
        _f(form, "unit"),
        _f(form, "role"),
        _f(form, "email"),
        str(form.get("password") or "") or None,
    )
    return f"已新增用户 {u.login}（{u.name}）"


def _set_password(admin, form, actor: str, login: str):
    admin.set_password(actor, login, str(form.get("password") or ""))
    return f"已重设 {login} 的密码"


def _set_active(admin, form, actor: str, login: str):
    active = _f(form, "active") == "1"
    admin.set_active(actor, login, active)
    return f"已{'启用' if active else '停用'}用户 {login}"


def _sign_out(admin, form, actor: str, login: str):
    ended = admin.sign_out_everywhere(actor, login)
    return f"已让 {login} 在所有浏览器上退出登录（结束 {ended} 个会话）"


def _add_unit(admin, form, actor: str):
    u = admin.add_unit(actor, _f(form, "code"), _f(form, "name"), _f(form, "kind"))
    return f"已新增单位 {u.name}"


def _add_project(admin, form, actor: str):
    p = admin.add_project(actor, _f(form, "name"), _f(form, "unit"), _f(form, "leader") or None)
    return f"已登记项目「{p.name}」"


router.add_api_route("/users", _post("users", _add_user), methods=["POST"])
router.add_api_route("/users/{login}/password", _post("users", _set_password, True), methods=["POST"])
router.add_api_route("/users/{login}/active", _post("users", _set_active, True), methods=["POST"])
router.add_api_route("/users/{login}/signout", _post("users", _sign_out, True), methods=["POST"])
router.add_api_route("/units", _post("units", _add_unit), methods=["POST"])
router.add_api_route("/projects", _post("projects", _add_project), methods=["POST"])
