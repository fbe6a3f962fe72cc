"""The inspection bulletin (督查通报) as a Word document, in the layout of the meeting agenda
(``reports.agenda_docx``: GB/T 9704 page, 仿宋 body, 黑体 and 楷体 headings), with each visit's photos as
thumbnails in a table, three to a row, captioned with when and where they were taken."""

from __future__ import annotations

import io
from pathlib import Path

from reports.agenda_docx import BODY_FONT, HEAD_FONT, KAI_FONT, TITLE_FONT, _cn, _font, _para, official_document
from reports.inspections import Bulletin, caption
from workflow.rules import Rules

PHOTOS_PER_ROW = 3


def bulletin_docx(b: Bulletin, rules: Rules, path: Path) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = official_document(f"督查通报（{b.month.label}）")

    _para(doc, "督查通报", TITLE_FONT, 22, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(doc, f"（{b.month.label}　县政府办督查室）", KAI_FONT, 16, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _para(doc)

    _para(doc, "一、总体情况", HEAD_FONT, 16)
    findings = "，".join(f"{f.label} {n} 次" for f, n in b.findings.items())
    tail = f"尚有 {len(b.outstanding)} 个项目未督查。" if b.outstanding else "应督查项目已全部督查。"
    _para(
        doc,
        f"本月应督查项目 {b.plan.due} 个，已实地督查 {b.plan.visited} 个，开展督查 {len(b.inspections)} 次。"
        f"督查结论：{findings}。{tail}",
    )

    _para(doc, "二、督查发现", HEAD_FONT, 16)
    if not b.inspections:
        _para(doc, "本月没有督查记录。")
    for n, i in enumerate(b.inspections, start=1):
        _para(doc, f"（{_cn(n)}）{i.project}（{i.unit}）：{i.finding.label}", KAI_FONT, 16)
        day = i.visited_on
        _para(doc, f"{day.year}年{day.month}月{day.day}日，{i.inspectors}到{i.place}实地督查。")
        _para(doc, f"看现场：{i.seen}")
        if i.checked:
            _para(doc, f"查资料：{i.checked}")
        if i.problems:
            listed = "；".join(
                f"{p.code} {p.title}（{p.unit or '未交办'}{'，本次督查新登记' if p.logged else ''}）"
                for p in i.problems
            )
            _para(doc, f"涉及问题：{listed}。")
        if i.note:
            _para(doc, f"跟进要求：{i.note}")
        _photos(doc, [f for f in i.files if f.id in b.thumbs], b.thumbs)

    _para(doc, "三、点名通报", HEAD_FONT, 16)
    if not b.named:
        _para(doc, "本月督查未发现需点名通报的单位。")
    else:
        _para(doc, "以下单位负责的项目或问题经督查发现进展缓慢或问题属实，予以通报：")
        for n in b.named:
            _para(doc, f"{n.unit}：{'；'.join(n.reasons)}。")

    _para(doc, "四、督查计划完成情况", HEAD_FONT, 16)
    if b.outstanding:
        names = "、".join(f"{p.project}（{p.unit}）" for p in b.outstanding)
        _para(doc, f"本月尚未督查的项目：{names}。请督查室在下月上旬前安排实地督查。")
    else:
        _para(doc, "本月应督查项目已全部完成实地督查。")

    generated = b.generated.astimezone(rules.timezone)
    _para(doc)
    _para(
        doc,
        f"（本通报由 duban 根据督查记录于 {generated:%Y年%m月%d日 %H:%M} 生成；照片拍摄时间和位置取自照片 EXIF 信息）",
        BODY_FONT,
        12,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        indent=False,
    )
    doc.save(path)


def _photos(doc, files: list, thumbs: dict[int, bytes]) -> None:
    """Thumbnails three to a row, each with its name and where and when it was taken."""
    if not files:
        return
    from docx.shared import Mm

    rows = -(-len(files) // PHOTOS_PER_ROW)
    table = doc.add_table(rows=rows, cols=PHOTOS_PER_ROW)
    for n, f in enumerate(files):
        cell = table.rows[n // PHOTOS_PER_ROW].cells[n % PHOTOS_PER_ROW]
        picture = cell.paragraphs[0].add_run()
        picture.add_picture(io.BytesIO(thumbs[f.id]), width=Mm(48))
        _font(cell.add_paragraph().add_run(f"{f.name}\n{caption(f)}"), BODY_FONT, 9)
