"""JSON API of the inbox (站内消息) under /api/v1: read one's messages, mark one or all read; and one's
delivery choices. Same authentication and errors as ``web.api``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from service import inbox as svc
from web.api import Strict
from web.auth import Viewer, api_viewer, ctx_of
from web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


class PreferencesIn(Strict):
    """通知类型 → 接收方式（email、channel、sms、inbox 中的若干个；空数组表示不接收）。"""

    choices: dict[str, list[str]] = Field(max_length=32)


@router.get("/inbox", summary="站内消息（当前用户，最新的在前）")
def get_inbox(
    request: Request,
    viewer: Viewer = Depends(api_viewer),
    unread: bool = Query(False, description="只看未读"),
    limit: int = Query(50, ge=1, le=svc.PAGE_MAX),
) -> dict:
    items, count = svc.inbox(ctx_of(request).reader, viewer.login, unread_only=unread, limit=limit)
    return {"unread": count, "items": [i.as_dict() for i in items]}


@router.post("/inbox/{notice_id}/read", summary="把一条站内消息标为已读")
def read_one(
    request: Request, notice_id: int = Path(ge=1, le=2_000_000_000), viewer: Viewer = Depends(api_viewer)
) -> dict:
    ctx = ctx_of(request)
    svc.mark_read(ctx.engine, viewer.login, notice_id, ctx.now())
    return {"id": notice_id, "unread": svc.unread_count(ctx.engine, viewer.login)}


@router.post("/inbox/read-all", summary="把全部站内消息标为已读")
def read_all(request: Request, viewer: Viewer = Depends(api_viewer)) -> dict:
    ctx = ctx_of(request)
    marked = svc.mark_all_read(ctx.engine, viewer.login, ctx.now())
    return {"marked": marked, "unread": svc.unread_count(ctx.engine, viewer.login)}


@router.get("/preferences", summary="当前用户接收各类通知的方式")
def get_preferences(request: Request, viewer: Viewer = Depends(api_viewer)) -> dict:
    data = svc.preferences(ctx_of(request).reader, viewer.login)
    return {**data, "items": [p.as_dict() for p in data["items"]]}


@router.put("/preferences", summary="设置接收方式（只改所给的通知类型）")
def put_preferences(request: Request, body: PreferencesIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    ctx = ctx_of(request)
    svc.set_preferences(ctx.engine, viewer.login, body.choices, ctx.now())
    return get_preferences(request, viewer)
