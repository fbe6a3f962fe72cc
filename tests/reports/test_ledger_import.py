"""Importing ledgers: round trips, idempotence, audit trails, messy real-world workbooks, and precise
errors with nothing written (full database dumps compared before and after)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from models.db import session
from models.tables import Event, Notice, Problem
from reports.columns import COLUMNS
from reports.importer import import_ledger
from reports.ledger_export import export_ledger
from service.ledger import LedgerQuery
from service.sweep import run_sweep
from tests.conftest import at
from workflow.errors import PermissionDenied

IMPORTED = [c.key for c in COLUMNS if c.imported]


def _export(county, path):
    export_ledger(county.engine, county.rules, county.clock.now, path, LedgerQuery(sort="code"), "admin")
    return path


def _import(county, path, login="admin", dry_run=False):
    return import_ledger(county.engine, county.rules, county.clock.now, login, path, dry_run=dry_run)


def _rows(path):
    ws = load_workbook(path).active
    keys = [c.key for c in COLUMNS]
    return {r[1]: dict(zip(keys, r)) for r in ws.iter_rows(min_row=3, values_only=True)}


def _workbook(path, header, rows, title=None, merges=(), section=None):
    """``section``: a 责任科室 column after the others, filled on every row that has content (交办 needs one)."""
    if section is not None:
        header = [*header, "责任科室"]
        rows = [[*r, section] if any(v not in (None, "") for v in r) else r for r in rows]
    wb = Workbook()
    ws = wb.active
    ws.title = "问题台账"
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    for ref in merges:
        ws.merge_cells(ref)
    wb.save(path)
    return path


def test_round_trip_preserves_every_field(sample_county, empty_county, tmp_path):
    source = _export(sample_county, tmp_path / "sample.xlsx")
    report = _import(empty_county, source)
    assert report.ok and report.created == 10 and not report.skipped, report.issues
    assert report.by_state == {
        "discovered": 1,
        "assigned": 3,
        "supervised": 3,
        "suspended": 1,
        "review": 1,
        "closed": 1,
    }
    again = _export(empty_county, tmp_path / "again.xlsx")
    before, after = _rows(source), _rows(again)
    assert before.keys() == after.keys()
    for code in before:
        for key in IMPORTED + ["seq", "project_leader", "provisional", "closing"]:
            assert after[code][key] == before[code][key], (code, key)
    # And as CSV, through a third database.
    csv_path = _export(sample_county, tmp_path / "sample.csv")
    assert csv_path.read_text("utf-8-sig").count("\n") == 11


def test_csv_round_trip(sample_county, tmp_path, rules):
    from tests.reports.conftest import County, seed_directory

    target = County(f"sqlite:///{tmp_path / 'third.db'}", rules, "2024-01-20")
    seed_directory(target.engine)
    csv_path = tmp_path / "sample.csv"
    export_ledger(sample_county.engine, rules, sample_county.clock.now, csv_path, LedgerQuery(sort="code"), "admin")
    assert _import(target, csv_path).created == 10
    a, b = _rows(_export(sample_county, tmp_path / "a.xlsx")), _rows(_export(target, tmp_path / "b.xlsx"))
    assert a.keys() == b.keys()
    for code, row in a.items():
        assert {k: row[k] for k in IMPORTED} == {k: b[code][k] for k in IMPORTED}


def test_importing_twice_changes_nothing(sample_county, empty_county, tmp_path):
    source = _export(sample_county, tmp_path / "sample.xlsx")
    _import(empty_county, source)
    once = empty_county.dump()
    report = _import(empty_county, source)
    assert report.created == 0 and len(report.skipped) == 10 and not report.warnings
    assert empty_county.dump() == once
    # The source database itself: every row is already there.
    before = sample_county.dump()
    assert len(_import(sample_county, source).skipped) == 10
    assert sample_county.dump() == before


def test_every_imported_problem_has_an_audit_trail_and_no_notices(sample_county, empty_county, tmp_path):
    _import(empty_county, _export(sample_county, tmp_path / "sample.xlsx"))
    with session(empty_county.engine) as s:
        problems = s.execute(sa.select(Problem.id, Problem.code, Problem.state, Problem.level)).all()
        events = s.execute(sa.select(Event).order_by(Event.problem_id, Event.at, Event.id)).scalars().all()
        assert s.execute(sa.select(sa.func.count()).select_from(Notice)).scalar_one() == 0
    by_problem = {}
    for e in events:
        by_problem.setdefault(e.problem_id, []).append(e)
    for pid, _code, state, level in problems:
        trail = by_problem[pid]
        assert trail[0].action == "log" and trail[0].to_state == "discovered"
        assert trail[-1].action == "note" and "台账「sample.xlsx」" in trail[-1].comment
        assert trail[-1].at == empty_county.clock.now
        assert all(e.actor == "admin" and e.data["import"]["file"] == "sample.xlsx" for e in trail)
        assert [e.at for e in trail] == sorted(e.at for e in trail)
        # The state and level the problem has are those its last state-changing event reached.
        assert (trail[-1].to_state, trail[-1].to_level) == (state, level)
    # The escalated one went there by a real escalation, keeping the ledger's deadline.
    code = next(c for _, c, _, lv in problems if lv == "supervision_13710")
    detail = {e.action: e for e in by_problem[next(p for p, c, _, _ in problems if c == code)]}
    assert detail["escalate"].from_level == "county_leader" and detail["escalate"].data["deadline_given"]


def test_imported_problems_continue_through_the_workflow(sample_county, empty_county, tmp_path):
    _import(empty_county, _export(sample_county, tmp_path / "sample.xlsx"))
    review = next(c for c, r in _rows(tmp_path / "sample.xlsx").items() if r["state"] == "待审核")
    empty_county.clock.set("2024-01-22T10:00")
    closed = empty_county.service.act("zhang.dcs", review, "close", rating="优秀")
    assert closed.state == "closed"
    report = run_sweep(empty_county.engine, empty_county.rules, at("2024-01-23"))
    assert report.actions  # the sweep takes over: the imported deadlines are live
    new = empty_county.service.log("xu.kfq", "嘉润综合物流园区", "land", "新问题")
    assert new.code == "WT-2024-0006"  # the year's counter moved past the imported WT-2024-0005


def test_messy_workbook_imports_correctly(empty_county, tmp_path):
    header = [
        "序号",
        "项目",
        "存在问题",
        "类别",
        "性质",
        "需县级协调",
        "牵头单位",
        "责任人",
        "交办时间",
        "时限",
        "办理状态",
        "工作进展",
        "层级",
    ]
    rows = [
        [
            1,
            "嘉润综合物流园区",
            "  二期冷链仓储用地预审未办结  ",
            "土地问题",
            "一般",
            "否",
            "县自然资源局",
            "孙丽",
            "2024年1月8日",
            "２０２４－０２－１９",
            "已交办",
            "已组卷",
            "",
        ],
        [None] * 13,  # a blank row in the middle
        [
            2,
            "化工园区基础设施建设",
            "污水处理厂用地指标",
            "land",
            "一般",
            "是",
            "ziranziyuan",
            "zhou.zrzy",
            date(2024, 1, 3),
            datetime(2024, 1, 31),
            "督办中",
            None,
            "县级领导",
        ],
        [
            3,
            "大宁煤矿铁路专用线扩建",
            "线路涉及永久基本农田",
            "土地",
            "重大",
            "",
            "自然资源局",
            "sun.zrzy",
            "2024/1/5",
            45338,
            "已销号",
            None,
            "",
        ],
        [None] * 13,
    ]
    path = _workbook(
        tmp_path / "messy.xlsx",
        header,
        rows,
        title="阳城县冬季行动问题台账（第一批）",
        merges=["A1:M1"],
        section="耕地保护股",
    )
    report = _import(empty_county, path, dry_run=True)
    # A closed row needs its 办结情况: one precise error, nothing written.
    assert [(i.row, i.column) for i in report.issues] == [(6, "办结情况"), (6, "评价等级")]
    assert "状态为「销号」的问题必须填写办结情况" in report.issues[0].message
    assert "状态为「销号」的问题必须填写评价等级" in report.issues[1].message
    rows[3][10] = "督办"
    path = _workbook(
        tmp_path / "messy.xlsx",
        header,
        rows,
        title="阳城县冬季行动问题台账（第一批）",
        merges=["A1:M1"],
        section="耕地保护股",
    )
    report = _import(empty_county, path)
    assert report.ok, [i.line() for i in report.issues]
    assert report.created == 3 and report.blank_rows == 2 and report.sheet == "问题台账"
    got = _rows(_export(empty_county, tmp_path / "out.xlsx"))
    first = got["WT-2024-0001"]
    assert (first["title"], first["category"], first["unit"], first["person"], first["state"]) == (
        "二期冷链仓储用地预审未办结",
        "土地",
        "自然资源局",
        "孙丽",
        "交办",
    )
    assert first["assigned"].date() == date(2024, 1, 8) and first["deadline"].date() == date(2024, 2, 19)
    assert first["progress"] == "已组卷" and first["leader"] == "刘志刚"  # no 分管领导 column: the unit head
    second = got["WT-2024-0002"]
    assert (second["level"], second["state"], second["county_level"]) == ("项目分包处级领导牵头协调", "督办", "是")
    assert second["deadline"].date() == date(2024, 1, 31)
    # Major → 13710 at assignment (the meeting is its next rung). 45338 is Excel's 2024-02-16, a Friday inside the Spring
    # Festival holiday: like every typed deadline it ends on the next working day, the make-up Sunday 02-18.
    third = got["WT-2024-0003"]
    assert (third["level"], third["deadline"].date()) == ("“13710”督办", date(2024, 2, 18))


ERROR_HEADER = [
    "问题编号",
    "项目名称",
    "问题名称",
    "问题类型",
    "问题性质",
    "责任单位",
    "责任人",
    "交办日期",
    "办结时限",
    "状态",
]


def test_every_error_is_reported_and_nothing_is_written(empty_county, tmp_path):
    rows = [
        [
            "",
            "嘉润综合物流园区",
            "正常的一行",
            "土地",
            "一般",
            "自然资源局",
            "sun.zrzy",
            "2024-01-08",
            "2024-02-19",
            "交办",
        ],
        ["", "不存在的项目", "项目不对", "土地", "一般", "自然资源局", "sun.zrzy", "2024-01-08", "", "交办"],
        ["", "嘉润综合物流园区", "单位不对", "土地", "一般", "火星局", "sun.zrzy", "2024-01-08", "", "交办"],
        ["", "嘉润综合物流园区", "类型不对", "道路", "一般", "自然资源局", "sun.zrzy", "2024-01-08", "", "交办"],
        ["", "嘉润综合物流园区", "日期不对", "土地", "一般", "自然资源局", "sun.zrzy", "2024年13月8日", "明天", "交办"],
        [
            "WT-2024-0007",
            "嘉润综合物流园区",
            "编号重复一",
            "土地",
            "一般",
            "自然资源局",
            "sun.zrzy",
            "2024-01-08",
            "",
            "交办",
        ],
        [
            "WT-2024-0007",
            "嘉润综合物流园区",
            "编号重复二",
            "土地",
            "一般",
            "自然资源局",
            "sun.zrzy",
            "2024-01-08",
            "",
            "交办",
        ],
        ["", "嘉润综合物流园区", "正常的一行", "土地", "一般", "自然资源局", "sun.zrzy", "2024-01-08", "", "交办"],
        [
            "TD-01",
            "嘉润综合物流园区",
            "编号格式不对",
            "土地",
            "一般",
            "自然资源局",
            "wu.ly",
            "2024-01-08",
            "2024-01-01",
            "交办",
        ],
        ["", "嘉润综合物流园区", "状态不对", "土地", "一般", "自然资源局", "sun.zrzy", "2024-01-08", "", "处理中"],
    ]
    path = _workbook(tmp_path / "bad.xlsx", ERROR_HEADER, rows, section="耕地保护股")
    before = empty_county.dump()
    report = _import(empty_county, path)
    assert empty_county.dump() == before
    lines = [i.line() for i in report.issues]
    expected = [
        (3, "项目名称", "B3", "不存在的项目", "项目不存在"),
        (4, "责任单位", "F4", "火星局", "单位不存在"),
        (5, "问题类型", "D5", "道路", "土地（land）、征拆（demolition）"),
        (6, "交办日期", "H6", "2024年13月8日", "不是存在的日期"),
        (6, "办结时限", "I6", "明天", "应为日期"),
        (8, "问题编号", "A8", "WT-2024-0007", "与第 7 行重复"),
        (9, "问题名称", "C9", "正常的一行", "与第 2 行重复"),
        (10, "问题编号", "A10", "TD-01", "应形如 WT-2024-0001"),
        (10, "责任人", "G10", "wu.ly", "不属于责任单位「自然资源局」"),
        (11, "状态", "J11", "处理中", "交办（assigned）"),
    ]
    assert len(report.issues) == len(expected), lines
    for issue, (row, column, cell, value, fragment) in zip(report.issues, expected):
        assert (issue.row, issue.column, issue.cell, issue.value) == (row, column, cell, value), issue.line()
        assert fragment in issue.message, issue.line()
    assert lines[0] == "第 3 行，「项目名称」列（B3）：值「不存在的项目」：项目不存在；请先在项目管理中登记该项目"


def test_deadline_before_assignment_and_permission(empty_county, tmp_path):
    rows = [
        [
            "",
            "嘉润综合物流园区",
            "时限早于交办",
            "土地",
            "一般",
            "自然资源局",
            "sun.zrzy",
            "2024-01-08",
            "2024-01-01",
            "交办",
        ],
        ["", "嘉润综合物流园区", "已销号", "土地", "一般", "自然资源局", "sun.zrzy", "2024-01-08", "", "销号"],
    ]
    path = _workbook(
        tmp_path / "x.xlsx",
        ERROR_HEADER + ["办结情况", "评价等级"],
        [r + ["已解决", "合格"] if r[9] == "销号" else r + ["", ""] for r in rows],
        section="耕地保护股",
    )
    report = _import(empty_county, path)
    assert [(i.row, i.column) for i in report.issues] == [(2, "办结时限")], [i.line() for i in report.issues]
    assert "早于交办日期（2024-01-08）" in report.issues[0].message
    # The inspection office may import, but only an admin or the unit may apply to close: the workflow's
    # own permission check refuses the replay of a closed row, per row.
    rows.pop(0)
    path = _workbook(
        tmp_path / "y.xlsx",
        ERROR_HEADER + ["办结情况", "评价等级"],
        [r + ["已解决", "合格"] for r in rows],
        section="耕地保护股",
    )
    before = empty_county.dump()
    report = _import(empty_county, path, login="zhang.dcs")
    assert len(report.issues) == 1 and "无法申请销号" in report.issues[0].message, report.issues
    assert empty_county.dump() == before
    with pytest.raises(PermissionDenied, match="只有管理员或督查室可以导入"):
        _import(empty_county, path, login="sun.zrzy")


def test_structural_errors(empty_county, tmp_path):
    before = empty_county.dump()
    # Merged data cells, an unknown column, a duplicate column and stray values without a header.
    header = ["项目名称", "问题名称", "问题类型", "责任单位", "负责同志", "问题类型"]
    rows = [
        ["嘉润综合物流园区", "甲", "土地", "自然资源局", "x", "土地", None, "多余"],
        ["嘉润综合物流园区", "乙", "土地", None, "y", "土地"],
        ["嘉润综合物流园区", "丙", "土地", None, "z", "土地"],
    ]
    path = _workbook(tmp_path / "s.xlsx", header, rows, merges=["D2:D4"])
    report = _import(empty_county, path)
    messages = [i.line() for i in report.issues]
    assert any("「负责同志」" in m and "不是台账的列名" in m for m in messages), messages
    assert any("与 C 列重复" in m for m in messages), messages
    assert any("合并单元格 D2:D4（第 2–4 行，「责任单位」列）" in m for m in messages), messages
    assert any("H 列有 1 个单元格有内容" in m for m in messages), messages
    assert empty_county.dump() == before
    # Missing required columns; and a workbook with no recognisable header at all.
    path = _workbook(
        tmp_path / "m.xlsx", ["项目名称", "责任单位", "责任人"], [["嘉润综合物流园区", "自然资源局", "孙丽"]]
    )
    report = _import(empty_county, path)
    assert "缺少必需的列：问题名称、问题类型" in report.issues[0].message
    from workflow.errors import InvalidValue

    path = _workbook(tmp_path / "n.xlsx", ["a", "b"], [[1, 2]])
    with pytest.raises(InvalidValue, match="没有找到台账表头"):
        _import(empty_county, path)
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InvalidValue, match="不是有效的 .xlsx 文件"):
        _import(empty_county, tmp_path / "bad.xlsx")
    assert empty_county.dump() == before


def test_gbk_csv_and_existing_by_title(empty_county, tmp_path):
    text = (
        "项目名称,问题名称,问题类型,责任单位,责任人,责任科室,办结时限,状态\n"
        "嘉润综合物流园区,用地预审未办结,土地,自然资源局,孙丽,耕地保护股,2024/2/19,交办\n"
    )
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gb18030"))  # Excel on Chinese Windows saves CSV as GBK
    report = _import(empty_county, path)
    assert report.created == 1 and report.events == 3  # log, assign, the import note
    # Same project and title, no code: the same problem — skipped, with a warning when it differs.
    path.write_bytes(text.replace("交办", "督办").encode("gb18030"))
    report = _import(empty_county, path)
    assert report.created == 0 and report.skipped == [(2, "WT-2024-0001")]
    assert "系统中状态为「交办」" in report.warnings[0].message
