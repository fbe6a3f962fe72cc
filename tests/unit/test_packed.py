"""reports.packed: the compact stores a ledger read keeps (shared strings, rows)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import packed
from reports.ledger_read import read_ledger
from reports.packed import PackedRows, SharedRef, SharedStrings
from reports.read_limits import ReadLimits
from tests.security import hostile
from workflow.errors import InvalidValue

pytestmark = pytest.mark.unit


@given(st.lists(st.text(max_size=50), max_size=60))
def test_shared_strings_give_back_what_was_put(strings):
    table = SharedStrings()
    for i, text in enumerate(strings):
        table.append(text)
        assert table[i] == text  # readable while still being built
    assert [table[i] for i in range(len(strings))] == strings
    assert [table.blank(i) for i in range(len(strings))] == [not s.strip() for s in strings]
    assert [table.head(i, 3) for i in range(len(strings))] == [s[:3] for s in strings]
    assert table.chars == sum(map(len, strings))


def test_shared_strings_across_chunks(monkeypatch):
    monkeypatch.setattr(packed, "CHUNK_CHARS", 10)
    table = SharedStrings()
    texts = ["督办" * i + "👨\u200d👩" * (i % 3) for i in range(40)]
    for text in texts:
        table.append(text)
    assert [table[i] for i in range(40)] == texts
    assert len(table._chunks) > 5


def test_packed_rows_by_count_and_by_text():
    table = SharedStrings()
    table.append("共享的长文本" * 1000)
    rows = PackedRows(table)
    expected = []
    for n in range(2, 1300):
        values = ("甲" * (n % 50), n, None, datetime(2024, 2, n % 28 + 1), SharedRef(0))
        rows.append((n, values), chars=n % 50)
        expected.append((n, values[:4] + ("共享的长文本" * 1000,)))
    rows.append((1300, ("x" * (2 << 20),)), chars=2 << 20)  # sealed at once: more text than a batch holds
    expected.append((1300, ("x" * (2 << 20),)))
    assert len(rows) == len(expected) and list(rows) == expected
    assert rows[0] == expected[0] and rows[-1] == expected[-1] and rows[700] == expected[700]
    with pytest.raises(IndexError):
        rows[len(expected)]


def test_a_long_shared_string_in_every_cell_is_kept_once_and_capped(tmp_path):
    long = "长" * 30_000
    cells = "".join(f'<c r="{c}{{n}}" t="s"><v>3</v></c>' for c in "ABC")
    body = hostile.rows_xml([hostile.HEADER]) + "".join(
        f'<row r="{n}">' + cells.replace("{n}", str(n)) + "</row>" for n in range(2, 202)
    )
    path = hostile.workbook(tmp_path / "amplified.xlsx", hostile.sheet(body), hostile.HEADER + [long])
    sheet = read_ledger(path)
    assert len(sheet.rows) == 200 and sheet.rows[5][1] == (long, long, long)
    assert sum(len(b) for b in sheet.rows._blocks) < 20_000  # numbers, not 600 copies of 30,000 characters
    with pytest.raises(InvalidValue, match="各列文字合计超过 1000000 个字符"):
        read_ledger(path, limits=ReadLimits(max_kept_chars=1_000_000))
