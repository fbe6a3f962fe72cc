"""The 督办函 as real files: the .docx re-read with python-docx, the PDF read back with pypdf (text),
poppler's pdftotext -bbox (where every line sits) and pdftoppm (the pixels of page 1 and the last page).
Hostile user text must come out as text in both formats, never as markup, and never outside the page."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Length, Pt, RGBColor
from PIL import Image, ImageChops
from pypdf import PdfReader

from reports.official import layout as L
from reports.official.letter import Milestone, heading1, heading2, paragraph
from reports.official.letter_docx import BODY_SPACING_TW, CHAR_PT, write_letter_docx
from reports.official.letter_pdf import letter_html, write_letter_pdf
from tests.letter_samples import supervision_letter

pytestmark = pytest.mark.integration

NUMBER = re.compile(r"阳督函〔\d{4}〕[1-9]\d*号")
MM = L.MM_PT
LEFT, RIGHT = 28 * MM, (28 + 156) * MM  # the text block's edges in PDF points
TOP, BOTTOM = 37 * MM, (297 - 35) * MM
HOSTILE_TITLE = "<script>alert('x')</script>关于</p><h1>注入</h1>" + "很长的标题" * 40
HOSTILE = dict(
    unit="<b>阳城县</b>自然资源局\x00\x1b[31m",
    problem_title="用地<img src=x onerror=alert(1)>问题\u202e反转",
    description=(
        "<style>body{display:none}</style>第一段{{ 7*7 }}{% raw %}\x07\x0b第二段"
        + "\nhttps://example.invalid/"
        + "a" * 600
        + "\n"
        + "长" * 900
    ),
    background='" onmouseover="x" \x1f',
    contact="<i>张敏</i>",
    phone="0356-4222222\x00",
    copy_to=["<u>县委督查室</u>", "县政府办公室\u2066"],
    attachments=["<a href='file:///etc/passwd'>反馈表</a>"],
)


# -- helpers ------------------------------------------------------------------------------------------------


def east_asia(run) -> str | None:
    fonts = run._element.rPr.find(qn("w:rFonts"))
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text.strip()]


def words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Per page, every text run poppler finds: (xMin, yMin, xMax, yMax, text) in PDF points from the top."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for page in re.findall(r"<page [^>]*>(.*?)</page>", out, re.S):
        pages.append(
            [
                (float(a), float(b), float(c), float(d), ElementTree.fromstring(f"<w>{t}</w>").text or "")
                for a, b, c, d, t in re.findall(
                    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page
                )
            ]
        )
    return pages


def png(pdf: Path, page: int, out: Path) -> Image.Image:
    """Page ``page`` (1-based) of the PDF as a 100 dpi RGB image, saved under ``out``."""
    subprocess.run(
        ["pdftoppm", "-r", "100", "-f", str(page), "-l", str(page), "-png", "-singlefile", str(pdf), str(out)],
        check=True,
    )
    with Image.open(out.with_suffix(".png")) as image:
        return image.convert("RGB")


def red_mask(image: Image.Image) -> Image.Image:
    """White where the page is pure red (the organ mark, the separator), black elsewhere."""
    r, g, b = image.split()
    high, low = (lambda v: 255 if v > 200 else 0), (lambda v: 255 if v < 60 else 0)
    return ImageChops.multiply(r.point(high), ImageChops.multiply(g.point(low), b.point(low)))


def red_rows(image: Image.Image) -> list[int]:
    """Rows (pixels from the top) holding pure-red pixels."""
    _, rows = red_mask(image).getprojection()
    return [y for y, hit in enumerate(rows) if hit]


def dark_share(image: Image.Image, box: tuple[int, int, int, int]) -> list[float]:
    """Per row of ``box``: the share of its pixels that are dark (ink, lines)."""
    dark = image.convert("L").crop(box).point(lambda v: 255 if v < 200 else 0)
    return [v / 255 for v in dark.resize((1, dark.height), Image.Resampling.BOX).tobytes()]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("letter")
    letter = supervision_letter()
    return {
        "docx": write_letter_docx(letter, out / "letter.docx"),
        "pdf": write_letter_pdf(letter, out / "letter.pdf"),
        "dir": out,
    }


# -- Word -----------------------------------------------------------------------------------------------------


def test_docx_page_and_grid(files):
    doc = Document(files["docx"])
    s = doc.sections[0]
    assert (s.page_width.mm, s.page_height.mm) == (pytest.approx(210, abs=0.1), pytest.approx(297, abs=0.1))
    assert s.top_margin.mm == pytest.approx(37, abs=0.1) and s.left_margin.mm == pytest.approx(28, abs=0.1)
    assert s.bottom_margin.mm == pytest.approx(35, abs=0.1) and s.right_margin.mm == pytest.approx(26, abs=0.1)
    text_w = Length(s.page_width - s.left_margin - s.right_margin)
    text_h = Length(s.page_height - s.top_margin - s.bottom_margin)
    assert text_w.mm == pytest.approx(156, abs=0.1) and text_h.mm == pytest.approx(225, abs=0.1)
    # 22 lines of 28.95 pt fit the text block, 23 do not; 28 narrowed characters fit a line, 29 do not.
    assert 22 * Pt(L.LINE_PT) <= text_h < 23 * Pt(L.LINE_PT)
    assert 28 * CHAR_PT <= text_w.pt < 29 * CHAR_PT and BODY_SPACING_TW == -5
    grid = s._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:linePitch")) == "579"
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16) and normal.paragraph_format.line_spacing == Pt(L.LINE_PT)
    assert normal.element.rPr.find(qn("w:spacing")).get(qn("w:val")) == "-5"
    assert normal.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert doc.core_properties.title == "关于督促解决化工园区基础设施建设项目用地问题的督办函"


def test_docx_paragraphs_in_order(files):
    doc = Document(files["docx"])
    t = texts(doc)
    expected = [
        "阳城县人民政府督查室",
        "阳督函〔2024〕3号",
        "关于督促解决化工园区基础设施建设项目\n用地问题的督办函",
        "阳城县自然资源局：",
    ]
    assert t[:4] == expected
    assert t[4].startswith("化工园区基础设施建设存在“化工园区污水处理厂")
    assert t[5] == "一、问题情况" and t[8] == "二、办理要求"
    assert t[9].startswith("（一）1日内研究部署。请于2024年1月11日前")
    assert t[-4:] == [
        "附件：“13710”督办事项办理情况反馈表",
        "阳城县人民政府督查室",
        "2024年1月10日",
        "（联系人：张敏，联系电话：0356-4222222）",
    ]
    # Blank lines on the grid where the standard asks for them: two under the organ mark and under the
    # red line, one under the title, two above the signature (room for the seal).
    all_texts = [p.text for p in doc.paragraphs]
    i = all_texts.index("阳督函〔2024〕3号")
    assert all_texts[i - 2 : i] == ["", ""] and all_texts[i + 1 : i + 3] == ["", ""]
    j = all_texts.index("阳城县自然资源局：")
    assert all_texts[j - 1] == "" and all_texts[j - 2].startswith("关于督促解决")
    k = all_texts.index("阳城县人民政府督查室", i)
    assert all_texts[k - 2 : k] == ["", ""]


def test_docx_fonts_sizes_alignment_and_colour(files):
    doc = Document(files["docx"])
    by_text = {p.text: p for p in reversed(doc.paragraphs) if p.text.strip()}  # the first of equal texts
    organ = by_text["阳城县人民政府督查室"]
    assert organ.alignment == WD_ALIGN_PARAGRAPH.CENTER
    run = organ.runs[0]
    assert east_asia(run) == "方正小标宋简体" and run.font.color.rgb == RGBColor(0xFF, 0, 0)
    assert run.font.size == Pt(L.organ_mark_pt("阳城县人民政府督查室")) and run.font.size.pt >= 40
    assert organ.paragraph_format.space_before.mm == pytest.approx(35 - 0.1 * run.font.size.pt / MM, abs=0.1)

    number = by_text["阳督函〔2024〕3号"]
    assert number.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert east_asia(number.runs[0]) == "仿宋_GB2312" and number.runs[0].font.size == Pt(16)
    rule = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert (rule.get(qn("w:val")), rule.get(qn("w:color")), rule.get(qn("w:sz"))) == ("single", "FF0000", "8")

    title = next(p for p in doc.paragraphs if p.text.startswith("关于督促解决"))
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert {east_asia(r) for r in title.runs} == {"方正小标宋简体"} and {r.font.size for r in title.runs} == {Pt(22)}

    addressee = by_text["阳城县自然资源局："]
    assert addressee.alignment == WD_ALIGN_PARAGRAPH.LEFT and not addressee.paragraph_format.first_line_indent

    body = next(p for p in doc.paragraphs if p.text.startswith("化工园区基础设施建设存在"))
    f = body.paragraph_format
    assert body.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert f.first_line_indent == Pt(2 * CHAR_PT) and body._p.pPr.ind.get(qn("w:firstLineChars")) == "200"
    assert f.line_spacing_rule == WD_LINE_SPACING.EXACTLY and f.line_spacing == Pt(L.LINE_PT)
    assert {east_asia(r) for r in body.runs} == {"仿宋_GB2312"} and {r.font.size for r in body.runs} == {Pt(16)}

    h1 = by_text["一、问题情况"]
    assert east_asia(h1.runs[0]) == "黑体" and h1.paragraph_format.first_line_indent == Pt(2 * CHAR_PT)
    h2 = next(p for p in doc.paragraphs if p.text.startswith("（一）"))
    assert [(r.text, east_asia(r)) for r in h2.runs][0] == ("（一）1日内研究部署。", "楷体_GB2312")
    assert east_asia(h2.runs[1]) == "仿宋_GB2312" and h2.runs[1].text.startswith("请于2024年1月11日前")

    signatory = next(p for p in reversed(doc.paragraphs) if p.text == "阳城县人民政府督查室")
    day = by_text["2024年1月10日"]
    assert signatory.alignment == day.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert day._p.pPr.ind.get(qn("w:rightChars")) == "400"  # 成文日期 four characters from the right
    assert signatory._p.pPr.ind.get(qn("w:rightChars")) == "225"  # the signatory centred over it
    note = by_text["（联系人：张敏，联系电话：0356-4222222）"]
    assert note.paragraph_format.first_line_indent == Pt(2 * CHAR_PT)


def test_docx_imprint_at_the_foot_of_the_last_page(files):
    doc = Document(files["docx"])
    (table,) = doc.tables
    rows = [row.cells[0].text for row in table.rows]
    assert rows == [
        "抄送：县委督查室，县政府办公室，阳城经济技术开发区管委会。",
        "阳城县人民政府督查室\t2024年1月10日印发",
    ]
    pr = table._tbl.tblPr
    pos = pr.find(qn("w:tblpPr"))
    assert (pos.get(qn("w:vertAnchor")), pos.get(qn("w:tblpYSpec"))) == ("margin", "bottom")
    assert pr.find(qn("w:tblW")).get(qn("w:w")) == "8845"  # the full 156 mm
    borders = {el.tag.split("}")[1]: (el.get(qn("w:val")), el.get(qn("w:sz"))) for el in pr.find(qn("w:tblBorders"))}
    assert borders["top"] == borders["bottom"] == ("single", "8")  # 0.35 mm
    assert borders["insideH"] == ("single", "6")  # 0.25 mm
    assert borders["left"][0] == borders["right"][0] == "nil"
    for row in table.rows:
        p = row.cells[0].paragraphs[0]
        assert {east_asia(r) for r in p.runs} == {"仿宋_GB2312"} and {r.font.size for r in p.runs} == {Pt(14)}
        assert p.paragraph_format.right_indent == Pt(14)
    # The table is the body's last block but one: only the 1 pt paragraph Word needs after a table follows.
    body = doc.element.body
    blocks = [el for el in body if el.tag in (qn("w:p"), qn("w:tbl"))]
    assert blocks[-2] is table._tbl and blocks[-1].xpath("string(.)") == ""


def test_docx_page_numbers_odd_right_even_left(files):
    doc = Document(files["docx"])
    assert doc.settings.odd_and_even_pages_header_footer
    s = doc.sections[0]
    for footer, align in ((s.footer, WD_ALIGN_PARAGRAPH.RIGHT), (s.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        p = footer.paragraphs[0]
        assert p.alignment == align and p.text == "—  —"
        assert "PAGE" in "".join(p._p.xpath(".//w:instrText/text()"))
        assert {east_asia(r) for r in p.runs} == {"宋体"} and {r.font.size for r in p.runs} == {Pt(14)}


# -- PDF ------------------------------------------------------------------------------------------------------


def test_pdf_text(files):
    reader = PdfReader(files["pdf"])
    pages = [p.extract_text() for p in reader.pages]
    assert len(pages) == 3
    for p in reader.pages:  # A4
        assert (float(p.mediabox.width), float(p.mediabox.height)) == (
            pytest.approx(595.28, abs=0.05),
            pytest.approx(841.89, abs=0.05),
        )
    first, last = pages[0], pages[-1]
    assert first.index("阳城县人民政府督查室") < first.index("阳督函〔2024〕3号") < first.index("关于督促解决")
    assert NUMBER.search(first).group() == "阳督函〔2024〕3号"
    assert "关于督促解决化工园区基础设施建设项目" in first and "用地问题的督办函" in first
    assert "阳城县自然资源局：" in first
    assert "附件：“13710”督办事项办理情况反馈表" in last
    assert "（联系人：张敏，联系电话：0356-4222222）" in last
    assert "抄送：县委督查室，县政府办公室，阳城经济技术开发区管委会。" in last
    assert last.rstrip().endswith("— 3 —") and "2024年1月10日印发" in last
    everything = "".join(pages)
    assert "一、问题情况" in everything and "（一）1日内研究部署。请于2024年1月11日前研究提出" in everything
    assert reader.metadata.title == "关于督促解决化工园区基础设施建设项目用地问题的督办函"
    fonts = {f["/BaseFont"].replace("-", "") for p in reader.pages for f in p["/Resources"]["/Font"].values()}
    # Debian's stand-ins: Noto Serif CJK SC for 仿宋, Noto Serif CJK SC Bold for 小标宋, Noto Sans CJK SC for 黑体.
    assert {re.sub(r"^/[A-Z]{6}\+", "", f) for f in fonts} == {"NotoSerifCJKSC", "NotoSerifCJKSCBold", "NotoSansCJKSC"}


def test_pdf_lines_fill_the_text_block(files):
    pages = words(files["pdf"])
    body = [w for page in pages for w in page if w[4] and not w[4].startswith("—") and not w[4].isdigit()]
    assert all(LEFT - 0.5 <= x0 and x1 <= RIGHT + 0.5 for x0, _, x1, _, _ in body)
    # Lines that a paragraph continues after end at the right edge (justified); there are many.
    flush = [w for w in body if abs(w[2] - RIGHT) < 0.5]
    assert len(flush) >= 14
    # Line pitch 28.95 pt within a paragraph.
    first = pages[0]
    addressee = next(w for w in first if w[4] == "阳城县自然资源局：")
    opening = [w for w in first if addressee[1] <= w[1] < addressee[1] + 6 * L.LINE_PT]
    steps = {round(b[1] - a[1], 2) for a, b in zip(opening, opening[1:])}
    assert len(opening) == 6 and steps == {L.LINE_PT}
    # The organ mark starts 35 mm into the text block (its box top, within the font's ascent).
    organ = next(w for w in first if w[4] == "阳城县人民政府督查室")
    assert TOP + 35 * MM - 8 < organ[1] < TOP + 35 * MM + 2
    assert abs((organ[0] + organ[2]) / 2 - (LEFT + RIGHT) / 2) < 1  # centred
    number = next(w for w in first if NUMBER.fullmatch(w[4]))
    assert abs((number[0] + number[2]) / 2 - (LEFT + RIGHT) / 2) < 1
    # 版记 at the foot of the last page: its last line ends at the text block's bottom, below everything.
    last = pages[-1]
    printed = next(w for w in last if w[4].endswith("印发"))
    assert BOTTOM - L.LINE_PT < printed[3] <= BOTTOM + 1 and abs(printed[2] - (RIGHT - 14)) < 1
    assert all(w[3] <= printed[3] for w in last if w[1] < BOTTOM)
    copy = next(w for w in last if w[4].startswith("抄送："))
    assert abs(copy[0] - (LEFT + 14)) < 1 and printed[1] - copy[1] > 28
    # Page numbers: odd pages right, even pages left, one 14 pt character in, below the text block.
    for n, page in enumerate(pages, start=1):
        dashes = [w for w in page if w[4] == "—"]
        assert len(dashes) == 2 and all(w[1] > BOTTOM for w in dashes)
        if n % 2:
            assert abs(dashes[-1][2] - (RIGHT - 14)) < 1.5
        else:
            assert abs(dashes[0][0] - (LEFT + 14)) < 1.5


def test_pdf_pages_as_images(files):
    """Page 1 and the last page as pictures: red organ mark and red separator on page 1, nothing red on the
    last; the 版记's three black lines near the foot of the last page."""
    out = files["dir"]
    first = png(files["pdf"], 1, out / "page-1")
    last = png(files["pdf"], 3, out / "page-3")
    assert first.size == last.size == (827, 1170)  # A4 at 100 dpi
    rows = red_rows(first)
    px = 100 / 25.4  # pixels a millimetre
    mark = [y for y in rows if y < 110 * px]
    assert mark and (37 + 35 - 1) * px < min(mark) < (37 + 35 + 6) * px  # the mark's ink, 35 mm into the block
    rule = [y for y in rows if y > max(mark) + 20]
    assert rule and max(rule) - min(rule) <= 2  # one thin red line below the number ...
    columns, _ = red_mask(first).crop((0, rule[0], 827, rule[0] + 1)).getprojection()
    width = [x for x, hit in enumerate(columns) if hit]
    assert abs(min(width) - 28 * px) < 3 and abs(max(width) - 184 * px) < 3  # ... as wide as the text block
    assert not red_rows(last)
    top = int(200 * px)
    shares = dark_share(last, (int(30 * px), top, int(182 * px), int(265 * px)))
    black = [top + i for i, share in enumerate(shares) if share > 0.9]
    lines = [y for i, y in enumerate(black) if i == 0 or y - black[i - 1] > 1]
    assert len(lines) == 3 and abs(lines[-1] - 262 * px) < 4  # top, between, bottom; the last at the block's foot


# -- hostile text -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    letter = replace(supervision_letter(**HOSTILE), title=HOSTILE_TITLE)
    return letter, write_letter_docx(letter, out / "h.docx"), write_letter_pdf(letter, out / "h.pdf"), out


def test_hostile_text_is_text_in_html(hostile):
    letter, *_ = hostile
    html = letter_html(letter)
    assert "<script" not in html and "<img" not in html and "<style>body" not in html and "<h1>注入" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "onmouseover=&#34;x&#34;" in html or "onmouseover=&quot;x&quot;" in html
    assert "{{ 7*7 }}" in html and "49" not in html  # user text is not a template
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069]", html)


def test_hostile_text_in_docx(hostile):
    _, docx_path, _, _ = hostile
    doc = Document(docx_path)
    t = "\n".join(texts(doc)) + "\n".join(row.cells[0].text for row in doc.tables[0].rows)
    assert "<script>alert('x')</script>关于</p><h1>注入</h1>" in t
    assert "<b>阳城县</b>自然资源局[31m：" in t and "<a href='file:///etc/passwd'>反馈表</a>" in t
    assert "抄送：<u>县委督查室</u>，县政府办公室。" in t
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069]", t)
    assert doc.tables[0]._tbl.tblPr.find(qn("w:tblpPr")) is not None  # the structure is unchanged


def test_hostile_text_in_pdf_stays_on_the_page(hostile):
    _, _, pdf_path, out = hostile
    reader = PdfReader(pdf_path)
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    assert "<script>alert('x')</script>关于</p><h1>注入</h1>" in text
    assert "<imgsrc=xonerror=alert(1)>" in text and "{{7*7}}" in text
    for page in words(pdf_path):
        for x0, _, x1, y1, w in page:
            assert LEFT - 0.5 <= x0 and x1 <= RIGHT + 0.5, w  # long words and URLs wrap inside the block
            assert y1 <= (297 - 35 + 15) * MM
    last = png(pdf_path, len(reader.pages), out / "last")
    assert last.size == (827, 1170)


def test_letters_of_other_shapes(tmp_path):
    """A 上行文-style number line with 签发人, unsealed signature, several attachments, no 抄送, and
    hand-written body blocks."""
    base = supervision_letter(copy_to=[], attachments=["问题情况表", "“13710”督办事项办理情况反馈表"], sealed=False)
    letter = replace(
        base,
        signer="王建国",
        body=(
            paragraph("开头。"),
            heading1("有关情况"),
            heading2("第一项。", "内容。"),
            heading2("第二项"),
            paragraph("结尾。"),
        ),
        milestones=(Milestone("研究部署", base.issued, "1日内"),),
    )
    doc = Document(write_letter_docx(letter, tmp_path / "x.docx"))
    t = texts(doc)
    assert t[1] == "阳督函〔2024〕3号\t签发人：王建国"
    number = doc.paragraphs[[p.text for p in doc.paragraphs].index(t[1])]
    assert east_asia(number.runs[-1]) == "楷体_GB2312" and number.runs[-1].text == "王建国"
    assert "一、有关情况" in t and "（一）第一项。内容。" in t and "（二）第二项" in t
    assert "附件：1.\t问题情况表" in t and "2.\t“13710”督办事项办理情况反馈表" in t
    assert [row.cells[0].text for row in doc.tables[0].rows] == ["阳城县人民政府督查室\t2024年1月10日印发"]
    signatory = next(p for p in reversed(doc.paragraphs) if p.text == "阳城县人民政府督查室")
    assert signatory._p.pPr.ind.get(qn("w:rightChars")) == "200"  # unsealed: two characters from the right

    pdf = write_letter_pdf(letter, tmp_path / "x.pdf")
    pages = words(pdf)
    first = pages[0]
    num = next(w for w in first if NUMBER.fullmatch(w[4]))
    signer = next(w for w in first if w[4].startswith("签发人"))
    assert abs(num[0] - (LEFT + 16)) < 1.5 and abs(signer[2] - (RIGHT - 16)) < 1.5 and abs(num[1] - signer[1]) < 1
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "附件：1.问题情况表" in text.replace(" ", "") and "抄送" not in text
    last = pages[-1]
    att2 = next(w for w in last if w[4].startswith("2."))
    att1 = next(w for w in last if w[4].startswith("附件："))
    assert abs(att2[0] - (att1[0] + 3 * 16)) < 2  # 2. under 1., after "附件："


def test_pdf_renderer_needs_no_network_or_files(files, tmp_path, monkeypatch):
    """The renderer's URL fetcher refuses everything: a letter renders with no resource fetched."""
    import weasyprint.urls

    calls = []
    original = weasyprint.urls.URLFetcher.fetch

    def spy(self, url, headers=None):
        calls.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(weasyprint.urls.URLFetcher, "fetch", spy)
    letter = supervision_letter(description="见 <img src='file:///etc/hostname'> 和 url(http://127.0.0.1:9/x.css)")
    write_letter_pdf(letter, tmp_path / "n.pdf")
    assert calls == []


def test_pdf_renders_without_css_or_font_warnings(tmp_path, caplog):
    """WeasyPrint drops CSS it cannot parse with a warning only (an escaped font list once did): none."""
    import logging

    caplog.set_level(logging.WARNING, logger="weasyprint")
    write_letter_pdf(supervision_letter(), tmp_path / "w.pdf")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []


def test_poppler_is_installed():
    # The PDF tests read geometry and pixels through poppler-utils (Debian); a missing tool must fail.
    assert shutil.which("pdftotext") and shutil.which("pdftoppm")
