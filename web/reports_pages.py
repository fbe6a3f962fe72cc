"""Report downloads in the web workspace: the dispatch report (调度通报) and the meeting agenda (会议议题),
the same documents ``duban report dispatch`` / ``duban report agenda`` write. Everyone logged in may read
them, as everyone may read the ledger."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.background import BackgroundTask

from web.auth import ctx_of, require_viewer

router = APIRouter()

_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _dispatch(request: Request, period: str, half: str | None):
    from reports.dispatch import Period, build

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    return build(ctx.reader, ctx.rules, Period.parse(period, half or None), ctx.now(), viewer.login), ctx


@router.get("/reports/dispatch")
def dispatch_page(request: Request, period: str, half: str | None = None):
    """调度通报 as a page (HTML with its charts embedded)."""
    from reports.dispatch_render import dispatch_html

    report, ctx = _dispatch(request, period, half)
    return HTMLResponse(dispatch_html(report, ctx.rules, ctx.now()))


@router.get("/reports/dispatch.xlsx")
def dispatch_xlsx_download(request: Request, period: str, half: str | None = None):
    from reports.dispatch_render import dispatch_xlsx

    report, ctx = _dispatch(request, period, half)
    return _file(
        lambda path: dispatch_xlsx(report, ctx.rules, path), "xlsx", f"调度通报-{period}{'-' + half if half else ''}"
    )


def _agenda(request: Request, meeting: str):
    from reports.agenda import build, parse_meeting_date

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    return build(ctx.reader, ctx.rules, parse_meeting_date(meeting), ctx.now(), viewer.login), ctx


@router.get("/reports/agenda")
def agenda_page(request: Request, meeting: str):
    """会议议题 as a print-ready page."""
    from reports.agenda import agenda_html

    agenda, ctx = _agenda(request, meeting)
    return HTMLResponse(agenda_html(agenda, ctx.rules))


@router.get("/reports/agenda.docx")
def agenda_docx_download(request: Request, meeting: str):
    from reports.agenda_docx import agenda_docx

    agenda, ctx = _agenda(request, meeting)
    return _file(lambda path: agenda_docx(agenda, ctx.rules, path), "docx", f"会议议题-{meeting}")


def _file(write, suffix: str, name: str):
    tmpdir = Path(tempfile.mkdtemp(prefix="duban-report-"))
    target = tmpdir / f"report.{suffix}"

    def cleanup():
        target.unlink(missing_ok=True)
        tmpdir.rmdir()

    try:
        write(target)
    except BaseException:
        cleanup()
        raise
    return FileResponse(
        target,
        media_type=_MEDIA[suffix],
        headers={
            "Content-Disposition": f"attachment; filename=report.{suffix}; "
            f"filename*=UTF-8''{quote(name + '.' + suffix)}"
        },
        background=BackgroundTask(cleanup),
    )
