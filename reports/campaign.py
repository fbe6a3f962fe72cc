"""A campaign's summary (专项行动总结): the target and how far it was met, per responsible unit and per kind
of problem, and the problems still open — HTML and Word. Run at the end of a campaign (the scheduler also
mails the figures once it has ended) or at any time for the progress so far."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from models.db import reader
from models.db import session as open_session
from service import campaigns, directory
from workflow.permissions import Manage
from workflow.rules import Rules
from workflow.states import Category, Level, Light, State


def build(engine, rules: Rules, name: str, today: date, login: str | None) -> dict:
    directory.authorize(engine, login, Manage.REPORTS)
    with open_session(reader(engine)) as session:
        c = campaigns.find(session, rules, name)
        progress = campaigns.progress(session, rules, c, today)
        rows = campaigns.items(session, rules, c, open_only=False)
        from sqlalchemy import select

        from models.tables import Problem

        cats = dict(
            session.execute(select(Problem.code, Problem.category).where(campaigns.member_condition(c, rules))).all()
        )
    units: dict[str, Counter] = {}
    kinds: dict[str, Counter] = {}
    for r in rows:
        closed = r["state"] == State.CLOSED
        for key, table in ((r["unit"] or "（未交办）", units), (Category(cats[r["code"]]).label, kinds)):
            table.setdefault(key, Counter(total=0, closed=0, open=0))["total"] += 1
            table[key]["closed" if closed else "open"] += 1
    open_items = [
        {
            **r,
            "light_label": Light(r["light"]).label,
            "level_label": Level(r["level"]).label,
            "state_label": State(r["state"]).label,
        }
        for r in rows
        if r["state"] != State.CLOSED
    ]
    return {
        "progress": progress,
        "by_unit": [{"unit": k, **v} for k, v in sorted(units.items(), key=lambda kv: (-kv[1]["open"], kv[0]))],
        "by_category": [{"category": k, **v} for k, v in sorted(kinds.items())],
        "open_items": open_items,
        "as_of": today.isoformat(),
    }


def campaign_html(summary: dict) -> str:
    from reports.dispatch_render import environment

    return environment().get_template("campaign.html").render(s=summary, p=summary["progress"])


def campaign_docx(summary: dict, path: Path) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    from reports.agenda_docx import BODY_FONT, HEAD_FONT, TITLE_FONT, _font, _page_number_footer, _para

    p = summary["progress"]
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _page_number_footer(section)
    _para(doc, f"{p['name']}问题办理情况总结", TITLE_FONT, 22, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(doc)
    rate = "—" if p["rate"] is None else f"{p['rate'] * 100:.1f}%"
    _para(
        doc,
        f"{p['name']}自{p['start']}至{p['end']}，目标为{p['target_label']}。纳入行动的问题共{p['total']}个，"
        f"截至{summary['as_of']}已销号{p['closed']}个（其中行动期内销号{p['closed_by_end']}个），销号率{rate}，"
        f"{'已完成' if p['met'] else '未完成'}行动目标；未销号{p['open']}个，其中超期{p['overdue']}个。",
    )
    for title, rows, key in (
        ("一、各单位办理情况", summary["by_unit"], "unit"),
        ("二、各类问题", summary["by_category"], "category"),
    ):
        _para(doc, title, HEAD_FONT, 16)
        t = doc.add_table(rows=1, cols=4)
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, ("单位" if key == "unit" else "问题类型", "问题数", "已销号", "未销号")):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), HEAD_FONT, 10.5)
        for r in rows:
            for cell, text in zip(t.add_row().cells, (r[key], r.get("total", 0), r.get("closed", 0), r.get("open", 0))):
                cell.text = ""
                _font(cell.paragraphs[0].add_run(str(text)), BODY_FONT, 10.5)
    _para(doc, "三、未销号问题", HEAD_FONT, 16)
    for i, r in enumerate(summary["open_items"], start=1):
        _para(
            doc,
            f"{i}. {r['code']} {r['title']}（{r['unit'] or '未交办'}，{r['state_label']}，办结时限 {r['deadline'] or '—'}）",
        )
    if not summary["open_items"]:
        _para(doc, "无。")
    doc.core_properties.title = f"{p['name']}问题办理情况总结"
    doc.save(path)
    return Path(path)


def write_campaign(summary: dict, rules: Rules, out_dir: Path) -> list[Path]:
    slug = f"campaign-{summary['progress']['start']}"
    html = out_dir / f"{slug}.html"
    html.write_text(campaign_html(summary), encoding="utf-8")
    return [html, campaign_docx(summary, out_dir / f"{slug}.docx")]
