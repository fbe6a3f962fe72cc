"""The office's documents on the web: the 督办函 register and a letter's page (review, sign, reply, download),
the monthly assessment's 通报 and the campaigns — pages and their JSON API (/api/v1). Thin: every call goes to
``service`` (which decides who may); the pages only show what it returns.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from web.api import Strict
from web.auth import Viewer, api_viewer, check_csrf, ctx_of, read_form, require_viewer
from web.errors import ERROR_RESPONSES, status_for
from web.render import flash, render
from workflow.errors import DubanError
from workflow.permissions import Manage, may

pages = APIRouter()
api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

_MEDIA = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
LetterId = Path(ge=1, le=2_000_000_000)


def _download(name: str, data: bytes, suffix: str, ascii_name: str = "letter") -> Response:
    return Response(
        data,
        media_type=_MEDIA[suffix],
        headers={"Content-Disposition": f"attachment; filename={ascii_name}{suffix}; filename*=UTF-8''{quote(name)}"},
    )


# -- the register and one letter (pages) --------------------------------------------------------------------


@pages.get("/letters")
def letters_page(request: Request, status: str = ""):
    from service import letters

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    rows = letters.register(ctx.reader, viewer.login, ctx.today(), status or None)
    return render(request, "letters.html", title="督办函登记簿", nav="letters", rows=rows, status_filter=status)


def show_letter(request: Request, letter_id: int, error: DubanError | None = None, text: str = ""):
    from service import letters

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    d = letters.get(ctx.reader, viewer.login, letter_id, ctx.today(), ctx.rules)
    return render(
        request,
        "letter.html",
        status=status_for(error) if error else 200,
        title=d["number"] or f"督办函 #{letter_id}",
        nav="letters",
        d=d,
        can_sign=may(Manage.SIGN_LETTERS, viewer.actor),
        error=error,
        reply_text=text,
    )


@pages.get("/letters/{letter_id}")
def letter_page(request: Request, letter_id: int = LetterId):
    return show_letter(request, letter_id)


@pages.post("/letters/{letter_id}/sign")
async def letter_sign_submit(request: Request, letter_id: int = LetterId):
    form = await read_form(request)

    def work():
        from service import letters

        viewer = require_viewer(request)
        check_csrf(request, form.get("csrf_token"))
        ctx = ctx_of(request)
        try:
            d = letters.sign(ctx.engine, ctx.rules, viewer.login, letter_id, ctx.now())
        except DubanError as exc:
            return show_letter(request, letter_id, error=exc)
        flash(request, f"已签发 {d['number']}，已发送责任单位")
        return RedirectResponse(f"/letters/{letter_id}", status_code=303)

    return await run_in_threadpool(work)


@pages.post("/letters/{letter_id}/reply")
async def letter_reply_submit(request: Request, letter_id: int = LetterId):
    form = await read_form(request)

    def work():
        from service import letters

        viewer = require_viewer(request)
        check_csrf(request, form.get("csrf_token"))
        ctx = ctx_of(request)
        text = str(form.get("text") or "")
        try:
            d = letters.reply(ctx.engine, ctx.rules, viewer.login, letter_id, text, ctx.now())
        except DubanError as exc:
            return show_letter(request, letter_id, error=exc, text=text)
        flash(request, f"已回复 {d['number']}")
        return RedirectResponse(f"/letters/{letter_id}", status_code=303)

    return await run_in_threadpool(work)


@pages.get("/letters/{letter_id}/file.{suffix}")
def letter_download(request: Request, suffix: str, letter_id: int = LetterId):
    from service import letters

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    name, data = letters.letter_file(ctx.reader, viewer.login, letter_id, "." + suffix.lower(), ctx.rules)
    return _download(name, data, "." + suffix.lower())


# -- the assessment and the campaigns (pages) ------------------------------------------------------------------


def _assessment(request: Request, month: str):
    from service import assessment

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    return assessment.compute(ctx.reader, ctx.rules, month, ctx.now(), viewer.login), ctx


@pages.get("/reports/assessment")
def assessment_page(request: Request, month: str):
    """考核通报 as a page (HTML with its charts); for a month without data, a page that says so (404) and
    points to the months that have one."""
    from reports.assessment import assessment_html
    from service import assessment
    from workflow.assessment import Month
    from workflow.errors import NotFound

    try:
        a, ctx = _assessment(request, month)
    except NotFound as exc:
        if exc.field != "month":
            raise
        viewer = require_viewer(request)
        kept = assessment.kept_months(ctx_of(request).reader, viewer.login)
        heading = f"{Month.parse(month).label}没有考核数据"
        return render(
            request, "assessment_missing.html", status=404, title=heading, heading=heading, error=exc, kept=kept
        )
    return HTMLResponse(assessment_html(a, ctx.rules))


@pages.get("/reports/assessment.{suffix}")
def assessment_download(request: Request, month: str, suffix: str):
    import tempfile
    from pathlib import Path as FilePath

    from reports.assessment import assessment_docx, assessment_pdf
    from workflow.errors import NotFound

    a, ctx = _assessment(request, month)
    name = f"考核通报-{a.month.slug}.{suffix}"
    if suffix == "pdf":
        return _download(name, assessment_pdf(a, ctx.rules), ".pdf", f"assessment-{a.month.slug}")
    if suffix != "docx":
        raise NotFound(f"没有 .{suffix[:10]} 格式的考核通报，可选 .pdf、.docx", field="suffix", value=suffix)
    with tempfile.TemporaryDirectory(prefix="duban-assessment-") as tmp:
        path = assessment_docx(a, ctx.rules, FilePath(tmp) / "a.docx")
        return _download(name, path.read_bytes(), ".docx", f"assessment-{a.month.slug}")


@pages.get("/campaigns")
def campaigns_page(request: Request):
    from service import campaigns

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    rows = campaigns.listing(ctx.reader, ctx.rules, viewer.login, ctx.today())
    return render(request, "campaigns.html", title="专项行动", nav="campaigns", rows=rows)


def _campaign_summary(request: Request, name: str):
    from reports.campaign import build

    viewer = require_viewer(request)
    ctx = ctx_of(request)
    return build(ctx.reader, ctx.rules, name, ctx.today(), viewer.login)


@pages.get("/campaigns/{name}/summary")
def campaign_summary_page(request: Request, name: str = Path(max_length=64)):
    """专项行动总结 as a page: the target and how far it was met, per unit and kind, the problems still open."""
    from reports.campaign import campaign_html

    return HTMLResponse(campaign_html(_campaign_summary(request, name)))


@pages.get("/campaigns/{name}/summary.docx")
def campaign_summary_docx(request: Request, name: str = Path(max_length=64)):
    import tempfile
    from pathlib import Path as FilePath

    from reports.campaign import campaign_docx

    summary = _campaign_summary(request, name)
    with tempfile.TemporaryDirectory(prefix="duban-campaign-") as tmp:
        path = campaign_docx(summary, FilePath(tmp) / "c.docx")
        return _download(f"{summary['progress']['name']}总结.docx", path.read_bytes(), ".docx", "campaign-summary")


# -- JSON API ------------------------------------------------------------------------------------------------


class ReplyIn(Strict):
    text: str = Field(min_length=1, max_length=5000, description="回复内容（即“13710”反馈办理情况）")


class CampaignIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    start: date
    end: date
    target: str | None = Field(default=None, max_length=16, description="期末销号率目标（%），不填为 100")


class IncludeIn(Strict):
    codes: list[str] = Field(min_length=1, max_length=500)


@api.get("/letters", summary="督办函登记簿")
def api_letters(
    request: Request,
    viewer: Viewer = Depends(api_viewer),
    status: str | None = Query(None, max_length=16, description="draft、signed、replied、closed、void"),
) -> list[dict]:
    from service import letters

    ctx = ctx_of(request)
    return letters.register(ctx.reader, viewer.login, ctx.today(), status)


@api.get("/letters/{letter_id}", summary="一份督办函（待签发的含签发前全文）")
def api_letter(request: Request, letter_id: int = LetterId, viewer: Viewer = Depends(api_viewer)) -> dict:
    from service import letters

    ctx = ctx_of(request)
    return letters.get(ctx.reader, viewer.login, letter_id, ctx.today(), ctx.rules)


@api.post("/letters/{letter_id}/sign", summary="签发督办函（督查室人员）")
def api_sign(request: Request, letter_id: int = LetterId, viewer: Viewer = Depends(api_viewer)) -> dict:
    from service import letters

    ctx = ctx_of(request)
    return letters.sign(ctx.engine, ctx.rules, viewer.login, letter_id, ctx.now())


@api.post("/letters/{letter_id}/reply", summary="回复督办函（责任单位）")
def api_reply(request: Request, body: ReplyIn, letter_id: int = LetterId, viewer: Viewer = Depends(api_viewer)) -> dict:
    from service import letters

    ctx = ctx_of(request)
    return letters.reply(ctx.engine, ctx.rules, viewer.login, letter_id, body.text, ctx.now())


@api.get("/letters/{letter_id}/file", summary="下载已签发的督办函（pdf 或 docx）")
def api_letter_file(
    request: Request,
    letter_id: int = LetterId,
    format: str = Query("pdf", pattern="^(pdf|docx)$"),
    viewer: Viewer = Depends(api_viewer),
):
    from service import letters

    ctx = ctx_of(request)
    name, data = letters.letter_file(ctx.reader, viewer.login, letter_id, "." + format, ctx.rules)
    return _download(name, data, "." + format)


@api.get("/reports/assessment", summary="月度考核（各单位得分、分组排名和各项指标）")
def api_assessment(
    request: Request,
    month: str = Query(max_length=16, description="考核月份，如 2024-01"),
    viewer: Viewer = Depends(api_viewer),
) -> dict:
    from service import assessment

    ctx = ctx_of(request)
    return assessment.compute(ctx.reader, ctx.rules, month, ctx.now(), viewer.login).as_dict()


@api.get("/reports/assessment/trend", summary="历月考核得分（已保存的月份）")
def api_assessment_trend(
    request: Request, unit: str | None = Query(None, max_length=128), viewer: Viewer = Depends(api_viewer)
) -> list[dict]:
    from service import assessment

    return assessment.trend(ctx_of(request).reader, viewer.login, unit)


@api.get("/campaigns", summary="专项行动及其进度")
def api_campaigns(request: Request, viewer: Viewer = Depends(api_viewer)) -> list[dict]:
    from service import campaigns

    ctx = ctx_of(request)
    return campaigns.listing(ctx.reader, ctx.rules, viewer.login, ctx.today())


@api.get("/campaigns/{name}", summary="一个专项行动的进度")
def api_campaign(request: Request, name: str = Path(max_length=64), viewer: Viewer = Depends(api_viewer)) -> dict:
    from service import campaigns

    ctx = ctx_of(request)
    return campaigns.show(ctx.reader, ctx.rules, viewer.login, name, ctx.today())


@api.get("/campaigns/{name}/summary", summary="专项行动总结（目标完成情况、各单位和各类问题、未销号问题）")
def api_campaign_summary(
    request: Request, name: str = Path(max_length=64), viewer: Viewer = Depends(api_viewer)
) -> dict:
    from reports.campaign import build

    ctx = ctx_of(request)
    return build(ctx.reader, ctx.rules, name, ctx.today(), viewer.login)


@api.post("/campaigns", status_code=201, summary="登记专项行动（管理员、督查室）")
def api_add_campaign(request: Request, body: CampaignIn, viewer: Viewer = Depends(api_viewer)) -> dict:
    from service import campaigns

    ctx = ctx_of(request)
    c = campaigns.add(ctx.engine, ctx.rules, viewer.login, body.name, body.start, body.end, body.target, ctx.now())
    return campaigns.show(ctx.reader, ctx.rules, viewer.login, c.name, ctx.today())


@api.post("/campaigns/{name}/problems", summary="把问题纳入专项行动（管理员、督查室）")
def api_include(
    request: Request, body: IncludeIn, name: str = Path(max_length=64), viewer: Viewer = Depends(api_viewer)
) -> dict:
    from service import campaigns

    ctx = ctx_of(request)
    added = campaigns.include(ctx.engine, ctx.rules, viewer.login, name, body.codes, ctx.now())
    return {"added": added, **campaigns.show(ctx.reader, ctx.rules, viewer.login, name, ctx.today())}
