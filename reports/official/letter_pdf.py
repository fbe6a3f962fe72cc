"""A ``LetterDoc`` as PDF: HTML + CSS (``templates/letter.html``, Jinja2 with autoescape) laid out by
WeasyPrint with the layout of ``layout`` — the same page as the Word rendering.

WeasyPrint needs Pango through cffi (Debian: libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz0b,
libharfbuzz-subset0, libfontconfig1) and Chinese fonts. The county's fonts (仿宋_GB2312, 方正小标宋简体, 黑体,
楷体_GB2312) are used where installed; on a Debian server Noto Serif CJK SC stands in for 仿宋 and 小标宋 (in
bold), Noto Sans CJK SC for 黑体 (package fonts-noto-cjk).

The rendering fetches nothing: the template has no external resources, and the URL fetcher refuses every
scheme, so no user text can make the renderer read a file or call a server.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jinja2
from markupsafe import Markup

from reports.official import layout as L
from reports.official.justify import Piece, measure
from reports.official.letter import LetterDoc
from reports.official.text import width_em

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"


def _stack(*names: str) -> Markup:
    """A CSS font-family list; ours, so marked safe from the template's HTML escaping."""
    return Markup(", ".join(f'"{n}"' for n in names))


FONTS = {
    "fangsong": _stack("仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong", "Noto Serif CJK SC"),
    "xiaobiaosong": _stack("方正小标宋简体", "方正小标宋_GBK", "FZXiaoBiaoSong-B05S", "Noto Serif CJK SC"),
    "hei": _stack("黑体", "SimHei", "Noto Sans CJK SC"),
    "kai": _stack("楷体_GB2312", "KaiTi_GB2312", "楷体", "KaiTi", "AR PL UKai CN", "Noto Serif CJK SC"),
    "song": _stack("宋体", "SimSun", "Noto Serif CJK SC"),
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def letter_html(doc: LetterDoc, lines: dict[str, list[list[Piece]]] | None = None) -> str:
    """The print HTML of the letter (also usable as a preview page); ``lines`` are the body paragraphs
    already broken into justified lines by ``justify.measure``."""
    signatory_right, date_right = L.signature_indents(doc.signatory, doc.issued_text, doc.sealed)
    numbers = [n for n, _ in doc.attachment_lines if n]
    number_em = max((width_em(n) for n in numbers), default=0.0)
    attachments = [
        {"n": n, "name": name, "hang": (3 if i == 0 else 0) + number_em}
        for i, (n, name) in enumerate(doc.attachment_lines)
    ]
    return _env.get_template("letter.html").render(
        doc=doc,
        blocks=doc.numbered_body(),
        attachments=attachments,
        fonts=FONTS,
        red=L.RED,
        page_w=L.PAGE_MM[0],
        page_h=L.PAGE_MM[1],
        m_top=L.MARGIN_MM["top"],
        m_right=L.MARGIN_MM["right"],
        m_bottom=L.MARGIN_MM["bottom"],
        m_left=L.MARGIN_MM["left"],
        body_pt=L.BODY_PT,
        title_pt=L.TITLE_PT,
        foot_pt=L.FOOT_PT,
        line_pt=L.LINE_PT,
        lines=lines or {},
        spacing=round(L.CHAR_PT - L.BODY_PT - 0.001, 3),
        indent_pt=round(2 * L.CHAR_PT, 2),
        organ_pt=L.organ_mark_pt(doc.organ_mark),
        organ_top_mm=L.ORGAN_TOP_MM,
        number_gap_pt=L.NUMBER_GAP_LINES * L.LINE_PT,
        # The rule sits 4 mm below the characters of the 发文字号, whose line box has half the leading
        # (line pitch less type size) under them.
        rule_top_mm=round(L.RULE_GAP_MM - (L.LINE_PT - L.BODY_PT) / 2 / L.MM_PT, 2),
        rule_mm=L.RULE_MM,
        thin_rule_mm=L.THIN_RULE_MM,
        title_gap_pt=2 * L.LINE_PT,
        attachment_indent_em=2 + 3 + number_em,
        signature_gap_pt=(2 if doc.sealed else 1) * L.LINE_PT,
        signatory_right_em=round(signatory_right, 2),
        date_right_em=round(date_right, 2),
        page_number_top_mm=round(L.PAGE_NUMBER_GAP_MM - L.FOOT_PT / 2 / L.MM_PT, 2),
    )


def letter_pdf(doc: LetterDoc) -> bytes:
    """The letter as PDF bytes."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    def render(lines=None):
        fetcher = URLFetcher(allowed_protocols=frozenset())
        return HTML(string=letter_html(doc, lines), url_fetcher=fetcher).render()

    document = render(measure(render()))
    return document.write_pdf()


def write_letter_pdf(doc: LetterDoc, path: Path) -> Path:
    path = Path(path)
    path.write_bytes(letter_pdf(doc))
    log.info("wrote %s (%s)", path, doc.number)
    return path
