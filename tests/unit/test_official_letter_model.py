"""The pure parts of the official letter: Chinese dates and document numbers, text hygiene, the LetterDoc
model's validation and printed texts, the standard 13710 wording, and the shared layout arithmetic."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.official import layout
from reports.official.dates import (
    LetterNumber,
    check_letter_number,
    cn_date,
    letter_number,
    parse_letter_number,
)
from reports.official.letter import (
    BlockKind,
    LetterDoc,
    Milestone,
    cn_numeral,
    heading1,
    heading2,
    numbered,
    paragraph,
    supervision_title,
)
from reports.official.text import clean_text, paragraphs, width_em
from tests.letter_samples import ISSUED, supervision_letter
from workflow.errors import InvalidValue, MissingField

pytestmark = pytest.mark.unit

NUMBER = re.compile(r"阳督函〔\d{4}〕[1-9]\d*号")


def doc(**overrides) -> LetterDoc:
    fields = dict(
        organ_mark="阳城县人民政府督查室",
        number="阳督函〔2024〕3号",
        title="关于督促解决某项目用地问题的督办函",
        addressee="阳城县自然资源局",
        body=(paragraph("正文。"),),
        issued=date(2024, 1, 10),
    )
    fields.update(overrides)
    return LetterDoc(**fields)


# -- dates and numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (date(2024, 1, 10), "2024年1月10日"),
        (date(2024, 11, 5), "2024年11月5日"),
        (date(2027, 12, 31), "2027年12月31日"),
    ],
)
def test_cn_date_has_arabic_numerals_without_leading_zeros(value, text):
    assert cn_date(value) == text


def test_cn_date_refuses_a_moment_or_text():
    for bad in (datetime(2024, 1, 10, 9), "2024-01-10", None):
        with pytest.raises(InvalidValue) as e:
            cn_date(bad)
        assert e.value.field == "date" and "日期" in e.value.message


@pytest.mark.parametrize(
    "prefix, year, serial, text",
    [
        ("阳督函", 2024, 3, "阳督函〔2024〕3号"),
        ("阳督函", 2024, 10, "阳督函〔2024〕10号"),
        ("阳政办函", 2023, 125, "阳政办函〔2023〕125号"),
    ],
)
def test_letter_number_standard_form(prefix, year, serial, text):
    assert letter_number(prefix, year, serial) == text
    assert letter_number(prefix=prefix, year=year, serial=serial) == text
    assert parse_letter_number(text) == LetterNumber(prefix, year, serial)
    assert str(parse_letter_number(text)) == text


@pytest.mark.parametrize(
    "args, field",
    [
        (("阳督函", 2024, 0), "number_serial"),
        (("阳督函", 2024, -3), "number_serial"),
        (("阳督函", 2024, True), "number_serial"),
        (("阳督函", 2024, "3"), "number_serial"),
        (("阳督函", 24, 3), "number_year"),
        (("阳督函", 12024, 3), "number_year"),
        (("", 2024, 3), "number_prefix"),
        (("阳 督函", 2024, 3), "number_prefix"),
        (("阳督函〔", 2024, 3), "number_prefix"),
        (("阳督2函", 2024, 3), "number_prefix"),
    ],
)
def test_letter_number_refuses_bad_parts(args, field):
    with pytest.raises(InvalidValue) as e:
        letter_number(*args)
    assert e.value.field == field
    assert re.search(r"[\u4e00-\u9fff]", e.value.message)


@pytest.mark.parametrize(
    "typed",
    ["阳督函[2024]3号", "阳督函【2024】第03号", "阳督函（2024）3号", "阳督函(2024)第3号", " 阳督函〔2024〕003号 "],
)
def test_parse_accepts_the_forms_people_type_and_offers_the_standard_one(typed):
    assert parse_letter_number(typed) == LetterNumber("阳督函", 2024, 3)
    with pytest.raises(InvalidValue) as e:
        check_letter_number(typed)
    assert e.value.field == "number" and "阳督函〔2024〕3号" in e.value.message


@pytest.mark.parametrize(
    "bad", ["", "阳督函2024-3", "〔2024〕3号", "阳督函〔2024〕号", "阳督函〔2024〕0号", "阳督函〔24〕3号"]
)
def test_parse_refuses_what_is_not_a_number(bad):
    with pytest.raises(InvalidValue) as e:
        parse_letter_number(bad)
    assert e.value.field in ("number", "number_serial")


@given(
    prefix=st.text(alphabet="阳城县政府办督查函发字", min_size=1, max_size=6),
    year=st.integers(1949, 2999),
    serial=st.integers(1, 100_000),
)
def test_numbers_round_trip(prefix, year, serial):
    text = letter_number(prefix, year, serial)
    assert re.fullmatch(r".+〔\d{4}〕[1-9]\d*号", text) and "第" not in text
    assert check_letter_number(text) == (prefix, year, serial)


# -- text hygiene ----------------------------------------------------------------------------------------


def test_clean_text_drops_controls_bidi_and_noncharacters():
    assert clean_text("阳城\x00县\x07自然\x1b[31m资源局\x7f\x85") == "阳城县自然[31m资源局"
    assert clean_text("a\u202eb\u2066c\u200fd") == "abcd"
    assert clean_text("x\ufffey\ud800z") == "xyz"
    assert clean_text(None) == ""


def test_clean_text_lines():
    assert clean_text("第一行\r\n第二行\v第三行\u2028第四行") == "第一行第二行第三行第四行"
    assert clean_text("Word\nfile 文档\n说明") == "Word file 文档说明"
    assert clean_text("  多个   空格\t和制表符  ") == "多个 空格 和制表符"
    assert clean_text("一\r\n\r\n  二  \n", multiline=True) == "一\n二"
    assert paragraphs("甲段。\n\n乙段。\x0c丙段。") == ["甲段。", "乙段。", "丙段。"]


def test_width_counts_cjk_as_one_and_digits_as_half():
    assert width_em("阳城县") == 3
    assert width_em("2024年1月10日") == 6.5
    assert width_em("“13710”") == 4.5


# -- the model --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"number": ""}, "number", "发文字号不能为空"),
        ({"number": "YC-2024-0012"}, "number", "发文字号"),
        ({"number": "阳督函[2024]3号"}, "number", "阳督函〔2024〕3号"),
        ({"title": "  "}, "title", "标题不能为空"),
        ({"addressee": "："}, "addressee", "主送机关不能为空"),
        ({"issued": None}, "issued", "成文日期不能为空"),
        ({"issued": datetime(2024, 1, 10, 9)}, "issued", "成文日期"),
        ({"issued": "2024-01-10"}, "issued", "成文日期"),
        ({"organ_mark": ""}, "organ_mark", "发文机关标志不能为空"),
        ({"body": ()}, "body", "正文不能为空"),
        ({"body": "正文"}, "body", "正文"),
        ({"printed": date(2024, 1, 9)}, "printed", "印发日期"),
    ],
)
def test_letter_doc_refuses_missing_essentials(overrides, field, words):
    with pytest.raises(InvalidValue) as e:
        doc(**overrides)
    assert e.value.field == field and words in e.value.message


def test_missing_essentials_are_missing_fields():
    with pytest.raises(MissingField):
        doc(title="")


def test_letter_doc_texts_as_printed():
    d = doc(
        addressee="阳城县自然资源局：",
        note="（联系人：张敏，联系电话：0356-4222222）",
        copy_to=["县委督查室。", " 县政府办公室，", "", "阳城经济技术开发区管委会"],
        attachments=["问题情况表。", "办理情况反馈表；"],
    )
    assert d.addressee == "阳城县自然资源局" and d.addressee_line == "阳城县自然资源局："
    assert d.note_line == "（联系人：张敏，联系电话：0356-4222222）"
    assert d.copy_line == "抄送：县委督查室，县政府办公室，阳城经济技术开发区管委会。"
    assert d.attachment_lines == [("1.", "问题情况表"), ("2.", "办理情况反馈表")]
    assert d.signatory == d.printer == "阳城县人民政府督查室"
    assert d.printed == d.issued and d.printed_text == "2024年1月10日印发" and d.issued_text == "2024年1月10日"
    assert d.number_parts == (("阳督函", 2024, 3))
    single = doc(attachments=["问题情况表"])
    assert single.attachment_lines == [("", "问题情况表")]
    assert doc().copy_line == "" and doc().note_line == ""


def test_user_text_is_cleaned_in_every_field():
    d = doc(
        title="关于\x00督促\u202e解决\n问题的督办函",
        addressee="阳城县\x1b自然资源局",
        body=(paragraph("正\x0b文"), heading2("研究\x00部署。", "请于\x07……")),
        copy_to=["县委\x00督查室"],
    )
    assert d.title_lines == ["关于督促解决", "问题的督办函"] and d.title_text == "关于督促解决问题的督办函"
    assert d.addressee == "阳城县自然资源局"
    assert [b.text for b in d.body] == ["正文", "研究部署。"] and d.body[1].run_in == "请于……"
    assert d.copy_line == "抄送：县委督查室。"


def test_headings_are_numbered_per_level():
    blocks = [
        paragraph("开头。"),
        heading1("问题情况"),
        paragraph("情况。"),
        heading1("办理要求"),
        heading2("研究部署。", "请于……"),
        heading2("反馈办理情况。"),
        heading1("有关要求"),
        heading2("跟踪问效。"),
    ]
    labels = [(n.kind, n.label) for n in numbered(blocks)]
    assert labels == [
        (BlockKind.PARAGRAPH, ""),
        (BlockKind.HEADING1, "一、"),
        (BlockKind.PARAGRAPH, ""),
        (BlockKind.HEADING1, "二、"),
        (BlockKind.HEADING2, "（一）"),
        (BlockKind.HEADING2, "（二）"),
        (BlockKind.HEADING1, "三、"),
        (BlockKind.HEADING2, "（一）"),
    ]
    assert [cn_numeral(n) for n in (1, 9, 10, 11, 19, 20, 21, 99)] == [
        "一",
        "九",
        "十",
        "十一",
        "十九",
        "二十",
        "二十一",
        "九十九",
    ]


def test_milestone_needs_a_name_and_a_date():
    with pytest.raises(MissingField) as e:
        Milestone(" ", date(2024, 1, 11), "1日内")
    assert e.value.field == "milestone"
    with pytest.raises(InvalidValue) as e:
        Milestone("研究部署", "2024-01-11", "1日内")
    assert e.value.field == "milestone_due"


# -- the standard 13710 letter ----------------------------------------------------------------------------


def all_text(d: LetterDoc) -> str:
    parts = [d.organ_mark, d.number, d.title, d.addressee_line, d.signatory, d.issued_text, d.note_line]
    parts += [n.label + n.text + n.run_in for n in d.numbered_body()]
    parts += [name for _, name in d.attachment_lines] + [d.copy_line, d.printer, d.printed_text]
    return "\n".join(parts)


def test_supervision_letter_says_what_a_county_office_writes():
    d = supervision_letter()
    text = all_text(d)
    assert NUMBER.fullmatch(d.number)
    assert d.title_lines == ["关于督促解决化工园区基础设施建设项目", "用地问题的督办函"]
    assert d.addressee_line == "阳城县自然资源局："
    body = [n.label + n.text + n.run_in for n in d.numbered_body()]
    assert body[0].startswith(
        "化工园区基础设施建设存在“化工园区污水处理厂及管网用地缺补充耕地指标，占补平衡未落实”的问题。"
    )
    assert "该问题于2023年12月交办" in body[0] and "根据“13710”督办工作机制" in body[0]
    assert (
        body[1] == "一、问题情况" and body[2].startswith("化工园区污水处理厂") and body[3].startswith("2023年12月27日")
    )
    assert body[4] == "二、办理要求"
    assert body[5].startswith("（一）1日内研究部署。请于2024年1月11日前研究提出解决措施")
    assert body[5].endswith("并将工作安排报县政府督查室。")
    assert body[6].startswith("（二）3日内反馈办理情况。请于2024年1月13日前")
    assert body[7].startswith("（三）7日内落实到位。该问题属一般性问题，请于2024年1月17日前落实到位")
    assert "时间表和工作方案" in body[8] and "跟踪到底、销号清零" in body[8]
    assert d.note_line == "（联系人：张敏，联系电话：0356-4222222）"
    assert d.copy_line == "抄送：县委督查室，县政府办公室，阳城经济技术开发区管委会。"
    assert d.attachment_lines == [("", "“13710”督办事项办理情况反馈表")]
    assert [m.action for m in d.milestones] == ["研究部署", "反馈办理情况", "落实到位"]
    # No system state: no status, lights, ISO dates, problem codes or automation in a 公文.
    for word in ("状态", "灯", "自动", "升级", "系统", "duban", "问题编号"):
        assert word not in text, word
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)


def test_major_problem_and_plain_title():
    d = supervision_letter(major=True, topic="", settle=Milestone("落实到位", date(2024, 2, 10), "1个月内"))
    assert d.title_text == "关于督促解决化工园区基础设施建设项目有关问题的督办函"
    assert any("（三）1个月内落实到位。该问题属重大复杂问题" in n.label + n.text + n.run_in for n in d.numbered_body())


def test_title_breaks_only_where_the_words_allow():
    assert supervision_title(
        "东部片区一体化供水工程", "用地"
    ) == "关于督促解决东部片区一体化供水工程用地问题的督办函".replace("工程用", "工程\n用")
    assert supervision_title("嘉润园", "征拆") == "关于督促解决嘉润园项目征拆问题的督办函"  # 19 characters: one line
    long = supervision_title("阳城县南部片区城中村改造回迁安置楼二期及配套基础设施项目", "征收拆迁")
    assert "\n" not in long and long.endswith("征收拆迁问题的督办函")


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"contact": ""}, "contact"),
        ({"phone": " "}, "phone"),
        ({"description": "\n\n"}, "description"),
        ({"problem_title": ""}, "title"),
        ({"project": ""}, "project"),
        ({"number": "阳督函〔2024〕03号"}, "number"),
        ({"unit": ""}, "unit"),
        ({"feedback": Milestone("反馈办理情况", date(2024, 1, 9), "3日内")}, "milestones"),
        ({"settle": Milestone("落实到位", date(2024, 1, 12), "7日内")}, "milestones"),
        ({"deploy": "2024-01-11"}, "milestones"),
    ],
)
def test_supervision_letter_refuses_incomplete_facts(overrides, field):
    with pytest.raises(InvalidValue) as e:
        supervision_letter(**overrides)
    assert e.value.field == field
    assert re.search(r"[\u4e00-\u9fff]", e.value.message)


def test_letter_is_plain_data():
    d = supervision_letter()
    assert replace(d, number="阳督函〔2024〕4号").number_parts.serial == 4
    with pytest.raises(InvalidValue):
        replace(d, number="阳督函〔2024〕第4号")
    assert d.issued == ISSUED


# -- layout arithmetic ---------------------------------------------------------------------------------


def test_page_geometry_matches_the_standard():
    assert layout.TEXT_MM == (
        layout.PAGE_MM[0] - layout.MARGIN_MM["left"] - layout.MARGIN_MM["right"],
        layout.PAGE_MM[1] - layout.MARGIN_MM["top"] - layout.MARGIN_MM["bottom"],
    )
    text_height_pt = layout.TEXT_MM[1] * layout.MM_PT
    assert 22 * layout.LINE_PT <= text_height_pt < 23 * layout.LINE_PT
    assert 28 * layout.CHAR_PT <= layout.TEXT_WIDTH_PT + 1e-9 < 29 * layout.CHAR_PT


def test_signature_indents():
    # Sealed: the date four characters from the right, the signatory centred over it.
    assert layout.signature_indents("阳城县人民政府督查室", "2024年1月10日", sealed=True) == (2.25, 4.0)
    # Unsealed: the signatory two from the right, the date starting two characters further right ...
    assert layout.signature_indents("阳城县人民政府督查室", "2024年1月10日", sealed=False) == (2.0, 3.5)
    # ... unless the date is longer: then the date two from the right, the signatory moved left.
    assert layout.signature_indents("县督查室", "2024年12月31日", sealed=False) == (7.0, 2.0)


def test_organ_mark_fits_one_line():
    assert layout.organ_mark_pt("县政府办督查室") == layout.ORGAN_MAX_PT
    long = "阳城县人民政府办公室阳城县人民政府督查室"
    assert layout.organ_mark_pt(long) * width_em(long) <= layout.TEXT_WIDTH_PT
