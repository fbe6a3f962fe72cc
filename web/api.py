"""JSON API under /api/v1. Authentication: ``Authorization: Bearer <token>`` (``duban token create``), or
the browser session plus an ``X-CSRF-Token`` header for writes. Errors: ``{"code", "field", "value",
"message"}`` with the same status mapping as the pages (``web.errors``).

The request schema of a transition is built from the action table (``workflow.actions``): every field any
action takes, each with its label and length limit; ``GET /problems/{code}`` lists the ``actions`` the
caller may take now (``workflow.machine.available_actions``).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from service import ledger
from service.ledger import LedgerQuery
from service.problems import normalize_code
from service.queries import problem_page
from web.auth import Viewer, api_viewer, ctx_of
from web.errors import ERROR_RESPONSES
from workflow.actions import ACTIONS, USER_ACTIONS, FieldKind, FieldSpec, all_fields
from workflow.states import Category, Level, Light, Role, Severity, State, UnitKind

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

ActionName = Enum("ActionName", {a: a for a in USER_ACTIONS}, type=str)  # type: ignore[misc]
ActionName.__doc__ = "工作流操作"


def _enum(cls, name: str):
    return Enum(name, {m.value: m.value for m in cls}, type=str)  # type: ignore[misc]


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


def _api_field(spec: FieldSpec) -> tuple[Any, Any]:
    """A pydantic field for one field of the action table."""
    description = spec.label + (f"（{spec.hint}）" if spec.hint else "")
    if spec.kind == FieldKind.BOOL:
        return bool, Field(default=False, description=description)
    if spec.choices:
        choice = Enum(f"{spec.name.title()}Choice", {v: v for v, _ in spec.choices}, type=str)  # type: ignore[misc]
        return choice | None, Field(default=None, description=description)
    return str | None, Field(default=None, max_length=spec.max_length, description=description)


def _model(name: str, fields: dict[str, FieldSpec], doc: str, **extra) -> type[BaseModel]:
    model = create_model(name, __base__=Strict, **{n: _api_field(f) for n, f in fields.items()}, **extra)
    model.__doc__ = doc
    return model


TransitionIn = _model(
    "TransitionIn",
    all_fields(),
    "每个操作只读取与之相关的字段（见 GET /problems/{code} 的 actions）；必填项缺失时返回 400 missing_field。",
    expected_version=(
        int | None,
        Field(default=None, ge=1, le=2_000_000_000, description="仅当问题仍是该版本时执行，否则 409 stale_version"),
    ),
)
ProblemIn = _model("ProblemIn", {f.name: f for f in ACTIONS["log"].fields}, "登记问题。")


class UserIn(Strict):
    login: str = Field(min_length=2, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    unit: str = Field(min_length=1, max_length=128)
    role: RoleName  # type: ignore[valid-type]
    email: str | None = Field(default=None, max_length=254)
    password: str | None = Field(default=None, min_length=8, max_length=256)


class UnitIn(Strict):
    code: str = Field(min_length=2, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    kind: UnitKindName  # type: ignore[valid-type]


class ProjectIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=128)
    leader: str | None = Field(default=None, max_length=64)


def _detail(request: Request, viewer: Viewer, code: str) -> dict:
    ctx = ctx_of(request)
    page = problem_page(ctx.reader, normalize_code(code), viewer.login, ctx.rules, ctx.today())
    return {
        **page.detail,
        "actions": [{"name": a.name, "label": a.label, "fields": [f.name for f in a.fields]} for a in page.actions],
    }


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
    state: StateName | None = None,  # type: ignore[valid-type]
    level: LevelName | None = None,  # type: ignore[valid-type]
    unit: str | None = Query(None, max_length=128),
    category: CategoryName | None = None,  # type: ignore[valid-type]
    severity: SeverityName | None = None,  # type: ignore[valid-type]
    light: LightName | None = None,  # type: ignore[valid-type]
    overdue: bool = False,
    open_only: bool = False,
    q: str | None = Query(
        None,
        max_length=ledger.MAX_SEARCH,
        description="搜索：编号、标题、描述、反馈、办结情况、办理意见、项目和单位名称中的任意片段；空格分隔多个词（须全部出现）",
    ),
    project: str | None = Query(None, max_length=200, description="项目名称或编号"),
    sort: str = Query(
        ledger.DEFAULT_SORT, max_length=20, description="code、deadline、updated、light、state、level；前加 - 为倒序"
    ),
    page_no: int = Query(
        1, alias="page", ge=1, le=1_000_000_000, description=f"页码（1–{ledger.MAX_PAGE}；更深的页用 cursor）"
    ),
    per_page: int = Query(ledger.DEFAULT_PER_PAGE, ge=1, le=ledger.MAX_PER_PAGE),
    cursor: str | None = Query(
        None, max_length=1000, description="上一次返回的 next_cursor 或 prev_cursor：从该位置继续翻页（与 page 二选一）"
    ),
) -> dict:
    ctx = ctx_of(request)
    lq = LedgerQuery(
        state=state.value if state else "",
        level=level.value if level else "",
        unit=unit or "",
        project=project or "",
        category=category.value if category else "",
        severity=severity.value if severity else "",
        light=light.value if light else "",
        overdue=overdue,
        open_only=open_only,
        q=q or "",
        sort=sort,
        page=page_no,
        per_page=per_page,
        cursor=cursor or "",
    )
    result = ledger.browse(ctx.reader, viewer.login, lq, ctx.today())
    items = []
    for row in result.rows:
        item = {k: v for k, v in row.items() if k not in ("title_marks", "snippet", "rank")}
        if "rank" in row:
            item["match"] = {"rank": row["rank"], "snippet": "".join(text for text, _ in row["snippet"])}
        items.append(item)
    return {
        "total": result.total,
        "total_exact": result.total_exact,
        "page": result.position,
        "per_page": result.query.per_page,
        "pages": result.pages,
        "next_cursor": result.next_cursor,
        "prev_cursor": result.prev_cursor,
        "search_bounded": result.bounded,
        "items": items,
    }


@router.post("/problems", status_code=201, summary="登记问题")
def create_problem(request: Request, body: ProblemIn, viewer: Viewer = Depends(api_viewer)) -> dict:  # type: ignore[valid-type]
    data = body.model_dump(exclude_none=True, mode="json")  # type: ignore[attr-defined]
    problem = ctx_of(request).service.log_fields(viewer.login, data)
    return _detail(request, viewer, problem.code)


@router.get("/problems/{code}", summary="问题详情（含办理记录、通知和当前用户可执行的操作）")
def get_problem(request: Request, code: str, viewer: Viewer = Depends(api_viewer)) -> dict:
    return _detail(request, viewer, code)


@router.get("/problems/{code}/events", summary="问题的办理记录（审计日志）")
def get_events(request: Request, code: str, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    return _detail(request, viewer, code)["history"]


@router.post("/problems/{code}/transitions/{action}", summary="执行工作流操作")
def transition(
    request: Request,
    code: str,
    action: ActionName,  # type: ignore[valid-type]
    body: TransitionIn | None = None,  # type: ignore[valid-type]
    viewer: Viewer = Depends(api_viewer),
) -> dict:
    ctx = ctx_of(request)
    data = body.model_dump(exclude_none=True, mode="json") if body is not None else {}  # type: ignore[attr-defined]
    params = ACTIONS[action.value].read(data)
    problem = ctx.service.act(viewer.login, code, action.value, expected_version=data.get("expected_version"), **params)
    return {**_detail(request, viewer, problem.code), "warnings": list(problem.warnings)}


@router.get("/users", summary="用户列表（邮箱只对管理员和督查室显示）")
def users(request: Request, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    return [u.as_dict() for u in ctx_of(request).admin.users(viewer.login)]


@router.post("/users", status_code=201, summary="新增用户（管理员）")
def add_user(request: Request, body: UserIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    u = ctx_of(request).admin.add_user(
        viewer.login, body.login, body.name, body.unit, body.role.value, body.email, body.password
    )
    return u.as_dict()


@router.post("/users/{login}/active", summary="启用或停用用户（管理员）")
def set_active(request: Request, login: str, active: bool, viewer: Viewer = Depends(api_viewer)) -> dict:
    return ctx_of(request).admin.set_active(viewer.login, login, active).as_dict()


@router.post("/users/{login}/signout", summary="让该用户在所有浏览器上退出登录（管理员或本人）")
def sign_out_everywhere(
    request: Request, login: str = Path(max_length=64), viewer: Viewer = Depends(api_viewer)
) -> dict:
    """结束该用户的全部网页会话（API 令牌不受影响，需另行吊销）。"""
    return {"login": login, "ended": ctx_of(request).admin.sign_out_everywhere(viewer.login, login)}


@router.get("/units", summary="单位名录")
def units(request: Request, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    return [u.as_dict() for u in ctx_of(request).admin.units()]


@router.post("/units", status_code=201, summary="新增单位（管理员）")
def add_unit(request: Request, body: UnitIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    return ctx_of(request).admin.add_unit(viewer.login, body.code, body.name, body.kind.value).as_dict()


@router.get("/projects", summary="项目列表")
def projects(request: Request, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    return [p.as_dict() for p in ctx_of(request).admin.projects()]


@router.post("/projects", status_code=201, summary="登记项目（管理员、督查室）")
def add_project(request: Request, body: ProjectIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    return ctx_of(request).admin.add_project(viewer.login, body.name, body.unit, body.leader).as_dict()


@router.get("/tokens", summary="API 令牌（管理员看全部，其他人只看自己的）")
def tokens(
    request: Request, viewer: Viewer = Depends(api_viewer), login: str | None = Query(None, max_length=64)
) -> list[dict]:
    return [t.as_dict() for t in ctx_of(request).admin.tokens(viewer.login, login)]


@router.post("/tokens", status_code=201, summary="生成 API 令牌（管理员或本人；令牌只显示这一次）")
def create_token(
    request: Request,
    viewer: Viewer = Depends(api_viewer),
    login: str = Query(max_length=64),
    name: str = Query("", max_length=100),
    days: int | None = Query(None, ge=1, le=3650),
) -> dict:
    return {"token": ctx_of(request).admin.create_token(viewer.login, login, name, days)}


@router.post("/tokens/{token_id}/revoke", summary="吊销 API 令牌（管理员或令牌所属用户）")
def revoke_token(
    request: Request, token_id: int = Path(ge=1, le=2_000_000_000), viewer: Viewer = Depends(api_viewer)
) -> dict:
    return ctx_of(request).admin.revoke_token(viewer.login, token_id).as_dict()
