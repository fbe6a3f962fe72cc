"""JSON API under /api/v1. Authentication: ``Authorization: Bearer <token>`` (``duban token create``), or
the browser session plus an ``X-CSRF-Token`` header for writes. Errors: ``{"code", "message"}`` with the
same status mapping as the pages (``web.errors``)."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.db import session as write_session
from service.problems import normalize_code
from service.queries import problem_detail
from web import directory_ops as ops
from web import guards
from web.auth import Viewer, api_viewer, ctx_of
from web.db import read_session
from web.errors import ERROR_RESPONSES
from web.forms import USER_ACTIONS, params_from
from web.ledger import MAX_PER_PAGE, LedgerQuery, page
from workflow.states import Category, Level, Light, Role, Severity, State, UnitKind

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

ActionName = Enum("ActionName", {a: a for a in USER_ACTIONS}, type=str)
ActionName.__doc__ = "工作流操作"
_enum = lambda cls, name: Enum(name, {m.value: m.value for m in cls}, type=str)  # noqa: E731
StateName, LevelName, CategoryName, LightName = (
    _enum(State, "StateName"),
    _enum(Level, "LevelName"),
    _enum(Category, "CategoryName"),
    _enum(Light, "LightName"),
)
RoleName, UnitKindName, SeverityName = (
    _enum(Role, "RoleName"),
    _enum(UnitKind, "UnitKindName"),
    _enum(Severity, "SeverityName"),
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("不能含有控制字符 NUL")
        return value


class ProblemIn(Strict):
    project: str = Field(min_length=1, max_length=200, description="项目名称或编号")
    category: CategoryName = Field(description="问题类型")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    unit: str | None = Field(default=None, max_length=128, description="责任单位（默认项目所属单位）")
    severity: SeverityName = SeverityName("general")
    county_level: bool = False


class TransitionIn(Strict):
    """每个操作只读取与之相关的字段；必填项缺失时返回 400 missing_field。"""

    expected_version: int | None = Field(
        default=None, ge=1, le=2_000_000_000, description="仅当问题仍是该版本时执行，否则 409 stale_version"
    )
    unit: str | None = Field(default=None, max_length=128)
    person: str | None = Field(default=None, max_length=64)
    leader: str | None = Field(default=None, max_length=64)
    section: str | None = Field(default=None, max_length=128)
    deadline: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD")
    comment: str | None = Field(default=None, max_length=5000)
    text: str | None = Field(default=None, max_length=5000)
    reason: str | None = Field(default=None, max_length=5000)
    resolution: str | None = Field(default=None, max_length=5000)
    to: LevelName | None = None
    rating: Literal["excellent", "good", "pass", "fail"] | None = None


class UserIn(Strict):
    login: str = Field(min_length=2, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    unit: str = Field(min_length=1, max_length=128)
    role: RoleName
    email: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, min_length=8, max_length=256)


class UnitIn(Strict):
    code: str = Field(min_length=2, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    kind: UnitKindName


class ProjectIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=128)
    leader: str | None = Field(default=None, max_length=64)


def _detail(request: Request, code: str) -> dict:
    ctx = ctx_of(request)
    with read_session(ctx.reader) as s:
        ctx.service.load(s, code)  # NotFound with the service's message
        return problem_detail(s, code, ctx.today(), ctx.rules.timezone)


@router.get("/me", summary="当前用户")
def me(viewer: Viewer = Depends(api_viewer)) -> dict:
    return {
        "login": viewer.login,
        "name": viewer.name,
        "role": viewer.role,
        "role_label": Role(viewer.role).label,
        "unit": viewer.unit_name,
        "auth": viewer.via,
    }


@router.get("/problems", summary="问题台账（筛选、搜索、排序、分页）")
def list_problems(
    request: Request,
    viewer: Viewer = Depends(api_viewer),
    state: StateName | None = None,
    level: LevelName | None = None,
    unit: str | None = Query(None, max_length=128),
    category: CategoryName | None = None,
    light: LightName | None = None,
    overdue: bool = False,
    open_only: bool = False,
    q: str | None = Query(None, max_length=100),
    project: int | None = Query(None, ge=1, le=2_000_000_000),
    sort: str = Query(
        "-code", max_length=20, description="code、deadline、updated、light、state、level；前加 - 为倒序"
    ),
    page_no: int = Query(1, alias="page", ge=1, le=100_000),
    per_page: int = Query(50, ge=1, le=MAX_PER_PAGE),
) -> dict:
    ctx = ctx_of(request)
    lq = LedgerQuery(
        state=state.value if state else "",
        level=level.value if level else "",
        unit=unit or "",
        category=category.value if category else "",
        light=light.value if light else "",
        overdue=overdue,
        open_only=open_only,
        q=q or "",
        project=str(project) if project else "",
        sort=sort,
        page=page_no,
        per_page=per_page,
    )
    with read_session(ctx.reader) as s:
        result = page(s, lq, ctx.today())
    return {
        "total": result.total,
        "page": result.query.page,
        "per_page": result.query.per_page,
        "pages": result.pages,
        "items": result.rows,
    }


@router.post("/problems", status_code=201, summary="登记问题")
def create_problem(request: Request, body: ProblemIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    ctx = ctx_of(request)
    problem = ctx.service.log(
        viewer.login,
        body.project,
        body.category.value,
        body.title,
        unit=body.unit,
        description=body.description,
        severity=body.severity.value,
        county_level=body.county_level,
    )
    return _detail(request, problem.code)


@router.get("/problems/{code}", summary="问题详情（含办理记录与通知）")
def get_problem(request: Request, code: str, viewer: Viewer = Depends(api_viewer)) -> dict:
    return _detail(request, normalize_code(code))


@router.get("/problems/{code}/events", summary="问题的办理记录（审计日志）")
def get_events(request: Request, code: str, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    return _detail(request, normalize_code(code))["history"]


@router.post("/problems/{code}/transitions/{action}", summary="执行工作流操作")
def transition(
    request: Request,
    code: str,
    action: ActionName,
    body: TransitionIn | None = None,
    viewer: Viewer = Depends(api_viewer),
) -> dict:
    ctx = ctx_of(request)
    body = body or TransitionIn()
    data = body.model_dump(exclude_none=True, mode="json")
    params = params_from(action.value, data)
    problem = ctx.service.act(viewer.login, code, action.value, expected_version=body.expected_version, **params)
    return _detail(request, problem.code)


@router.get("/users", summary="用户列表")
def users(request: Request, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    with read_session(ctx_of(request).reader) as s:
        rows = ops.list_users(s)
    if not guards.can_manage_users(viewer.actor):
        for r in rows:
            r.pop("has_password", None)
    return rows


@router.post("/users", status_code=201, summary="新增用户（管理员）")
def add_user(request: Request, body: UserIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    guards.require_users(viewer.actor)
    ctx = ctx_of(request)
    with write_session(ctx.engine) as s, s.begin():
        u = ops.add_user(s, body.login, body.name, body.unit, body.role.value, body.email, body.password, ctx.now())
        login = u.login
    with read_session(ctx.reader) as s:
        return next(r for r in ops.list_users(s) if r["login"] == login)


@router.get("/units", summary="单位名录")
def units(request: Request, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    with read_session(ctx_of(request).reader) as s:
        return ops.list_units(s)


@router.post("/units", status_code=201, summary="新增单位（管理员）")
def add_unit(request: Request, body: UnitIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    guards.require_users(viewer.actor)
    ctx = ctx_of(request)
    with write_session(ctx.engine) as s, s.begin():
        u = ops.add_unit(s, body.code, body.name, body.kind.value)
        return {"code": u.code, "name": u.name, "kind": u.kind, "kind_label": UnitKind(u.kind).label, "aliases": []}


@router.get("/projects", summary="项目列表")
def projects(request: Request, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    with read_session(ctx_of(request).reader) as s:
        return ops.list_projects(s)


@router.post("/projects", status_code=201, summary="登记项目（管理员、督查室）")
def add_project(request: Request, body: ProjectIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    guards.require_projects(viewer.actor)
    ctx = ctx_of(request)
    with write_session(ctx.engine) as s, s.begin():
        p = ops.add_project(s, body.name, body.unit, body.leader, ctx.now())
        pid = p.id
    with read_session(ctx.reader) as s:
        return next(r for r in ops.list_projects(s) if r["id"] == pid)
