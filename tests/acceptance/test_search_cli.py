"""``duban list --search`` on the trigger-kept index, ``duban db reindex`` rebuilding it, and ``duban serve
--workers`` refused on SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests import backends
from tests.acceptance.test_cli_errors import county, template  # noqa: F401  (fixtures)

pytestmark = pytest.mark.acceptance


def test_reindex_rebuilds_a_lost_search_index(county):  # noqa: F811
    duban, code = county
    listed = lambda q: duban("list", "--search", q, user="zhang.dcs").stdout  # noqa: E731
    assert code in listed("用地预") and code in listed("物流园")
    engine = sa.create_engine(duban.db)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM problem_search"))
    finally:
        engine.dispose()
    assert code not in listed("用地预")
    out = duban("db", "reindex").stdout
    assert "已重建搜索索引（1 个问题）" in out
    assert ("重新统计了常见字段片段" in out) == duban.db.startswith("postgresql"), out  # PostgreSQL's alone
    assert code in listed("用地预") and code in listed("物流园")


def test_several_workers_are_refused_on_sqlite(tmp_path):
    from tests.acceptance.conftest import Duban

    duban = Duban(backends.new_database_url("sqlite", tmp_path), tmp_path, subprocess=True)  # the real exit code
    done = duban("serve", "--workers", "2", ok=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("错误：SQLite 数据库只能用 1 个工作进程（指定了 2 个）"), done.stderr
    assert "请改用 PostgreSQL" in done.stderr and "--workers" in done.stderr
