"""The installed ``duban`` script as a real process — the few checks the in-process harness cannot make:
the console entry point, start-up, migrations from an empty database, and a refusal's exit code and single
stderr line as another program sees them."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.acceptance, pytest.mark.subprocess]


def test_help_from_the_installed_script(duban):
    out = duban("--help", user=None).stdout
    assert "督办" in out and "显示帮助并退出" in out
    for command in ("init", "log", "sweep", "scheduler", "serve", "report"):
        assert f"  {command}" in out, command


def test_init_migrates_an_empty_database_and_the_ledger_reads_back(duban):
    assert duban.subprocess
    assert "数据库已就绪" in duban("init", "--sample", at="2024-01-10T09:00").stdout
    rows = duban.json("list", at="2024-01-10T09:00")
    assert len(rows) == 10 and all(r["code"].startswith("WT-") for r in rows)


def test_a_refusal_is_one_line_on_stderr_and_an_exit_code(duban):
    duban("init", at="2024-01-10T09:00")
    result = duban("ack", "WT-2024-0999", user="admin", ok=False)  # ok=False checks the one line, no traceback
    assert result.returncode == 3 and "问题编号「WT-2024-0999」不存在" in result.stderr
