"""A ``LetterDoc`` as a Word document (python-docx) laid out after GB/T 9704-2012 (see ``layout``).

Offices open it in Word or WPS, add the seal and print. The page is A4 with the standard margins, 22 lines
(exact 28.95 pt spacing and a line grid) of 28 characters (16 pt narrowed by -0.25 pt character spacing),
in the Normal style too, so the document keeps its lines when edited. Fonts are the names county offices
have installed (方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312); Word and WPS substitute where one is
missing. The 版记 is a table floated to the foot of the last page, with the thick/thin/thick lines.
"""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor, Twips

from reports.official import layout as L
from reports.official.letter import BlockKind, LetterDoc
from reports.official.text import width_em

log = logging.getLogger(__name__)

XIAOBIAOSONG, FANGSONG, HEITI, KAITI, SONGTI = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312", "宋体"

# A4 and the margins in whole twips, as Word stores them.
PAGE_TW = (11906, 16838)
MARGIN_TW = {"top": 2098, "bottom": 1984, "left": 1587, "right": 1474}
TEXT_TW = PAGE_TW[0] - MARGIN_TW["left"] - MARGIN_TW["right"]  # 8845 twips = 442.25 pt
LINE_TW = 579  # 28.95 pt: 22 × 579 = 12738 ≤ 12756 twips of text height
# 28 characters a line: 16 pt characters narrowed by a character spacing of -0.25 pt (in twentieths of a
# point, rounded down so 28 fit: 28 × 15.75 = 441 pt of 442.25), set on the Normal style so that text an
# office types later keeps the count. Word's character grid would do the same in Word and WPS, but
# LibreOffice gives each 16 pt character two 15.79 pt cells of it and prints 14 characters a line.
BODY_SPACING_TW = math.floor((TEXT_TW / 20 / L.CHARS - L.BODY_PT) * 20)
CHAR_PT = L.BODY_PT + BODY_SPACING_TW / 20
RED = RGBColor.from_string(L.RED)


def letter_docx(doc: LetterDoc) -> bytes:
    """The letter as .docx bytes."""
    out = io.BytesIO()
    _build(doc).save(out)
    return out.getvalue()


def write_letter_docx(doc: LetterDoc, path: Path) -> Path:
    path = Path(path)
    path.write_bytes(letter_docx(doc))
    log.info("wrote %s (%s)", path, doc.number)
    return path


def _build(doc: LetterDoc):
    d = Document()
    _page(d)
    _normal_style(d)
    d.core_properties.title = doc.title_text
    d.core_properties.author = doc.signatory
    d.core_properties.subject = doc.number
    d.core_properties.comments = ""

    mark = L.organ_mark_pt(doc.organ_mark)
    p = _para(d, align=WD_ALIGN_PARAGRAPH.CENTER, line_pt=mark * 1.15)
    _off_grid(p)
    # The mark's top edge 35 mm below the text block's: the exact line puts its extra height above.
    p.paragraph_format.space_before = Pt(L.ORGAN_TOP_MM * L.MM_PT - mark * 0.1)
    _run(p, doc.organ_mark, XIAOBIAOSONG, mark, color=RED)
    _blank(d, L.NUMBER_GAP_LINES)
    if doc.signer:
        p = _para(d, left_chars=1)
        _tab(p, TEXT_TW / 20 - CHAR_PT, WD_TAB_ALIGNMENT.RIGHT)
        _run(p, doc.number, FANGSONG)
        _run(p, "\t签发人：", FANGSONG)
        _run(p, doc.signer, KAITI)
    else:
        p = _para(d, align=WD_ALIGN_PARAGRAPH.CENTER)
        _run(p, doc.number, FANGSONG)
    # Red separator: half the leading lies under the characters, the border space adds the rest of 4 mm.
    gap = L.RULE_GAP_MM * L.MM_PT - (L.LINE_PT - L.BODY_PT) / 2
    _border(p, "bottom", L.RULE_MM, L.RED, space_pt=max(0, round(gap)))

    _blank(d, 2)
    p = _para(d, align=WD_ALIGN_PARAGRAPH.CENTER)
    _off_grid(p)
    for i, line in enumerate(doc.title_lines):
        run = _run(p, line, XIAOBIAOSONG, L.TITLE_PT)
        if i < len(doc.title_lines) - 1:
            run.add_break()
    _blank(d, 1)
    _run(_para(d), doc.addressee_line, FANGSONG)

    body = []
    for b in doc.numbered_body():
        p = _para(d, align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_chars=2)
        if b.kind is BlockKind.PARAGRAPH:
            _run(p, b.text + b.run_in, FANGSONG)
        else:
            _run(p, b.label + b.text, HEITI if b.kind is BlockKind.HEADING1 else KAITI)
            if b.run_in:
                _run(p, b.run_in, FANGSONG)
            else:  # a heading on a line of its own stays with what it heads
                p.paragraph_format.keep_with_next = True
        body.append(p)
    body[-1].paragraph_format.keep_with_next = True  # no page with only the signature (and the seal)

    if doc.attachments:
        _blank(d, 1, keep=True)
        numbers = [n for n, _ in doc.attachment_lines if n]
        number_chars = max((width_em(n) for n in numbers), default=0.0)
        for i, (n, name) in enumerate(doc.attachment_lines):
            hang = (3 if i == 0 else 0) + number_chars
            p = _para(d, left_chars=2 + 3 + number_chars, hanging_chars=hang)
            p.paragraph_format.keep_with_next = True
            if n:
                _tab(p, (2 + 3 + number_chars) * CHAR_PT, WD_TAB_ALIGNMENT.LEFT)
            _run(p, ("附件：" if i == 0 else "") + (f"{n}\t" if n else "") + name, FANGSONG)

    signatory_right, date_right = L.signature_indents(doc.signatory, doc.issued_text, doc.sealed)
    _blank(d, 2 if doc.sealed else 1, keep=True)
    p = _para(d, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=signatory_right)
    p.paragraph_format.keep_with_next = True
    _run(p, doc.signatory, FANGSONG)
    _run(_para(d, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=date_right), doc.issued_text, FANGSONG)
    if doc.note_line:
        _run(_para(d, first_chars=2), doc.note_line, FANGSONG)

    _imprint(d, doc)
    return d


def _page(d) -> None:
    s = d.sections[0]
    s.page_width, s.page_height = Twips(PAGE_TW[0]), Twips(PAGE_TW[1])
    s.top_margin, s.bottom_margin = Twips(MARGIN_TW["top"]), Twips(MARGIN_TW["bottom"])
    s.left_margin, s.right_margin = Twips(MARGIN_TW["left"]), Twips(MARGIN_TW["right"])
    s.header_distance = Twips(851)  # 15 mm, unused
    # The page number's dashes (mid-line of a 14 pt line) 7 mm below the text block.
    number_top = L.MARGIN_MM["bottom"] - L.PAGE_NUMBER_GAP_MM - L.FOOT_PT / 2 / L.MM_PT
    s.footer_distance = Twips(round((number_top * L.MM_PT - L.FOOT_PT) * 20))
    grid = s._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        s._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")  # 22 lines a page, as the exact line spacing gives them
    grid.set(qn("w:linePitch"), str(LINE_TW))
    # 页码: odd pages right, even pages left, one character in, "— 1 —".
    d.settings.odd_and_even_pages_header_footer = True
    _page_number(s.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(s.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


def _page_number(p, align) -> None:
    p.alignment = align
    _off_grid(p)
    f = p.paragraph_format
    f.line_spacing, f.space_before, f.space_after = Pt(L.FOOT_PT), Pt(0), Pt(0)
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        f.right_indent = Pt(L.FOOT_PT)
    else:
        f.left_indent = Pt(L.FOOT_PT)
    _run(p, "— ", SONGTI, L.FOOT_PT)
    run = _run(p, "", SONGTI, L.FOOT_PT)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._element.append(el)
    _run(p, " —", SONGTI, L.FOOT_PT)


def _normal_style(d) -> None:
    """Document defaults and Normal: 仿宋_GB2312 三号, narrowed to 28 a line, on the 28.95 pt line, in
    Chinese (theme fonts removed: they would win over the named ones)."""
    defaults = d.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for el in rpr.findall(qn("w:rFonts")) + rpr.findall(qn("w:lang")):
        rpr.remove(el)
    _fonts(rpr, FANGSONG)
    for tag in ("w:sz", "w:szCs"):
        rpr.find(qn(tag)).set(qn("w:val"), str(round(L.BODY_PT * 2)))
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    for attr, value in (("w:after", "0"), ("w:line", str(LINE_TW)), ("w:lineRule", "exact")):
        spacing.set(qn(attr), value)
    ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    for tag in ("w:autoSpaceDE", "w:autoSpaceDN"):  # no extra space between 汉字 and Arabic numerals
        el = OxmlElement(tag)
        el.set(qn("w:val"), "0")
        _insert(ppr, el)
    style = d.styles["Normal"]
    style.font.size = Pt(L.BODY_PT)
    _fonts(style.element.get_or_add_rPr(), FANGSONG)
    _spacing(style.element.get_or_add_rPr(), BODY_SPACING_TW)
    f = style.paragraph_format
    f.line_spacing, f.space_before, f.space_after = Pt(L.LINE_PT), Pt(0), Pt(0)


def _fonts(rpr, name: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _spacing(rpr, twentieths: int) -> None:
    el = rpr.find(qn("w:spacing"))
    if el is None:
        el = OxmlElement("w:spacing")
        # rPr order: rStyle rFonts b … color spacing w kern position sz … lang …
        rpr.insert_element_before(el, "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u")
        if el.getparent() is None:
            rpr.append(el)
    el.set(qn("w:val"), str(twentieths))


def _run(p, text: str, font: str, size: float = L.BODY_PT, color: RGBColor | None = None):
    run = p.add_run(text)
    run.font.size = Pt(size)
    _spacing(run._element.get_or_add_rPr(), BODY_SPACING_TW if size == L.BODY_PT else 0)
    if color is not None:
        run.font.color.rgb = color
    _fonts(run._element.get_or_add_rPr(), font)
    return run


def _para(
    d,
    *,
    align=WD_ALIGN_PARAGRAPH.LEFT,
    line_pt: float = L.LINE_PT,
    first_chars: float = 0,
    left_chars: float = 0,
    right_chars: float = 0,
    hanging_chars: float = 0,
):
    p = d.add_paragraph()
    p.alignment = align
    f = p.paragraph_format
    f.line_spacing, f.space_before, f.space_after = Pt(line_pt), Pt(0), Pt(0)
    if first_chars or left_chars or right_chars or hanging_chars:
        # Word and WPS measure indents in characters (w:*Chars, hundredths); the absolute values are for
        # readers that ignore those.
        f.left_indent = Pt(left_chars * CHAR_PT)
        f.right_indent = Pt(right_chars * CHAR_PT)
        f.first_line_indent = Pt((first_chars - hanging_chars) * CHAR_PT)
        ind = p._p.get_or_add_pPr().get_or_add_ind()
        for attr, chars in (
            ("w:leftChars", left_chars),
            ("w:rightChars", right_chars),
            ("w:firstLineChars", first_chars),
            ("w:hangingChars", hanging_chars),
        ):
            if chars:
                ind.set(qn(attr), str(round(chars * 100)))
    return p


# w:pPr is a sequence: its children must come in this order (ECMA-376 §17.3.1.26), or Word and
# LibreOffice ignore the misplaced ones.
_PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
    "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
    "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip


def _insert(ppr, el) -> None:
    tag = el.tag.replace(qn("w:x")[:-1], "w:")
    ppr.insert_element_before(el, *_PPR_ORDER[_PPR_ORDER.index(tag) + 1 :])


def _off_grid(p) -> None:
    """Lines of another size than 三号 (organ mark, title, 版记, page number) keep their own height instead
    of snapping to the 28.95 pt line grid."""
    el = OxmlElement("w:snapToGrid")
    el.set(qn("w:val"), "0")
    _insert(p._p.get_or_add_pPr(), el)


def _blank(d, lines: int, keep: bool = False) -> None:
    """Empty lines on the grid ("空二行"), the way offices space a 公文."""
    for _ in range(lines):
        _para(d).paragraph_format.keep_with_next = keep


def _tab(p, position_pt: float, alignment) -> None:
    p.paragraph_format.tab_stops.add_tab_stop(Pt(position_pt), alignment)


def _border(p, side: str, width_mm: float, color: str, space_pt: int = 0) -> None:
    ppr = p._p.get_or_add_pPr()
    bdr = ppr.find(qn("w:pBdr"))
    if bdr is None:
        bdr = OxmlElement("w:pBdr")
        _insert(ppr, bdr)
    el = OxmlElement(f"w:{side}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(_eighths(width_mm)))
    el.set(qn("w:space"), str(space_pt))
    el.set(qn("w:color"), color)
    bdr.append(el)


def _eighths(width_mm: float) -> int:
    """Border width in eighths of a point, as Word stores it (0.35 mm → 8, 0.25 mm → 6)."""
    return max(2, round(width_mm * L.MM_PT * 8))


def _imprint(d, doc: LetterDoc) -> None:
    """版记: a one-column table floated to the bottom of the text block of the page it ends on — the last
    page — in 4号 仿宋, a 0.35 mm line above and below and 0.25 mm between the rows. 抄送 wraps under the
    first unit after the colon; 印发机关 sits one character from the left, 印发日期 one from the right.

    Anchored horizontally to the page at the left margin rather than centred in the margins: LibreOffice
    keeps a table as wide as the text block in the flow unless its position is page-relative; Word places
    it the same either way."""
    rows = ([doc.copy_line] if doc.copy_line else []) + [f"{doc.printer}\t{doc.printed_text}"]
    table = d.add_table(rows=len(rows), cols=1)
    pr = table._tbl.tblPr
    position = {
        "w:vertAnchor": "margin",
        "w:tblpYSpec": "bottom",
        "w:horzAnchor": "page",
        "w:tblpX": str(MARGIN_TW["left"]),
    }
    position.update({f"w:{side}FromText": "0" for side in ("left", "right", "top", "bottom")})
    _table_props(pr, "w:tblpPr", position)
    _table_props(pr, "w:tblW", {"w:w": str(TEXT_TW), "w:type": "dxa"})
    borders = _table_props(pr, "w:tblBorders", {})
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single" if side in ("top", "bottom", "insideH") else "nil")
        if side in ("top", "bottom", "insideH"):
            width = L.THIN_RULE_MM if side == "insideH" else L.RULE_MM
            el.set(qn("w:sz"), str(_eighths(width)))
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")
        borders.append(el)
    _table_props(pr, "w:tblLayout", {"w:type": "fixed"})
    margins = _table_props(pr, "w:tblCellMar", {})
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), "0")
        el.set(qn("w:type"), "dxa")
        margins.append(el)

    one = L.FOOT_PT
    for row, text in zip(table.rows, rows):
        cell = row.cells[0]
        cell.width = Twips(TEXT_TW)
        p = cell.paragraphs[0]
        _off_grid(p)
        f = p.paragraph_format
        f.line_spacing, f.space_before, f.space_after = Pt(L.LINE_PT), Pt(0), Pt(0)
        f.left_indent, f.first_line_indent, f.right_indent = Pt(4 * one), Pt(-3 * one), Pt(one)
        _tab(p, TEXT_TW / 20 - one, WD_TAB_ALIGNMENT.RIGHT)
        _run(p, text, FANGSONG, L.FOOT_PT)
    # Word needs a paragraph after a table; 1 pt high, it cannot push anything onto a new page.
    _run(_para(d, line_pt=1), "", FANGSONG, 1)


# w:tblPr is a sequence too (ECMA-376 §17.4.60).
_TBLPR_ORDER = (
    "w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize", "w:tblStyleColBandSize",
    "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders", "w:shd", "w:tblLayout", "w:tblCellMar",
    "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange",
)  # fmt: skip


def _table_props(pr, tag: str, attrs: dict[str, str]):
    """Replace (or add) one child of w:tblPr in its schema position."""
    old = pr.find(qn(tag))
    if old is not None:
        pr.remove(old)
    el = OxmlElement(tag)
    for attr, value in attrs.items():
        el.set(qn(attr), value)
    pr.insert_element_before(el, *_TBLPR_ORDER[_TBLPR_ORDER.index(tag) + 1 :])
    return el
