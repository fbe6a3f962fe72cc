"""The meeting agenda as a Word document (python-docx), laid out after GB/T 9704 (党政机关公文格式):
A4; margins 37 mm top, 35 mm bottom, 28 mm left, 26 mm right; title in 方正小标宋简体 二号 (22 pt); body in
仿宋_GB2312 三号 (16 pt) at a fixed 28.95 pt line pitch (22 lines a page); level-one headings in 黑体,
level-two in 楷体_GB2312; page numbers "— 1 —" at the foot. Offices open it in WPS or Word and edit it
before printing; the fonts fall back to the reader's 仿宋/宋体 where the GB2312 faces are missing.
"""

from __future__ import annotations

from pathlib import Path

from reports.agenda import Agenda, AgendaItem
from workflow.rules import Rules

TITLE_FONT, BODY_FONT, HEAD_FONT, KAI_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312"


def _font(run, name: str, size: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        from docx.oxml import OxmlElement

        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _para(
    doc, text: str = "", font: str = BODY_FONT, size: float = 16, bold: bool = False, align=None, indent: bool = True
):
    from docx.shared import Pt

    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing = Pt(28.95)
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)  # 首行缩进两字
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold)
    return p


def _page_number_footer(section) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("— "), "宋体", 14)
    run = p.add_run()
    _font(run, "宋体", 14)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._element.append(el)
    _font(p.add_run(" —"), "宋体", 14)


def official_document(title: str):
    """A Word document on the 公文 page (GB/T 9704: A4, margins 37/35/28/26 mm, page numbers in the footer)."""
    from docx import Document
    from docx.shared import Mm

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _page_number_footer(section)
    doc.core_properties.title = title
    doc.core_properties.author = "duban"
    return doc


def agenda_docx(agenda: Agenda, rules: Rules, path: Path) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = official_document(f"县政府会议研究议题（{agenda.meeting.isoformat()}）")

    _para(doc, "县政府会议研究议题", TITLE_FONT, 22, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    m = agenda.meeting
    _para(
        doc,
        f"（项目建设重大问题　{m.year}年{m.month}月{m.day}日）",
        KAI_FONT,
        16,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        indent=False,
    )
    _para(doc)
    if not agenda.items:
        _para(doc, "目前没有处于“县政府会议研究”层级的未销号问题。")
    else:
        _para(doc, f"本次会议提请研究项目建设重大问题 {len(agenda.items)} 项，按预警程度和办结时限排序如下。")
    for item in agenda.items:
        _item(doc, item)
    generated = agenda.generated.astimezone(rules.timezone)
    _para(doc)
    _para(
        doc,
        f"（本议题单由 duban 根据问题台账和审计日志于 {generated:%Y年%m月%d日 %H:%M} 生成）",
        BODY_FONT,
        12,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        indent=False,
    )
    doc.save(path)


_NUMERALS = "一二三四五六七八九十"


def _cn(n: int) -> str:
    if n <= 10:
        return _NUMERALS[n - 1]
    if n < 20:
        return "十" + _NUMERALS[n - 11]
    tens, ones = divmod(n, 10)
    return _NUMERALS[tens - 1] + "十" + (_NUMERALS[ones - 1] if ones else "")


def _item(doc, i: AgendaItem) -> None:
    _para(doc, f"{_cn(i.number)}、{i.title}", HEAD_FONT, 16)
    owners = f"责任单位：{i.unit or '（未交办）'}" + (f"（{i.section}）" if i.section else "")
    owners += f"；责任人：{i.person or '—'}；分管领导：{i.leader or '—'}；包联县级领导：{i.project_leader or '—'}。"
    _para(doc, f"问题编号 {i.code}，{i.project}，{i.category}问题（{i.severity}）。{owners}")
    status = f"当前状态：{i.state}，{i.light}"
    if i.deadline:
        status += f"，办结时限 {i.deadline:%Y年%m月%d日}" + ("（暂定）" if i.provisional else "")
        if i.days_overdue:
            status += f"，至会议日超期 {i.days_overdue} 天"
    status += "。" + (f"{i.entered} " if i.entered else "") + f"{i.how}。"
    if i.last_dispatch:
        status += f"最近一次调度 {i.last_dispatch:%Y年%m月%d日}（距会议 {i.days_since_dispatch} 天"
        status += "，超过半月未调度）。" if i.dispatch_overdue else "）。"
    else:
        status += "尚无调度记录。"
    if i.decision:
        status += f"上次会议决定（{i.decided}）：{i.decision.rstrip('。')}。"
    _para(doc, status)
    if i.description:
        _para(doc, "（一）问题情况", KAI_FONT, 16)
        _para(doc, i.description)
    if i.progress:
        _para(doc, "（二）最新进展" if i.description else "（一）最新进展", KAI_FONT, 16)
        _para(doc, i.progress)
    _para(doc, "提请会议研究：", KAI_FONT, 16)
    for n, ask in enumerate(i.asks, start=1):
        _para(doc, f"{n}. {ask}。" if not ask.endswith("。") else f"{n}. {ask}")
    _para(doc, "办理经过：", KAI_FONT, 16)
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("日期", "操作人", "操作", "说明")):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), HEAD_FONT, 10.5)
    for h in i.history:
        cells = table.add_row().cells
        comment = h.comment + (f"（{h.change}）" if h.change else "")
        for cell, text in zip(cells, (h.at, h.actor, h.action, comment)):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), BODY_FONT, 10.5)
