"""Pages about notices: the inbox (站内消息) and each person's delivery choices; for administrators the
channels (work-group robots, SMS numbers) and the outbox with its failures. Thin: every page calls
``service.inbox``, ``service.channels`` or ``service.notices``, which decide who may."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from service import inbox as inbox_svc
from service import notices as notices_svc
from service.channels import ChannelAdmin
from web.auth import check_csrf, ctx_of, read_form, require_viewer
from web.errors import status_for
from web.pages import redirect
from web.render import flash, render
from workflow.errors import DubanError
from workflow.permissions import Manage, require

router = APIRouter()


def channel_settings(request: Request):
    """The delivery settings of this process, read from the environment once."""
    state = request.app.state
    if getattr(state, "channel_settings", None) is None:
        from notifications.channel_config import ChannelSettings

        state.channel_settings = ChannelSettings.from_env()
    return state.channel_settings


def _admin(request: Request) -> ChannelAdmin:
    ctx = ctx_of(request)
    return ChannelAdmin(ctx.engine, ctx.clock, channel_settings(request))


def _form_action(handler, on_error):
    """A POST: read the form, check CSRF, act in the thread pool; a domain error re-renders ``on_error``."""

    async def run(request: Request, **kw):
        form = await read_form(request)

        def work():
            viewer = require_viewer(request)
            check_csrf(request, form.get("csrf_token"))
            try:
                target, text = handler(request, viewer, form, **kw)
            except DubanError as exc:
                return on_error(request, exc, form)
            if text:
                flash(request, text)
            return redirect(target)

        return await run_in_threadpool(work)

    return run


# -- the inbox -----------------------------------------------------------------------------------------


def _inbox_page(request: Request, status: int = 200, error=None, form=None):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    unread_only = request.query_params.get("unread") in ("1", "true", "on")
    items, unread = inbox_svc.inbox(ctx.reader, viewer.login, unread_only=unread_only, limit=100)
    return render(
        request,
        "inbox.html",
        status=status,
        error=error,
        title="站内消息",
        nav="inbox",
        items=items,
        unread_only=unread_only,
    )


@router.get("/inbox")
def inbox_page(request: Request):
    return _inbox_page(request)


def _read_one(request: Request, viewer, form, notice_id: int):
    ctx = ctx_of(request)
    inbox_svc.mark_read(ctx.engine, viewer.login, notice_id, ctx.now())
    target = str(form.get("next") or "")
    return (target if target.startswith("/problems/") else "/inbox"), ""


def _read_all(request: Request, viewer, form):
    ctx = ctx_of(request)
    n = inbox_svc.mark_all_read(ctx.engine, viewer.login, ctx.now())
    return "/inbox", f"已将 {n} 条消息标为已读"


def _inbox_error(request, exc, form):
    return _inbox_page(request, status_for(exc), exc)


_read_one_action = _form_action(_read_one, _inbox_error)
_read_all_action = _form_action(_read_all, _inbox_error)


@router.post("/inbox/{notice_id}/read")
async def inbox_read(request: Request, notice_id: int):
    return await _read_one_action(request, notice_id=notice_id)


@router.post("/inbox/read-all")
async def inbox_read_all(request: Request):
    return await _read_all_action(request)


# -- delivery choices ------------------------------------------------------------------------------------


def _prefs_page(request: Request, status: int = 200, error=None, form=None):
    viewer = require_viewer(request)
    data = inbox_svc.preferences(ctx_of(request).reader, viewer.login)
    return render(request, "preferences.html", status=status, error=error, title="通知设置", nav="prefs", **data)


@router.get("/preferences")
def preferences_page(request: Request):
    return _prefs_page(request)


def _save_prefs(request: Request, viewer, form):
    from notifications.choices import PREFERENCE_KINDS, WAYS

    choices = {kind: [w for w in WAYS if form.get(f"{kind}:{w}") == "1"] for kind in PREFERENCE_KINDS}
    ctx = ctx_of(request)
    inbox_svc.set_preferences(ctx.engine, viewer.login, choices, ctx.now())
    return "/preferences", "已保存通知设置"


_save_prefs_action = _form_action(_save_prefs, lambda r, e, f: _prefs_page(r, status_for(e), e))


@router.post("/preferences")
async def preferences_save(request: Request):
    return await _save_prefs_action(request)


# -- channels (administrators) ---------------------------------------------------------------------------


def _channels_page(request: Request, status: int = 200, error=None, form=None, test=None):
    viewer = require_viewer(request)
    require(Manage.CHANNELS, viewer.actor)
    values = {k: str(v) for k, v in (form or {}).items() if k not in ("csrf_token", "secret", "url")}
    return render(
        request,
        "admin_channels.html",
        status=status,
        error=error,
        title="系统管理",
        nav="admin",
        tab="channels",
        can_users=True,
        channels=_admin(request).list(viewer.login),
        units=[u.as_dict() for u in ctx_of(request).admin.units()],
        values=values,
        test=test,
    )


@router.get("/admin/channels")
def channels_page(request: Request):
    return _channels_page(request)


def _add_channel(request: Request, viewer, form):
    def f(name: str) -> str:
        return str(form.get(name) or "").strip()

    owner = f("owner")
    row = _admin(request).add(
        viewer.login,
        f("name"),
        f("kind"),
        f("url"),
        secret=f("secret") or None,
        keyword=f("keyword") or None,
        unit=f("unit") if owner == "unit" else None,
        user=f("user") if owner == "user" else None,
    )
    return "/admin/channels", f"已登记渠道「{row.name}」（{row.kind_label}，{row.owner}）"


def _set_channel(request: Request, viewer, form, name: str):
    active = str(form.get("active") or "") == "1"
    _admin(request).set_active(viewer.login, name, active)
    return "/admin/channels", f"已{'启用' if active else '停用'}渠道「{name}」"


def _channels_error(request, exc, form):
    return _channels_page(request, status_for(exc), exc, form)


_add_channel_action = _form_action(_add_channel, _channels_error)
_set_channel_action = _form_action(_set_channel, _channels_error)


@router.post("/admin/channels")
async def channels_add(request: Request):
    return await _add_channel_action(request)


@router.post("/admin/channels/{name}/active")
async def channels_active(request: Request, name: str):
    return await _set_channel_action(request, name=name)


@router.post("/admin/channels/{name}/test")
async def channels_test(request: Request, name: str):
    form = await read_form(request)

    def work():
        viewer = require_viewer(request)
        check_csrf(request, form.get("csrf_token"))
        try:
            row, result = _admin(request).test(viewer.login, name)
        except DubanError as exc:
            return _channels_page(request, status_for(exc), exc)
        return _channels_page(request, test={"name": row.name, **result.as_dict()})

    return await run_in_threadpool(work)


# -- the outbox (administrators) -------------------------------------------------------------------------


def _outbox_page(request: Request, status: int = 200, error=None, form=None):
    viewer = require_viewer(request)
    require(Manage.OUTBOX, viewer.actor)
    qp = request.query_params
    wanted_status, channel = qp.get("status", "failed"), qp.get("channel", "")
    rows, counts = notices_svc.listing(ctx_of(request).reader, wanted_status or None, None, channel or None)
    return render(
        request,
        "admin_outbox.html",
        status=status,
        error=error,
        title="系统管理",
        nav="admin",
        tab="outbox",
        can_users=True,
        rows=rows[-300:][::-1],
        counts=counts,
        wanted_status=wanted_status,
        channel=channel,
        statuses=notices_svc.STATUSES,
        channels=notices_svc.CHANNELS,
    )


@router.get("/admin/outbox")
def outbox_page(request: Request):
    return _outbox_page(request)


def _retry(request: Request, viewer, form):
    raw = str(form.get("notice") or "").strip()
    notice_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    ctx = ctx_of(request)
    n = notices_svc.retry_failed(ctx.engine, viewer.login, notice_id, ctx.now())
    return "/admin/outbox", f"已重新排队 {n} 条通知"


_retry_action = _form_action(_retry, lambda r, e, f: _outbox_page(r, status_for(e), e))


@router.post("/admin/outbox/retry")
async def outbox_retry(request: Request):
    return await _retry_action(request)
