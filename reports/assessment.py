"""The monthly assessment's 通报 (考核通报): HTML with SVG charts, the same as PDF (WeasyPrint, Noto CJK), and
a Word document (python-docx, GB/T 9704 body; the score chart as a PNG drawn with Pillow).

``service.assessment`` computes the figures; this module only lays them out.
"""

from __future__ import annotations

import io
import logging
import subprocess
from datetime import date
from pathlib import Path

from reports import charts
from service.assessment import Assessment
from workflow.office_rules import INDICATORS
from workflow.rules import Rules

log = logging.getLogger(__name__)
TITLE = "阳城县项目建设问题办理月度考核通报"


def _month_tick(d: date) -> str:
    return f"{d.year}-{d.month:02d}"


def score_chart(a: Assessment, group: str) -> str:
    bars = [(f"{r.rank}. {r.unit}", round(r.score)) for r in a.rows if r.group == group]
    return charts.bar_chart(f"{group}得分（{a.month.label}）", bars, colour=charts.BLUE, empty="本组无考核单位")


def trend_chart(a: Assessment) -> str:
    """Each group's average score over the kept months."""
    months = sorted({m for points in a.trend.values() for m, _ in points})
    if len(months) < 2:
        return ""
    groups = {r.unit: r.group for r in a.rows}
    series = []
    colours = [charts.BLUE, charts.GREEN, charts.RED, "#8e44ad", "#d48806"]
    for i, group in enumerate(g for g in a.groups if g in groups.values()):
        values = []
        for m in months:
            scores = [s for u, pts in a.trend.items() if groups.get(u) == group for mm, s in pts if mm == m]
            values.append(round(sum(scores) / len(scores)) if scores else 0)
        series.append((f"{group}平均", colours[i % len(colours)], values))
    days = [date(int(m[:4]), int(m[5:]), 1) for m in months]
    return charts.line_chart("各组平均得分走势", days, series, tick=_month_tick)


def _columns(rules: Rules) -> list[tuple[str, str]]:
    return [(i.key, INDICATORS[i.key][0]) for i in rules.assessment.indicators]


def assessment_html(a: Assessment, rules: Rules) -> str:
    from reports.dispatch_render import environment

    return (
        environment()
        .get_template("assessment.html")
        .render(
            a=a,
            title=TITLE,
            columns=_columns(rules),
            weights={i.key: i for i in rules.assessment.indicators},
            charts={g: score_chart(a, g) for g in a.groups},
            trend=trend_chart(a),
            generated=f"{a.computed_at.astimezone(rules.timezone):%Y-%m-%d %H:%M}",
            total=rules.assessment.total,
        )
    )


def assessment_pdf(a: Assessment, rules: Rules) -> bytes:
    """The 通报 as PDF: the HTML laid out by WeasyPrint, fetching nothing from outside."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=assessment_html(a, rules), url_fetcher=URLFetcher(allowed_protocols=frozenset())).write_pdf()


# -- Word ---------------------------------------------------------------------------------------------------


def _chart_png(a: Assessment, group: str, total: float) -> bytes | None:
    """The group's scores as a horizontal bar chart PNG (Pillow, Noto Sans CJK); None without a CJK font."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = _cjk_font()
    if font_path is None:
        return None
    rows = [r for r in a.rows if r.group == group]
    if not rows:
        return None
    scale, row_h, left, width = 2, 30, 220, 900
    height = 50 + row_h * len(rows) + 20
    img = Image.new("RGB", (width * scale, height * scale), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(font_path, 15 * scale, index=2)  # index 2: the SC face of the collection
    title = ImageFont.truetype(font_path, 17 * scale, index=2)
    draw.text((10 * scale, 10 * scale), f"{group}得分（{a.month.label}）", fill="#333333", font=title)
    plot = width - left - 60
    for i, r in enumerate(rows):
        y = 50 + i * row_h
        label = f"{r.rank}. {r.unit}"
        w = draw.textlength(label, font=font)
        draw.text(((left - 10) * scale - w, (y + 4) * scale), label, fill="#333333", font=font)
        bar = plot * r.score / total
        colour = "#c00000" if r.bottom else "#2f6db5"
        draw.rectangle([left * scale, (y + 4) * scale, (left + bar) * scale, (y + row_h - 4) * scale], fill=colour)
        draw.text(((left + bar + 6) * scale, (y + 4) * scale), f"{r.score:.2f}", fill="#333333", font=font)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _cjk_font() -> str | None:
    for path in (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    ):
        if Path(path).exists():
            return path
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found if found.endswith((".ttc", ".otf", ".ttf")) and Path(found).exists() else None


def assessment_docx(a: Assessment, rules: Rules, path: Path) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    from reports.agenda_docx import BODY_FONT, HEAD_FONT, TITLE_FONT, _font, _page_number_footer, _para

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _page_number_footer(section)
    _para(doc, TITLE, TITLE_FONT, 22, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(doc, f"（{a.month.label}）", BODY_FONT, 16, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(doc)
    columns = _columns(rules)
    weights = "、".join(f"{label}{i.weight:g}" for (_, label), i in zip(columns, rules.assessment.indicators))
    _para(
        doc,
        f"根据问题台账审计记录，现将{a.month.label}（考核期{a.period}）各单位问题办理情况考核结果通报如下。"
        f"考核指标及权重：{weights}（满分{rules.assessment.total:g}分）。",
    )
    for n, group in enumerate(a.groups, start=1):
        members = [r for r in a.rows if r.group == group]
        if not members:
            continue
        _para(doc, f"{_numeral(n)}、{group}", HEAD_FONT, 16)
        png = _chart_png(a, group, rules.assessment.total)
        if png:
            doc.add_picture(io.BytesIO(png), width=Mm(150))
        table = doc.add_table(rows=1, cols=3 + len(columns))
        table.style = "Table Grid"
        heads = ["名次", "单位", "得分", *(label for _, label in columns)]
        for cell, text in zip(table.rows[0].cells, heads):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), HEAD_FONT, 10.5)
        for r in members:
            d = r.as_dict()
            cells = table.add_row().cells
            values = [str(r.rank), r.unit + ("（末位）" if r.bottom else ""), f"{r.score:.2f}"]
            values += [d["detail"][key] for key, _ in columns]
            for cell, text in zip(cells, values):
                cell.text = ""
                _font(cell.paragraphs[0].add_run(text), BODY_FONT, 10.5)
        if a.consequence and any(r.bottom for r in members):
            bottom = "、".join(r.unit for r in members if r.bottom)
            _para(doc, f"{group}排名末{rules.assessment.bottom}位的{bottom}，{a.consequence}。")
    _para(doc)
    p = _para(doc, "县政府办督查室", BODY_FONT, 16, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    p.paragraph_format.space_before = Pt(28.95)
    d = a.computed_at.astimezone(rules.timezone).date()
    _para(doc, f"{d.year}年{d.month}月{d.day}日", BODY_FONT, 16, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    path = Path(path)
    doc.core_properties.title = f"{TITLE}（{a.month.label}）"
    doc.save(path)
    return path


def _numeral(n: int) -> str:
    return "一二三四五六七八九十"[n - 1] if 1 <= n <= 10 else str(n)


def write_assessment(a: Assessment, rules: Rules, out_dir: Path, pdf: bytes | None = None) -> list[Path]:
    """``assessment-2024-01.html``, ``.docx`` and ``.pdf`` in ``out_dir``."""
    base = out_dir / f"assessment-{a.month.slug}"
    html = base.with_suffix(".html")
    html.write_text(assessment_html(a, rules), encoding="utf-8")
    docx = assessment_docx(a, rules, base.with_suffix(".docx"))
    pdf_path = base.with_suffix(".pdf")
    pdf_path.write_bytes(pdf if pdf is not None else assessment_pdf(a, rules))
    return [html, docx, pdf_path]
