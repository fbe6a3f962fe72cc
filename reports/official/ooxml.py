"""OOXML details python-docx has no API for: properties in their schema order, borders, character spacing,
named East Asian fonts, the PAGE field."""

from __future__ import annotations

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from reports.official import layout as L

# w:pPr is a sequence: its children must come in this order (ECMA-376 §17.3.1.26), or Word and
# LibreOffice ignore the misplaced ones.
PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
    "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
    "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip


def insert_ppr(ppr, el) -> None:
    """Insert a paragraph property element at its place in the sequence."""
    tag = el.tag.replace(qn("w:x")[:-1], "w:")
    ppr.insert_element_before(el, *PPR_ORDER[PPR_ORDER.index(tag) + 1 :])


def off_grid(p) -> None:
    """Lines of another size than 三号 (organ mark, title, 版记, page number) keep their own height instead
    of snapping to the 28.95 pt line grid."""
    el = OxmlElement("w:snapToGrid")
    el.set(qn("w:val"), "0")
    insert_ppr(p._p.get_or_add_pPr(), el)


def border(p, side: str, width_mm: float, color: str, space_pt: int = 0) -> None:
    """A single-line paragraph border on ``side``, ``space_pt`` from the text."""
    ppr = p._p.get_or_add_pPr()
    bdr = ppr.find(qn("w:pBdr"))
    if bdr is None:
        bdr = OxmlElement("w:pBdr")
        insert_ppr(ppr, bdr)
    el = OxmlElement(f"w:{side}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(eighths(width_mm)))
    el.set(qn("w:space"), str(space_pt))
    el.set(qn("w:color"), color)
    bdr.append(el)


def eighths(width_mm: float) -> int:
    """Border width in eighths of a point, as Word stores it (0.35 mm → 8, 0.25 mm → 6)."""
    return max(2, round(width_mm * L.MM_PT * 8))


def set_fonts(rpr, name: str) -> None:
    """One named font for every script (Word picks w:eastAsia for 汉字), and Chinese as the East Asian
    language."""
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


# w:rPr's children after w:spacing, in schema order (ECMA-376 §17.3.2.28).
_AFTER_SPACING = (
    "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
    "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath",
)  # fmt: skip


def set_spacing(rpr, twentieths: int) -> None:
    """Character spacing (w:spacing in a run's properties), in twentieths of a point."""
    el = rpr.find(qn("w:spacing"))
    if el is None:
        el = OxmlElement("w:spacing")
        rpr.insert_element_before(el, *_AFTER_SPACING)
    el.set(qn("w:val"), str(twentieths))


def page_field(run) -> None:
    """A PAGE field (the page's number) in ``run``."""
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._element.append(el)


# w:tblPr is a sequence too (ECMA-376 §17.4.60).
TBLPR_ORDER = (
    "w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize", "w:tblStyleColBandSize",
    "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders", "w:shd", "w:tblLayout", "w:tblCellMar",
    "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange",
)  # fmt: skip


def table_props(pr, tag: str, attrs: dict[str, str]):
    """Replace (or add) one child of w:tblPr in its schema position."""
    old = pr.find(qn(tag))
    if old is not None:
        pr.remove(old)
    el = OxmlElement(tag)
    for attr, value in attrs.items():
        el.set(qn(attr), value)
    pr.insert_element_before(el, *TBLPR_ORDER[TBLPR_ORDER.index(tag) + 1 :])
    return el
