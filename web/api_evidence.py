"""The JSON API for evidence and inspections, under /api/v1: a problem's files (list, multipart upload with
any action that carries files, download, thumbnail) and inspections (a month's records with its plan, one
record, recording one with photos). Uploads are read as they stream in (``web.uploads``): over a limit is
413 before the rest is read. Authentication as for the rest of the API (``web.auth.api_viewer``), checked
before the body is read.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from service.inspections import FollowUpProblem
from web.auth import Viewer, api_viewer, ctx_of
from web.errors import ERROR_RESPONSES, UPLOAD_RESPONSES
from web.evidence_pages import download, thumbnail
from web.uploads import Fields, receive
from workflow.actions import ACTIONS, EVIDENCE_ACTIONS, USER_ACTIONS
from workflow.errors import InvalidValue
from workflow.inspections import Finding, Month

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

FILE_ACTIONS = [a for a in EVIDENCE_ACTIONS if a in USER_ACTIONS]
_FILES = {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "文件，可多个"}


def _text_fields(names) -> dict:
    out: dict = {}
    for action in names:
        for f in ACTIONS[action].fields:
            prop: dict = {"type": "string", "maxLength": f.max_length, "description": f.label}
            if f.choices:
                prop["enum"] = [v for v, _ in f.choices]
            out.setdefault(f.name, prop)
    return out


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": _FILES,
                        "action": {
                            "type": "string",
                            "enum": FILE_ACTIONS,
                            "default": "attach",
                            "description": "随哪个操作上传（默认 attach 上传附件）；其余字段为该操作的字段",
                        },
                        "expected_version": {"type": "integer", "minimum": 1, "maximum": 2_000_000_000},
                        **_text_fields(FILE_ACTIONS),
                    },
                }
            }
        },
    }
}

INSPECTION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["project", "seen", "finding"],
                    "properties": {
                        "project": {"type": "string", "maxLength": 200, "description": "督查项目（名称或编号）"},
                        "date": {"type": "string", "format": "date", "description": "督查日期（默认今天）"},
                        "place": {"type": "string", "maxLength": 200, "description": "督查地点"},
                        "inspectors": {"type": "string", "maxLength": 200, "description": "督查人员"},
                        "seen": {"type": "string", "maxLength": 5000, "description": "看现场"},
                        "checked": {"type": "string", "maxLength": 5000, "description": "查资料"},
                        "finding": {"type": "string", "enum": [f.value for f in Finding], "description": "督查结论"},
                        "problem": {"type": "array", "items": {"type": "string"}, "description": "涉及的问题编号"},
                        "note": {"type": "string", "maxLength": 5000, "description": "跟进备注（写入涉及的问题）"},
                        "new_title": {"type": "string", "maxLength": 200, "description": "跟进：登记新问题的标题"},
                        "new_category": {"type": "string", "description": "新问题的类型"},
                        "new_description": {"type": "string", "maxLength": 5000, "description": "新问题的描述"},
                        "files": _FILES,
                    },
                }
            }
        },
    }
}


def _version(fields: Fields) -> int | None:
    raw = (fields.get("expected_version") or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 2_000_000_000:
        raise InvalidValue(f"expected_version「{raw[:20]}」应为正整数", field="expected_version", value=raw)
    return int(raw)


@router.get("/problems/{code}/attachments", summary="问题的附件（佐证材料）列表")
def list_attachments(request: Request, code: str, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    ctx = ctx_of(request)
    return [a.as_dict(ctx.rules.timezone) for a in ctx.files.for_problem(viewer.login, code)]


@router.post(
    "/problems/{code}/attachments",
    status_code=201,
    summary="上传附件（multipart；可随申请销号、反馈、备注、销号、退回等操作一并上传）",
    openapi_extra=UPLOAD_BODY,
    responses=UPLOAD_RESPONSES,
)
async def upload(request: Request, code: str, viewer: Viewer = Depends(api_viewer)) -> dict:
    ctx = ctx_of(request)
    batch = ctx.service.store.batch(ctx.limits)
    try:
        fields = await receive(request, batch)
        action = (fields.get("action") or "attach").strip()
        if action not in FILE_ACTIONS:
            raise InvalidValue(
                f"操作「{action[:40]}」不能附带文件，可选：{'、'.join(FILE_ACTIONS)}", field="action", value=action
            )
        params = ACTIONS[action].read(fields)
        version = _version(fields)
        done = await run_in_threadpool(
            lambda: ctx.service.act(viewer.login, code, action, expected_version=version, attachments=batch, **params)
        )
    finally:
        batch.close()
    files = {a.id: a for a in ctx.files.for_problem(viewer.login, done.code)}
    return {
        "code": done.code,
        "action": action,
        "state": done.state,
        "version": done.version,
        "attachments": [files[i].as_dict(ctx.rules.timezone) for i in done.attachment_ids],
    }


_BINARY = {200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/attachments/{attachment_id}", summary="下载附件（始终以附件形式下载）", responses=_BINARY)
def get_attachment(
    request: Request, attachment_id: int = Path(ge=1, le=2_000_000_000), viewer: Viewer = Depends(api_viewer)
):
    info, chunks = ctx_of(request).files.content(viewer.login, attachment_id)
    return download(info, chunks)


@router.get(
    "/attachments/{attachment_id}/thumbnail",
    summary="图片附件的缩略图（JPEG）",
    responses={200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}},
)
def get_thumbnail(
    request: Request, attachment_id: int = Path(ge=1, le=2_000_000_000), viewer: Viewer = Depends(api_viewer)
):
    return thumbnail(attachment_id, ctx_of(request).files.thumbnail(viewer.login, attachment_id))


@router.get("/inspections", summary="一个月的督查记录和督查计划")
def list_inspections(
    request: Request,
    month: str | None = Query(None, max_length=20, description="月份，如 2024-03（默认本月）"),
    viewer: Viewer = Depends(api_viewer),
) -> dict:
    ctx = ctx_of(request)
    m = Month.parse(month) if month else Month.of(ctx.today())
    plan = ctx.inspections.plan(viewer.login, m)
    return {
        "month": str(m),
        "inspections": [i.as_dict(ctx.rules.timezone) for i in ctx.inspections.month(viewer.login, m)],
        "plan": plan.as_dict(),
    }


@router.get("/inspections/{inspection_id}", summary="一条督查记录")
def get_inspection(
    request: Request, inspection_id: int = Path(ge=1, le=2_000_000_000), viewer: Viewer = Depends(api_viewer)
) -> dict:
    ctx = ctx_of(request)
    return ctx.inspections.get(viewer.login, inspection_id).as_dict(ctx.rules.timezone)


@router.post(
    "/inspections",
    status_code=201,
    summary="记录督查（multipart：看现场、查资料、照片、结论、跟进）",
    openapi_extra=INSPECTION_BODY,
    responses=UPLOAD_RESPONSES,
)
async def record_inspection(request: Request, viewer: Viewer = Depends(api_viewer)) -> dict:
    ctx = ctx_of(request)
    batch = ctx.service.store.batch(ctx.limits)
    try:
        f = await receive(request, batch)
        title = (f.get("new_title") or "").strip()
        follow = FollowUpProblem(title, f.get("new_category") or "", f.get("new_description") or "") if title else None
        info = await run_in_threadpool(
            lambda: ctx.inspections.record(
                viewer.login,
                f.get("project") or "",
                f.get("date") or ctx.today(),
                f.get("seen") or "",
                f.get("finding") or "",
                inspectors=f.get("inspectors"),
                place=f.get("place") or "",
                checked=f.get("checked") or "",
                problems=f.getlist("problem"),
                note=f.get("note") or "",
                new_problem=follow,
                attachments=batch,
            )
        )
    finally:
        batch.close()
    return info.as_dict(ctx.rules.timezone)
