"""Dates within a sane window everywhere a date enters (years 2000–2099), deadlines no further ahead than the
rules allow, and a hostile rules file: each refused with a clear Chinese error (400 / exit 2 / exit 7), never
an OverflowError, a 500 or exit 70, and nothing written."""

from __future__ import annotations

import pytest
from seckit import run_cli, snapshot

from workflow.dates import check_window, latest_deadline, parse_date
from workflow.errors import InvalidValue, RulesError
from workflow.rules import DEFAULT_RULES_PATH, load_rules

pytestmark = [pytest.mark.web]


def api(w, login: str = "insp"):
    from datetime import timedelta

    from models.db import session
    from service import directory
    from service import tokens as tk

    with session(w.engine) as s, s.begin():
        token = tk.create(s, directory.view(s).user(login).id, "t", w.clock(), w.clock() + timedelta(days=1))
    c = w.client()
    c.headers["Authorization"] = f"Bearer {token}"
    return c


@pytest.mark.parametrize(
    "deadline,message",
    [
        ("9999-12-31", "办结时限「9999-12-31」超出允许范围：年份应在 2000–2099 年之间"),
        ("9000-01-01", "办结时限「9000-01-01」超出允许范围：年份应在 2000–2099 年之间"),
        ("0001-01-01", "办结时限「0001-01-01」超出允许范围"),
        ("1999-12-31", "办结时限「1999-12-31」超出允许范围"),
        ("2026-01-09", "办结时限 2026-01-09 太远：最多可定在今天起 24个月以内（2026-01-08 及以前）"),
    ],
)
def test_assign_deadline_outside_the_window_is_400_and_changes_nothing(sec, deadline, message):
    code = sec.problem("discovered")
    c = api(sec)
    before = snapshot(sec)
    r = c.post(
        f"/api/v1/problems/{code}/transitions/assign",
        json={"unit": "ziranziyuan", "person": "staff", "deadline": deadline},
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "invalid_value" and body["field"] == "deadline" and message in body["message"]
    assert snapshot(sec) == before


def test_the_furthest_deadline_allowed_is_accepted(sec):
    code = sec.problem("discovered")
    r = api(sec).post(
        f"/api/v1/problems/{code}/transitions/assign",
        json={
            "unit": "ziranziyuan",
            "person": "staff",
            "leader": "head",
            "section": "耕地保护股",
            "deadline": "2026-01-08",
        },
    )
    assert r.status_code == 200 and r.json()["deadline"] == "2026-01-08"


def test_escalation_deadline_and_the_web_form_use_the_same_check(sec):
    code = sec.problem("assigned")
    insp, c = sec.login("insp"), api(sec)
    before = snapshot(sec)
    r = c.post(f"/api/v1/problems/{code}/transitions/escalate", json={"reason": "协调不动", "deadline": "2099-12-31"})
    assert r.status_code == 400 and "太远" in r.json()["message"]
    from seckit import csrf_of

    token = csrf_of(insp, f"/problems/{code}")
    version = sec.service.get(code).version
    r = insp.post(
        f"/problems/{code}/actions/escalate",
        data={"reason": "协调不动", "deadline": "9999-12-31", "version": str(version), "csrf_token": token},
    )
    assert r.status_code == 400 and "办结时限「9999-12-31」超出允许范围" in r.text
    assert snapshot(sec) == before


def test_deadline_limit_is_a_rules_setting(tmp_path):
    text = DEFAULT_RULES_PATH.read_text("utf-8").replace(
        'max_deadline_ahead = "2 years"', 'max_deadline_ahead = "6 months"'
    )
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    rules = load_rules(path)
    assert str(rules.max_deadline_ahead) == "6 months"
    assert str(load_rules().max_deadline_ahead) == "24 months"
    for value, expected in (
        ('"1 year"', "12 months"),
        ('"2年"', "24 months"),
        ('"400 calendar_days"', "400 calendar_days"),
    ):
        path.write_text(text.replace('"6 months"', value), "utf-8")
        assert str(load_rules(path).max_deadline_ahead) == expected
    for value, error in (
        ('"3 workdays"', "应以年、月或自然日计"),
        ('"forever"', "的值无效"),
        ('"200 years"', "超出范围"),
        ("24", "类型错误"),
    ):
        path.write_text(text.replace('"6 months"', value), "utf-8")
        with pytest.raises(RulesError, match=f"键 limits.max_deadline_ahead .*{error}"):
            load_rules(path)


def test_sweep_and_commands_at_an_absurd_time_exit_2(sec, capsys):
    sec.problem("assigned")
    before = snapshot(sec)
    note = ("note", "WT-2024-0001", "--text")
    for at, args in (
        ("9999-12-31", ("sweep", "--dry-run")),
        ("9999-12-31", ("sweep",)),
        ("0001-01-01", ("--as", "admin", *note, "公元 1 年的备注")),
        ("1999-12-31T23:59", ("--as", "admin", *note, "上世纪的备注")),
        ("2100-01-01T08:00+08:00", ("sweep",)),
    ):
        code, out, err = run_cli(capsys, "--db", sec.url, "--at", at, *args)
        assert code == 2, (at, args, out, err)
        assert err == f"错误：时间（--at / DUBAN_NOW）「{at}」超出允许范围：年份应在 2000–2099 年之间\n"
    assert snapshot(sec) == before


def test_scheduler_until_calendar_and_report_commands_refuse_absurd_dates(sec, capsys, tmp_path):
    cases = [
        (("--at", "2024-01-08", "scheduler", "--until", "9999-01-01"), "时间（--until）「9999-01-01」超出允许范围"),
        (("calendar", "add", "9999-12-20", "3 workdays"), "起始日期「9999-12-20」超出允许范围"),
        (
            ("--as", "admin", "report", "dispatch", "--period", "9999-12", "--out", str(tmp_path)),
            "统计期（--period）「9999-12」超出允许范围",
        ),
        (
            ("--as", "admin", "report", "dispatch", "--period", "0001-01", "--out", str(tmp_path)),
            "统计期（--period）「0001-01」超出允许范围",
        ),
        (
            ("--as", "admin", "report", "agenda", "--meeting", "9999-01-25", "--out", str(tmp_path)),
            "会议日期（--meeting）「9999-01-25」无效：日期 9999-01-25 超出允许范围",
        ),
    ]
    for args, message in cases:
        code, _, err = run_cli(capsys, "--db", sec.url, *args)
        assert code == 2 and err.startswith("错误：") and message in err, (args, err)
    assert list(tmp_path.glob("*.xlsx")) == [] and list(tmp_path.glob("*.docx")) == []


@pytest.mark.parametrize(
    "path",
    [
        "/reports/dispatch?period=9999-12",
        "/reports/dispatch?period=0001-01",
        "/reports/dispatch.xlsx?period=9999-12&half=2",
        "/reports/agenda?meeting=9999-01-25",
        "/reports/agenda.docx?meeting=0001-01-01",
    ],
)
def test_report_pages_refuse_absurd_periods_with_400(sec, path):
    r = sec.login("insp").get(path)
    assert r.status_code == 400, (path, r.status_code, r.text[:300])
    assert "超出允许范围：年份应在 2000–2099 年之间" in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"


def test_a_hostile_rules_file_100k_levels_deep_is_a_rules_error(tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text("version = 1\nx = " + "[" * 100_000 + "]" * 100_000 + "\n", "utf-8")
    with pytest.raises(RulesError, match="嵌套层数过多"):
        load_rules(path)
    inline = tmp_path / "inline.toml"
    inline.write_text("x = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n", "utf-8")
    with pytest.raises(RulesError, match="嵌套层数过多"):
        load_rules(inline)
    code, _, err = run_cli(capsys, "rules", "check", str(path))
    assert code == 7 and err.startswith(f"错误：{path}: 嵌套层数过多")
    code, _, err = run_cli(capsys, "--rules", str(path), "--db", f"sqlite:///{tmp_path / 'x.db'}", "sweep")
    assert code == 7 and "嵌套层数过多" in err


def test_the_window_is_one_domain_function():
    from datetime import date, datetime

    assert parse_date("2099年12月31日", "日期") == date(2099, 12, 31)
    assert parse_date(datetime(2000, 1, 1, 8), "日期") == date(2000, 1, 1)
    for bad in ("2100-01-01", "1999-12-31", "０００１－０１－０１", date(9999, 12, 31)):
        with pytest.raises(InvalidValue, match="年份应在 2000–2099 年之间"):
            parse_date(bad, "日期", "d")
    with pytest.raises(InvalidValue) as info:
        check_window(date(1, 1, 1), "会议日期", "meeting")
    assert info.value.field == "meeting" and info.value.label == "会议日期"
    assert latest_deadline(date(2024, 2, 29), months=24) == date(2026, 2, 28)
    assert latest_deadline(date(2099, 6, 1), months=24) == date(2099, 12, 31)  # never past the window


def test_an_imported_ledger_date_outside_the_window_is_refused_by_row_and_column(sec, capsys, tmp_path):
    csv = tmp_path / "ledger.csv"
    csv.write_text(
        "项目名称,问题名称,问题类型,登记日期\n嘉润综合物流园区,年份写错的问题,土地,0024-02-19\n", encoding="utf-8-sig"
    )
    before = snapshot(sec)
    code, out, err = run_cli(capsys, "--db", sec.url, "--as", "admin", "import-ledger", str(csv))
    assert code == 2 and "未导入任何数据" in err, err
    assert "登记日期" in out and "日期 0024-02-19 超出允许范围：年份应在 2000–2099 年之间" in out, out
    assert snapshot(sec) == before
