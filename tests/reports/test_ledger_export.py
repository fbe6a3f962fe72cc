"""The exported workbook and CSV, re-read with openpyxl / csv and checked cell by cell against the database."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from models.db import session
from reports.columns import COLUMNS, HEADERS
from reports.ledger_export import export_ledger
from service.ledger import LedgerQuery
from service.queries import problem_detail

COL = {c.key: i + 1 for i, c in enumerate(COLUMNS)}  # 1-based column numbers


def _export(county, tmp_path, name="ledger.xlsx", **filters):
    path = tmp_path / name
    n = export_ledger(county.engine, county.rules, county.clock.now, path, LedgerQuery(**filters, sort="code"), "admin")
    return path, n


def test_workbook_layout(sample_county, tmp_path):
    path, n = _export(sample_county, tmp_path)
    assert n == 10
    ws = load_workbook(path)["问题台账"]
    assert ws["A1"].value.startswith("阳城县项目建设问题台账（截至 2024年01月20日 09:00")
    assert [c.value for c in ws[2]] == list(HEADERS)
    assert all(c.font.bold for c in ws[2])
    assert ws.freeze_panes == "D3"
    assert ws.auto_filter.ref == f"A2:{ws.cell(2, len(HEADERS)).column_letter}12"
    assert ws.column_dimensions["D"].width == pytest.approx(36)  # 问题名称
    assert ws.print_title_rows == "$2:$2"
    assert ws.max_row == 12 and [ws.cell(r, 1).value for r in range(3, 13)] == list(range(1, 11))
    assert not list(ws.merged_cells.ranges)


def test_every_cell_matches_the_database(sample_county, tmp_path):
    path, _ = _export(sample_county, tmp_path)
    ws = load_workbook(path)["问题台账"]
    today = sample_county.clock.now.date()
    tz = sample_county.rules.timezone
    for r in range(3, ws.max_row + 1):
        cell = lambda key, r=r: ws.cell(r, COL[key]).value  # noqa: E731
        with session(sample_county.engine) as s:
            d = problem_detail(s, cell("code"), today, tz)
        assert cell("project") == d["project"]
        assert cell("title") == d["title"]
        assert cell("category") == d["category_label"]
        assert cell("severity") == d["severity_label"]
        assert cell("county_level") == ("是" if d["county_level"] else "否")
        assert cell("description") == d["description"]
        assert cell("unit") == d["responsible_unit"]
        assert (cell("person"), cell("leader")) == (d["responsible_person"], d["leader_in_charge"])
        assert cell("project_leader") == d["contracting_leader"]
        assert (cell("section") or "") == d["responsible_section"]
        assert cell("state") == d["state_label"] and cell("level") == d["level_label"]
        assert cell("light") == d["light_label"]
        assert (cell("progress") or "") == d["progress"]
        # Dates are real date cells with a date format, equal to the local dates in the database.
        assert isinstance(cell("created"), datetime) and ws.cell(r, COL["created"]).number_format == "yyyy-mm-dd"
        assert cell("created").date() == date.fromisoformat(d["created_at"][:10])
        if d["deadline"]:
            assert cell("deadline").date() == date.fromisoformat(d["deadline"])
            assert ws.cell(r, COL["deadline"]).number_format == "yyyy-mm-dd"
        else:
            assert cell("deadline") is None
        if d["assigned_at"]:
            assert cell("assigned").date() == date.fromisoformat(d["assigned_at"][:10])
        if d["state"] == "closed":
            assert cell("closed").date() == date.fromisoformat(d["closed_at"][:10])
            assert cell("rating") == d["rating_label"] and cell("resolution") == d["resolution"]
            assert cell("closing").endswith(f"销号，评价{d['rating_label']}")
        else:
            assert cell("closed") is None and cell("rating") is None
        # The light is a coloured fill; red is white on dark red.
        fill = ws.cell(r, COL["light"]).fill.fgColor.rgb
        expected = {"red": "FFC00000", "yellow": "FFFFD966", "blue": "FF9BC2E6"}.get(d["light"], "00000000")
        assert fill == expected, (d["code"], d["light"], fill)


def test_filters_and_csv(sample_county, tmp_path):
    path, n = _export(sample_county, tmp_path, "nr.xlsx", unit="自然资源局")
    assert n == 5
    ws = load_workbook(path).active
    assert {ws.cell(r, COL["unit"]).value for r in range(3, ws.max_row + 1)} == {"自然资源局"}
    assert "责任单位：自然资源局" in ws["A1"].value
    _, n_red = _export(sample_county, tmp_path, "red.xlsx", light="红灯")
    _, n_closed = _export(sample_county, tmp_path, "closed.xlsx", state="销号", level="unit")
    _, n_overdue = _export(sample_county, tmp_path, "over.xlsx", overdue=True)
    # The red one is at the meeting rung within its deadline: on 2024-01-20 nothing in the sample is overdue.
    assert (n_red, n_closed, n_overdue) == (1, 1, 0)

    csv_path, n = _export(sample_county, tmp_path, "ledger.csv")
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == list(HEADERS) and len(rows) == 11
    xrows = list(load_workbook(_export(sample_county, tmp_path)[0]).active.iter_rows(min_row=3, values_only=True))
    for x, c in zip(xrows, rows[1:]):
        expected = ["" if v is None else (v.date().isoformat() if isinstance(v, datetime) else str(v)) for v in x]
        assert c == expected


def test_bad_export_paths(sample_county, tmp_path):
    from workflow.errors import InvalidValue

    with pytest.raises(InvalidValue, match=r"\.xlsx 或 \.csv"):
        _export(sample_county, tmp_path, "ledger.pdf")
    with pytest.raises(InvalidValue, match="不存在"):
        export_ledger(
            sample_county.engine,
            sample_county.rules,
            sample_county.clock.now,
            tmp_path / "nowhere" / "x.xlsx",
            LedgerQuery(sort="code"),
            "admin",
        )
    with pytest.raises(InvalidValue, match="层级的值「province」无效"):
        _export(sample_county, tmp_path, "x.xlsx", level="province")
    assert not (tmp_path / "x.xlsx").exists()
