"""The audit log records the wall-clock time of every event beside the business time. Where they differ (a
simulated ``--at``), ``duban show``, the problem page, the API and the ledger export show both, so a
backdated entry is always visible as such; an ordinary entry shows one time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from seckit import run_cli

pytestmark = [pytest.mark.web]


def events(w) -> list:
    with w.engine.connect() as c:
        return c.execute(sa.text("SELECT action, at, recorded_at FROM event ORDER BY id")).all()


def as_utc(value) -> datetime:
    value = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_every_event_records_the_wall_clock_and_at_never_moves_it(sec, capsys):
    start = datetime.now(UTC)
    code = sec.problem("assigned")  # business clock: 2024-01-08
    code_, out, err = run_cli(capsys, "--db", sec.url, "--at", "2024-01-09T10:00", "--as", "staff", "ack", code)
    assert code_ == 0, err
    end = datetime.now(UTC)
    rows = events(sec)
    assert [r.action for r in rows] == ["log", "assign", "ack"]
    for _, at, recorded in rows:
        assert start - timedelta(seconds=1) <= as_utc(recorded) <= end + timedelta(seconds=1)
        assert as_utc(at).year == 2024  # the business time stays what the workflow counted with


def test_show_the_page_the_api_and_the_export_flag_a_backdated_entry(sec, capsys, tmp_path):
    code = sec.problem("assigned")  # entered "on 2024-01-08", really today
    now = datetime.now(UTC)
    # An entry made with the business clock at the wall clock's time is not flagged.
    sec.clock.now = now
    sec.service.act("staff", code, "note", text="当场录入的备注")

    code_, out, err = run_cli(capsys, "--db", sec.url, "--as", "insp", "show", code)
    assert code_ == 0, err
    local = now.astimezone(sec.rules.timezone)
    assert out.count("（实际录入") == 2, out  # log and assign, not the note
    assert f"（实际录入 {local:%Y-%m-%d}" in out

    page = sec.login("insp").get(f"/problems/{code}").text
    assert page.count('class="small backdated"') == 2 and f"实际录入于 {local:%Y-%m-%d}" in page

    history = sec.login("insp").get(f"/api/v1/problems/{code}/events").json()
    assert [h["backdated"] for h in history] == [True, True, False]
    assert all(h["recorded_at"].startswith(f"{local:%Y-%m-%d}") for h in history)

    target = tmp_path / "ledger.xlsx"
    code_, _, err = run_cli(capsys, "--db", sec.url, "--as", "insp", "export-ledger", str(target))
    assert code_ == 0, err
    from openpyxl import load_workbook

    from reports.columns import COLUMNS

    ws = load_workbook(target, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    col = [c.key for c in COLUMNS].index("backdated")
    assert rows[1][col] == "录入说明"
    note = rows[2][col]
    assert note.startswith("登记问题（记为 2024-01-08 09:00，实际录入 ") and "；交办（记为 2024-01-08 09:00" in note
    assert "添加备注" not in note

    csv_path = tmp_path / "ledger.csv"
    run_cli(capsys, "--db", sec.url, "--as", "insp", "export-ledger", str(csv_path))
    assert "交办（记为 2024-01-08 09:00，实际录入" in csv_path.read_text("utf-8-sig")


def test_events_from_before_the_column_existed_show_one_time(sec, capsys):
    code = sec.problem("assigned")
    with sec.engine.begin() as c:
        c.execute(sa.text("UPDATE event SET recorded_at = NULL"))
    code_, out, _ = run_cli(capsys, "--db", sec.url, "--as", "insp", "show", code)
    assert code_ == 0 and "实际录入" not in out
    history = sec.login("insp").get(f"/api/v1/problems/{code}/events").json()
    assert {h["backdated"] for h in history} == {False} and {h["recorded_at"] for h in history} == {None}
