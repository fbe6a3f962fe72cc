"""reports.ledger_read on hostile files: each refused with one Chinese InvalidValue (field "file") naming the
part, cell or limit — quickly, in bounded memory — and a fuzz proving nothing else ever escapes."""

from __future__ import annotations

import random
import re
import time
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.ledger_read import read_ledger
from reports.read_limits import ReadLimits
from tests.security import hostile
from workflow.errors import DubanError, InvalidValue

pytestmark = pytest.mark.unit


def _refused(path, fragment: str, limits: ReadLimits | None = None) -> InvalidValue:
    started = time.monotonic()
    with pytest.raises(InvalidValue) as info:
        read_ledger(path, limits=limits)
    assert time.monotonic() - started < 10
    assert fragment in info.value.message, info.value.message
    assert info.value.field == "file" and info.value.message.startswith("「")
    return info.value


@pytest.mark.parametrize("name", [n for n in hostile.REPRODUCTIONS if not n.startswith("formula")])
def test_security_review_reproductions_are_refused(tmp_path, name):
    build, fragment = hostile.REPRODUCTIONS[name]
    _refused(build(tmp_path / f"{name}.xlsx"), fragment)


@pytest.mark.parametrize("name", ["formula_title", "formula_without_value"])
def test_formula_without_a_cached_value_is_an_issue_for_its_cell(tmp_path, name):
    build, fragment = hostile.REPRODUCTIONS[name]
    sheet = read_ledger(build(tmp_path / f"{name}.xlsx"))
    assert [(i.row, i.column, i.cell) for i in sheet.issues] == [(2, "问题名称", "B2")]
    assert fragment in sheet.issues[0].message and sheet.issues[0].value.startswith("=")
    assert len(sheet.rows) == 0


def test_cached_formula_values_are_read_and_error_values_reported(tmp_path):
    def row(n: int, description: str) -> str:
        return (
            f'<row r="{n}">{hostile.text_cell(f"A{n}", hostile.PROJECT)}'
            f'<c r="B{n}" t="str"><f>A{n}&amp;"问题"</f><v>=看似公式的结果{n}</v></c>{hostile.text_cell(f"C{n}", "土地")}'
            f'<c r="D{n}" s="1"><f>DATE(2024,2,19)</f><v>45341</v></c>{description}'
            f'<c r="F{n}" t="e"><f>ROW()/0</f><v>#DIV/0!</v></c></row>'
        )

    header = hostile.rows_xml([hostile.HEADER + ["办结时限", "问题描述", "序号"]])
    xml = hostile.sheet(header + row(2, '<c r="E2" t="e"><f>1/0</f><v>#N/A</v></c>') + row(3, ""))
    sheet = read_ledger(hostile.workbook(tmp_path / "f.xlsx", xml))
    # The error in 问题描述 (imported) is reported; the one in 序号 (export-only) is ignored.
    assert [(i.cell, i.value) for i in sheet.issues] == [("E2", "#N/A")]
    assert "是错误值 #N/A" in sheet.issues[0].message
    assert list(sheet.rows) == [(3, (hostile.PROJECT, "=看似公式的结果3", "土地", datetime(2024, 2, 19), None, None))]


def test_a_normal_workbook_reads(tmp_path):
    xml = hostile.sheet(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c></row><row r="3"><c r="A3" t="s"><v>4</v></c><c r="B3" t="s"><v>5</v></c>'
        '<c r="C3" t="s"><v>6</v></c><c r="D3" s="1"><v>45341</v></c></row>',
        before='<dimension ref="A1:D3"/>',
    )
    strings = hostile.HEADER + ["办结时限", hostile.PROJECT, "问题_x000D_甲", "土地"]
    sheet = read_ledger(hostile.workbook(tmp_path / "ok.xlsx", xml, strings))
    assert not sheet.issues and sheet.blank_rows == 1
    ((number, values),) = list(sheet.rows)
    assert number == 3 and values == (hostile.PROJECT, "问题\r甲", "土地", datetime(2024, 2, 19))


OTHER_XML = {
    "xxe": (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f'<worksheet xmlns="{hostile.MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c>'
        "</row></sheetData></worksheet>",
        "含有 DTD 声明",
    ),
    "billion_laughs": (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        f'<worksheet xmlns="{hostile.MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&d;</t></is></c>'
        "</row></sheetData></worksheet>",
        "含有 DTD 声明",
    ),
    "column_beyond_limit": (hostile.with_data_cell('<c r="BM2"><v>1</v></c>'), "在第 65 列，超出导入上限 64 列"),
    "last_excel_column": (hostile.with_data_cell('<c r="XFD2"><v>1</v></c>'), "超出导入上限 64 列"),
    "row_beyond_limit": (
        hostile.sheet(hostile.rows_xml([hostile.HEADER]) + '<row r="100001"/>'),
        "超出导入上限 100000 行",
    ),
    "dimension_beyond_limit": (
        hostile.sheet("", before='<dimension ref="A1:XFD1048576"/>'),
        "声明的范围 A1:XFD1048576",
    ),
    "rows_out_of_order": (hostile.sheet('<row r="5"/><row r="3"/>'), "第 3 行出现在第 5 行之后"),
    "cell_in_wrong_row": (
        hostile.sheet('<row r="2"><c r="A7"><v>1</v></c></row>'),
        "第 2 行中出现了第 7 行的单元格 A7",
    ),
    "cells_out_of_order": (hostile.sheet('<row r="2"><c r="C2"><v>1</v></c><c r="B2"><v>1</v></c></row>'), "顺序颠倒"),
    "bad_number": (hostile.with_data_cell('<c r="B2"><v>1e999</v></c>'), "超出范围"),
    "nan": (hostile.with_data_cell('<c r="B2"><v>nan</v></c>'), "数值「nan」无效"),
    "bad_bool": (hostile.with_data_cell('<c r="B2" t="b"><v>yes</v></c>'), "逻辑值「yes」无效"),
    "bad_type": (hostile.with_data_cell('<c r="B2" t="zz"><v>1</v></c>'), "类型「zz」无效"),
    "negative_shared_index": (hostile.with_data_cell('<c r="B2" t="s"><v>-1</v></c>'), "不存在的共享字符串「-1」"),
    "style_not_a_number": (hostile.with_data_cell('<c r="B2" s="x"><v>1</v></c>'), "样式编号「x」不存在"),
    "huge_cell": (hostile.with_data_cell(hostile.text_cell("B2", "长" * 40_000)), "超过 Excel 的上限 32767"),
    "deep_nesting": (hostile.sheet("<a>" * 300 + "</a>" * 300), "不是有效的 XML"),
    "not_a_worksheet": (
        f'<worksheet xmlns="{hostile.MAIN}"><sheetData><row r="1"><c r="A1" t="zz"><v>1</v></c></row></sheetData></worksheet>'.replace(
            "<worksheet", "<chartsheet"
        ).replace("</worksheet", "</chartsheet"),
        "不是 Excel 的工作表部件",
    ),
    "other_namespace": (
        '<worksheet xmlns="urn:x"><sheetData><row r="1"/></sheetData></worksheet>',
        "没有找到台账表头",
    ),
    # (these two compress too well for the ratio check; the limits in the test let them through to the watchdog)
    "junk_elements": (hostile.sheet("", before="<sheetPr>" + "<junk/>" * 300_000 + "</sheetPr>"), "结构异常"),
    "many_elements_in_a_cell": (
        hostile.with_data_cell('<c r="B2" t="inlineStr"><is>' + "<r><t></t></r>" * 150_000 + "</is></c>"),
        "结构异常",
    ),
    "bad_merge": (
        hostile.sheet("").replace("</worksheet>", '<mergeCells><mergeCell ref="B3:A1"/></mergeCells></worksheet>'),
        "无效的合并区域",
    ),
}


@pytest.mark.parametrize("name", list(OTHER_XML))
def test_other_hostile_sheets(tmp_path, name):
    xml, fragment = OTHER_XML[name]
    _refused(hostile.workbook(tmp_path / f"{name}.xlsx", xml), fragment, ReadLimits(max_ratio=10_000))


def test_zip_level_attacks(tmp_path):
    _refused(hostile.write_zip(tmp_path / "many.xlsx", {f"f{i}": b"" for i in range(10_001)}), "10001 个文件")
    (tmp_path / "plain.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    _refused(tmp_path / "plain.xlsx", "不是有效的 .xlsx 文件")
    (tmp_path / "empty.xlsx").write_bytes(b"")
    _refused(tmp_path / "empty.xlsx", "不是有效的 .xlsx 文件")
    members = hostile.parts(hostile.sheet(""))
    del members["xl/workbook.xml"]
    _refused(hostile.write_zip(tmp_path / "noworkbook.xlsx", members), "缺少「xl/workbook.xml」")
    # A member that says it is small but inflates further: zipfile stops at the declared size, the CRC fails.
    data = bytearray(hostile.valid(tmp_path / "liar.xlsx").read_bytes())
    at = data.find(b"PK\x01\x02")
    while data[at + 46 : at + 46 + 24] != b"xl/worksheets/sheet1.xml":
        at = data.find(b"PK\x01\x02", at + 4)
    declared = int.from_bytes(data[at + 24 : at + 28], "little")
    data[at + 24 : at + 28] = (declared // 2).to_bytes(4, "little")  # the central directory's uncompressed size
    (tmp_path / "liar.xlsx").write_bytes(bytes(data))
    _refused(tmp_path / "liar.xlsx", "「xl/worksheets/sheet1.xml」")


def test_size_and_budget_limits_are_parameters(tmp_path):
    path = hostile.valid(tmp_path / "ok.xlsx")
    assert len(read_ledger(path).rows) == 1
    _refused(path, "超过导入上限 1000 字节", ReadLimits(max_file_bytes=1000))
    _refused(path, "解压后超过", ReadLimits(max_unzipped_bytes=1000))
    _refused(path, "超出导入上限 1 行", ReadLimits(max_rows=1))
    _refused(path, "超出导入上限 2 列", ReadLimits(max_columns=2))
    _refused(path, "有超过 5 个单元格等元素（导入上限）", ReadLimits(max_elements=5))
    strings = hostile.workbook(tmp_path / "s.xlsx", hostile.sheet(""), ["a", "b", "c"])
    _refused(strings, "共享字符串超过 2 个", ReadLimits(max_shared_strings=2))


def test_csv_limits(tmp_path):
    def csv(name: str, data: bytes):
        path = tmp_path / name
        path.write_bytes(data)
        return path

    header = "项目名称,问题名称,问题类型\n"
    _refused(csv("nul.csv", (header + "甲,乙\x00,土地\n").encode()), "含有 NUL 字符")
    _refused(csv("long.csv", (header + "x" * 3_000_000 + "\n").encode()), "不像是台账")
    _refused(csv("rows.csv", (header + "甲,乙,土地\n" * 5).encode()), "超过导入上限 3 行", ReadLimits(max_rows=3))
    _refused(csv("wide.csv", (header + "甲,乙,土地" + ",x" * 70 + "\n").encode()), "超过导入上限 64 列")
    _refused(csv("size.csv", header.encode()), "超过 CSV 导入上限", ReadLimits(max_csv_bytes=10))
    _refused(csv("enc.csv", header.encode("utf-16")), "既不是 UTF-8 也不是 GBK")
    _refused(csv("field.csv", (header + '"' + "x" * 200_000 + '"\n').encode()), "不是有效的 CSV")
    sheet = read_ledger(csv("q.csv", (header + "甲,'=1+1,土地\n甲,''引号,土地\n").encode()))
    assert [values[1] for _, values in sheet.rows] == ["=1+1", "'引号"]


# -- fuzz --------------------------------------------------------------------------------------------

ODD_VALUES = [
    "",
    "-1",
    "0",
    "abc",
    "99999999999",
    "A0",
    "XFD1048577",
    "AZZZZZ5",
    "1e309",
    "nan",
    "s",
    "str",
    "e",
    "n",
    "inlineStr",
    "d",
    "b",
    "2000000000",
    "&amp;",
    "1048576",
    "A1:XFD1048576",
    "_x0000_",
    "中文",
    "1.5",
    "C2:A1",
]
SNIPPETS = [
    '<c r="A1"/>',
    '<row r="1">',
    "</row>",
    "<f>1+1</f>",
    "<v></v>",
    "<v>9</v>",
    '<c t="s"><v>99</v></c>',
    "<!DOCTYPE x>",
    "]]>",
    "<x>",
    "&e;",
    '<mergeCell ref="A1:B2"/>',
    '<dimension ref="A1"/>',
    "<is><t>x</t></is>",
]


def _base_members(tmp_path) -> dict[str, bytes]:
    xml = hostile.sheet(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c></row><row r="2"><c r="A2" t="s"><v>4</v></c>'
        '<c r="B2" t="inlineStr"><is><r><t>问题</t></r><r><rPr><b/></rPr><t>甲</t></r></is></c>'
        '<c r="C2" t="s"><v>5</v></c><c r="D2" s="1"><v>45341</v></c></row>',
        before='<dimension ref="A1:D2"/>',
    ).replace("</worksheet>", '<mergeCells count="1"><mergeCell ref="F1:G1"/></mergeCells></worksheet>')
    return hostile.parts(xml, hostile.HEADER + ["办结时限", hostile.PROJECT, "土地"])


@st.composite
def mutated(draw):
    part = draw(
        st.sampled_from(
            [
                "xl/worksheets/sheet1.xml",
                "xl/sharedStrings.xml",
                "xl/styles.xml",
                "xl/workbook.xml",
                "xl/_rels/workbook.xml.rels",
                "_rels/.rels",
            ]
        )
    )
    ops = draw(st.lists(st.sampled_from(["truncate", "attribute", "flip", "insert", "delete"]), min_size=1, max_size=3))
    seed = draw(st.integers(0, 2**32 - 1))
    value = draw(st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=8)))
    snippet = draw(st.sampled_from(SNIPPETS))
    zip_flips = draw(st.integers(0, 2))
    return part, ops, seed, value, snippet, zip_flips


def _mutate(text: str, op: str, rnd: random.Random, value: str, snippet: str) -> str:
    if op == "truncate":
        return text[: rnd.randrange(len(text) + 1)]
    if op == "attribute":
        spans = [m.span(2) for m in re.finditer(r'([\w:]+)="([^"]*)"', text)]
        if spans:
            a, b = rnd.choice(spans)
            return text[:a] + value.replace('"', "&quot;").replace("<", "&lt;") + text[b:]
        return text
    if op == "flip":
        chars = list(text)
        for _ in range(rnd.randint(1, 5)):
            if chars:
                chars[rnd.randrange(len(chars))] = chr(rnd.randrange(32, 0x3000))
        return "".join(chars)
    if op == "insert":
        at = rnd.randrange(len(text) + 1)
        return text[:at] + snippet + text[at:]
    a = rnd.randrange(len(text) + 1)
    return text[:a] + text[a + rnd.randint(1, 40) :]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_fuzz_clean_result_or_duban_error(tmp_path, case):
    part, ops, seed, value, snippet, zip_flips = case
    rnd = random.Random(seed)
    members = _base_members(tmp_path)
    text = members[part].decode()
    for op in ops:
        text = _mutate(text, op, rnd, value, snippet)
    members[part] = text.encode("utf-8", "surrogatepass")
    path = hostile.write_zip(tmp_path / "fuzz.xlsx", members)
    if zip_flips:
        data = bytearray(path.read_bytes())
        for _ in range(zip_flips):
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
        path.write_bytes(bytes(data))
    started = time.monotonic()
    try:
        sheet = read_ledger(path)
    except DubanError as exc:
        assert exc.message and "Traceback" not in exc.message
    else:
        assert sheet.header_row >= 1 and all(isinstance(n, int) for n, _ in sheet.rows)
    assert time.monotonic() - started < 5
