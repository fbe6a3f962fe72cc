"""Evidence in the web workspace: downloading a file and its thumbnail, the inspections of a month with the
month's plan, recording an inspection (photos from the phone's camera), the month's bulletin, and importing
a ledger workbook from the browser (checked row by row, then confirmed, with the import's progress).

Downloads are always ``Content-Disposition: attachment`` with the type decided when the file was accepted
(never HTML or SVG: those are refused at the door), ``nosniff`` and a sandboxing CSP, for whoever may see the
problem (the service checks).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from service import directory, import_stage, ledger
from service.inspections import FollowUpProblem
from web.auth import check_csrf, ctx_of, read_form, require_viewer
from web.errors import CsrfFailed, status_for
from web.render import flash, render
from web.uploads import Received, receive, received_form
from workflow.errors import DubanError, MissingField
from workflow.evidence import FileKind
from workflow.inspections import Finding, Month
from workflow.permissions import Manage
from workflow.states import Category

log = logging.getLogger(__name__)
router = APIRouter()

DOWNLOAD_CSP = "default-src 'none'; sandbox"


def download(info, chunks) -> StreamingResponse:
    """A stored file as a download: its own type, never shown in the page, never sniffed."""
    fallback = f"attachment-{info.id}{FileKind(info.kind).extensions[0]}"
    return StreamingResponse(
        chunks,
        media_type=info.media_type,
        headers={
            "Content-Disposition": f"attachment; filename={fallback}; filename*=UTF-8''{quote(info.name)}",
            "Content-Length": str(info.size),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "ETag": f'"{info.sha256}"',
        },
    )


def thumbnail(attachment_id: int, data: bytes) -> Response:
    """Our own JPEG thumbnail (made by Pillow, never the uploaded bytes): safe to show inline."""
    return Response(
        data,
        media_type="image/jpeg",
        headers={
            "Content-Disposition": f"inline; filename=thumb-{attachment_id}.jpg",
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cache-Control": "private, max-age=86400",
        },
    )


@router.get("/attachments/{attachment_id}")
def attachment_download(request: Request, attachment_id: int):
    viewer = require_viewer(request)
    info, chunks = ctx_of(request).files.content(viewer.login, attachment_id)
    return download(info, chunks)


@router.get("/attachments/{attachment_id}/thumb")
def attachment_thumb(request: Request, attachment_id: int):
    viewer = require_viewer(request)
    return thumbnail(attachment_id, ctx_of(request).files.thumbnail(viewer.login, attachment_id))


# -- inspections ----------------------------------------------------------------------------------------


def _month(request: Request, text: str) -> Month:
    return Month.parse(text) if text else Month.of(ctx_of(request).today())


@router.get("/inspections")
def inspections_page(request: Request, month: str = ""):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    m = _month(request, month)
    prev = Month(m.year - (m.month == 1), 12 if m.month == 1 else m.month - 1)
    return render(
        request,
        "inspections.html",
        title=f"督查记录 {m.label}",
        nav="inspections",
        month=m,
        prev=prev,
        next=m.next(),
        visits=ctx.inspections.month(viewer.login, m),
        plan=ctx.inspections.plan(viewer.login, m),
    )


def _inspection_form(request: Request, values: dict, error: DubanError | None = None):
    ctx = ctx_of(request)
    return render(
        request,
        "inspection_new.html",
        status=status_for(error) if error else 200,
        title="记录督查",
        nav="inspections",
        opts=ledger.filter_choices(ctx.reader),
        findings=[(f.value, f.label) for f in Finding],
        categories=[(c.value, c.label) for c in Category],
        values=values,
        error=error,
    )


@router.get("/inspections/new")
def inspection_form(request: Request, project: str = "", problem: str = ""):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    directory.authorize(ctx.reader, viewer.login, Manage.INSPECT)
    values = {"project": project, "problems": problem, "date": ctx.today().isoformat(), "inspectors": viewer.name}
    return _inspection_form(request, values)


_INSPECTION_FIELDS = (
    "project",
    "date",
    "place",
    "inspectors",
    "seen",
    "checked",
    "finding",
    "problems",
    "note",
    "new_title",
    "new_category",
    "new_description",
)


@router.post("/inspections/new")
async def inspection_submit(request: Request):
    async with received_form(request) as received:
        return await run_in_threadpool(_record, request, received)


def _record(request: Request, received: Received):
    viewer = require_viewer(request)
    form = received.form
    if received.error is None:
        check_csrf(request, form.get("csrf_token"))
    ctx = ctx_of(request)
    values = {k: str(form.get(k) or "").strip() for k in _INSPECTION_FIELDS}
    try:
        if received.error is not None:
            raise received.error
        follow = None
        if values["new_title"]:
            follow = FollowUpProblem(values["new_title"], values["new_category"], values["new_description"])
        info = ctx.inspections.record(
            viewer.login,
            values["project"],
            values["date"],
            values["seen"],
            values["finding"],
            inspectors=values["inspectors"],
            place=values["place"],
            checked=values["checked"],
            problems=values["problems"].replace("，", " ").replace(",", " ").split(),
            note=values["note"],
            new_problem=follow,
            attachments=received.batch,
        )
    except DubanError as exc:
        return _inspection_form(request, values, exc)
    photos = f"，照片/材料 {len(info.files)} 个" if info.files else ""
    flash(request, f"已记录督查：{info.project}（{info.finding.label}）{photos}")
    return RedirectResponse(f"/inspections/{info.id}", status_code=303)


@router.get("/inspections/{inspection_id}")
def inspection_view(request: Request, inspection_id: int):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    info = ctx.inspections.get(viewer.login, inspection_id)
    files = [f.as_dict(ctx.rules.timezone) for f in info.files]
    return render(request, "inspection.html", title=f"督查记录 #{info.id}", nav="inspections", i=info, files=files)


@router.get("/reports/inspections")
def bulletin_page(request: Request, month: str):
    from reports.inspections import build, bulletin_html

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    b = build(ctx.reader, ctx.rules, Month.parse(month), ctx.now(), viewer.login)
    return HTMLResponse(bulletin_html(b, ctx.rules))


@router.get("/reports/inspections.docx")
def bulletin_docx_download(request: Request, month: str):
    from reports.inspections import build
    from reports.inspections_docx import bulletin_docx
    from web.reports_pages import _file

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    m = Month.parse(month)
    b = build(ctx.reader, ctx.rules, m, ctx.now(), viewer.login)
    return _file(lambda path: bulletin_docx(b, ctx.rules, path), "docx", f"督查通报-{m}")


# -- importing a ledger from the browser ----------------------------------------------------------------


@router.get("/import")
def import_form(request: Request):
    viewer = require_viewer(request)
    directory.authorize(ctx_of(request).reader, viewer.login, Manage.IMPORT_LEDGER)
    return render(request, "import.html", title="导入台账", nav="import")


@router.post("/import")
async def import_upload(request: Request):
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    await run_in_threadpool(directory.authorize, ctx.reader, viewer.login, Manage.IMPORT_LEDGER)
    batch = ctx.service.store.batch(ctx.limits)
    try:
        fields = await receive(request, batch, lambda t: check_csrf(request, t), "csrf_token", classify=False)
        if len(fields.files) != 1:
            raise MissingField("请选择一个台账文件（.xlsx 或 .csv）", field="file", label="台账文件")
        name, path, _size = fields.files[0]
        token = await run_in_threadpool(import_stage.stage, ctx.engine, viewer.login, name, path, ctx.now())
    except CsrfFailed:
        raise
    except DubanError as exc:
        return render(request, "import.html", status=status_for(exc), title="导入台账", nav="import", error=exc)
    finally:
        batch.close()
    return await _run_import(request, token, dry_run=True)


@router.post("/import/{token}")
async def import_commit(request: Request, token: str):
    form = await read_form(request)
    require_viewer(request)
    check_csrf(request, form.get("csrf_token"))
    return await _run_import(request, token, dry_run=False)


_PHASES = {"read": "读取", "check": "逐行检查", "write": "写入"}
_DRY_PHASES = {**_PHASES, "write": "试写（检查后撤销）"}  # a check runs the write too, then rolls it back
PROGRESS_MARK, RESULT_MARK = "<!--progress-->", "<!--result-->"


async def _run_import(request: Request, token: str, dry_run: bool) -> StreamingResponse:
    """The check or the import, streamed: the page's head at once, a progress line as each phase advances
    (the stylesheet shows only the latest), then the row-by-row result. Works without JavaScript."""
    viewer = require_viewer(request)
    ctx = ctx_of(request)
    name = await run_in_threadpool(import_stage.staged_name, ctx.engine, viewer.login, token)
    title = "导入台账：逐行检查" if dry_run else "导入台账：正在导入"
    page = render(request, "import_run.html", title=title, nav="import", name=name, dry_run=dry_run).body.decode()
    head, rest = page.split(PROGRESS_MARK, 1)
    middle, tail = rest.split(RESULT_MARK, 1)
    result_template = request.app.state.jinja.get_template("_import_result.html")
    csrf = request.session.get("csrf", "")

    async def body():
        yield head
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def tick(phase: str, advance: int, total: int | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, ("tick", phase, advance, total))

        def work() -> None:
            try:
                report = import_stage.run(ctx.engine, ctx.rules, ctx.now(), viewer.login, token, dry_run, tick)
                loop.call_soon_threadsafe(queue.put_nowait, ("done", report))
            except DubanError as exc:
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            except Exception:  # noqa: BLE001 — shown as one line; the details go to the log
                log.exception("ledger import from the browser failed")
                loop.call_soon_threadsafe(queue.put_nowait, ("error", DubanError("服务器内部错误，未导入任何数据")))

        job = loop.run_in_executor(None, work)
        done: dict[str, int] = {}
        shown: dict[str, int] = {}
        while True:
            item = await queue.get()
            if item[0] != "tick":
                break
            _, phase, advance, total = item
            done[phase] = done.get(phase, 0) + advance
            step = max(1, (total or 1000) // 20)
            if done[phase] - shown.get(phase, -step) >= step or (total and done[phase] >= total):
                shown[phase] = done[phase]
                yield _progress_line((_DRY_PHASES if dry_run else _PHASES).get(phase, phase), done[phase], total)
        await job
        report = item[1] if item[0] == "done" else None
        error = item[1] if item[0] == "error" else None
        yield middle
        yield result_template.render(report=report, error=error, dry_run=dry_run, token=token, csrf=csrf)
        yield tail

    return StreamingResponse(
        body(), media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


def _progress_line(phase: str, done: int, total: int | None) -> str:
    if total:
        return f'<p class="step">{phase}：{done} / {total} <progress max="{total}" value="{done}"></progress></p>\n'
    return f'<p class="step">{phase}：{done} 行</p>\n'
