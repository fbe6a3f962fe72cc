"""The installed ``duban`` script as a real process — the few checks the in-process harness cannot make:
the console entry point, start-up, migrations from an empty database, and a refusal's exit code and single
stderr line as another program sees them. On SQLite only: the in-process tests cover both databases."""

from __future__ import annotations

import pytest

from tests import backends
from tests.acceptance.conftest import Duban

pytestmark = pytest.mark.acceptance


@pytest.fixture
def script(tmp_path):
    return Duban(backends.new_database_url("sqlite", tmp_path), tmp_path, subprocess=True)


def test_help_from_the_installed_script(script):
    out = script("--help", user=None).stdout
    assert "督办" in out and "显示帮助并退出" in out
    for command in ("init", "log", "sweep", "scheduler", "serve", "report"):
        assert f"  {command}" in out, command


def test_init_list_and_a_refusal_through_the_installed_script(script):
    assert "数据库已就绪" in script("init", "--sample", at="2024-01-10T09:00").stdout  # migrates the empty file
    rows = script.json("list", at="2024-01-10T09:00")
    assert len(rows) == 10 and all(r["code"].startswith("WT-") for r in rows)
    result = script("ack", "WT-2024-0999", ok=False)  # ok=False: one 错误： line on stderr, no traceback
    assert result.returncode == 3 and "问题编号「WT-2024-0999」不存在" in result.stderr
