"""Jinja2 environment for the pages: autoescape always on (every value a person typed is escaped),
Chinese labels as globals, and one ``render`` that adds the viewer, the CSRF token and the flash."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Undefined
from markupsafe import Markup, escape

from notifications.kinds import channel_label, kind_label, status_label
from web.auth import csrf_token, session_viewer
from workflow.actions import label as action_label
from workflow.evidence import size_text
from workflow.permissions import Manage, may
from workflow.states import Level, Rating, Recipient, Role, State

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _label(enum):
    def label(value):
        try:
            return enum(value).label
        except ValueError:
            return value or "—"

    return label


def options_html(choices, selected, blank: str | None = None) -> Markup:
    """``<option>`` elements for a filter select, built in Python: the ledger page has ~150 of them and
    rendering each through the template costs more than the whole page query."""
    parts = [f'<option value="">{escape(blank)}</option>'] if blank is not None else []
    for value, label in choices:
        mark = " selected" if selected in (value, label) and selected != "" else ""
        parts.append(f'<option value="{escape(value)}"{mark}>{escape(label)}</option>')
    return Markup("".join(parts))


def make_env(tz) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=Undefined, trim_blocks=True, lstrip_blocks=True
    )

    def dt(value) -> str:
        if not value:
            return "—"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    env.filters["dt"] = dt
    env.filters["size"] = size_text
    env.globals.update(
        role_label=_label(Role),
        state_label=_label(State),
        level_label=_label(Level),
        rating_label=_label(Rating),
        recipient_label=_label(Recipient),
        action_label=action_label,
        kind_label=kind_label,
        status_label=status_label,
        channel_label=channel_label,
        options_html=options_html,
    )
    return env


def flash(request: Request, text: str, kind: str = "ok") -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def render(request: Request, template: str, status: int = 200, **data) -> HTMLResponse:
    viewer = session_viewer(request)
    error = data.pop("error", None)
    page = {
        "viewer": viewer,
        "csrf": csrf_token(request),
        "flash": request.session.pop("flash", None) if "flash" in request.session else None,
        "error": {"code": error.code, "message": error.message} if error is not None else None,
        "can_review": bool(viewer and may(Manage.REVIEW, viewer.actor)),
        "can_admin": bool(viewer and may(Manage.USERS, viewer.actor)),
        "can_projects": bool(viewer and may(Manage.PROJECTS, viewer.actor)),
        "can_channels": bool(viewer and may(Manage.CHANNELS, viewer.actor)),
        "unread": _unread(request, viewer.login) if viewer else 0,
        "can_import": bool(viewer and may(Manage.IMPORT_LEDGER, viewer.actor)),
        "can_inspect": bool(viewer and may(Manage.INSPECT, viewer.actor)),
        "upload_limits": request.app.state.duban.limits,
        "title": data.pop("title", "督办"),
    }
    html = request.app.state.jinja.get_template(template).render(**page, **data)
    headers = {"Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _unread(request: Request, login: str) -> int:
    """The header's unread count (one indexed count per page)."""
    from service.inbox import unread_count

    return unread_count(request.app.state.duban.reader, login)
