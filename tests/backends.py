"""The two databases every integration and acceptance test runs on: an SQLite file and PostgreSQL.

PostgreSQL comes from ``DUBAN_TEST_PG`` (a SQLAlchemy URL to a database the tests may wipe; .ci/run
starts a server and sets it). Without it, or when it does not answer, PostgreSQL tests are skipped
locally with the reason — but fail under CI (``CI=true``), where a skipped backend would be a false green.
"""

from __future__ import annotations

import os
import uuid
from functools import lru_cache

import pytest
import sqlalchemy as sa

BACKENDS = ["sqlite", "postgresql"]


@lru_cache(maxsize=1)
def pg_admin_url() -> str | None:
    url = os.environ.get("DUBAN_TEST_PG")
    if not url:
        return None
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # noqa: BLE001 — any failure means "not reachable"
        return None
    return url


def require_pg() -> str:
    url = pg_admin_url()
    if url:
        return url
    reason = (
        "PostgreSQL 不可用：设置 DUBAN_TEST_PG=postgresql+psycopg://用户:密码@127.0.0.1/库名 后可运行"
        if not os.environ.get("DUBAN_TEST_PG")
        else f"PostgreSQL 无法连接：{os.environ['DUBAN_TEST_PG']}"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI 必须测试 PostgreSQL，但 {reason}")
    pytest.skip(reason)


def new_database_url(kind: str, tmp_path) -> str:
    """A fresh, empty database of ``kind`` for one test (a file, or a new PostgreSQL database)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'duban.db'}"
    admin = sa.engine.make_url(require_pg())
    name = f"duban_t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    _created.append(name)
    return admin.set(database=name).render_as_string(hide_password=False)


def copy_database(url: str, tmp_path) -> str:
    """A copy of a test database (SQLite backup API, or CREATE DATABASE … TEMPLATE)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        import sqlite3

        target = tmp_path / "copy.db"
        src, dst = sqlite3.connect(parsed.database), sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()
        return f"sqlite:///{target}"
    name = f"duban_t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(sa.engine.make_url(require_pg()), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    engine.dispose()
    _created.append(name)
    return parsed.set(database=name).render_as_string(hide_password=False)


# Derived from the other tables and kept by triggers (their rows and ids depend on the history of writes, not
# only on the data): the directory stamp, the dashboard's tally, the text-search index and its shadow tables.
DERIVED = ("directory_stamp", "ledger_tally", "problem_search")


def dump(url: str) -> dict:
    """Every row of every table, in primary-key order, read through SQLAlchemy (any backend) — but the
    derived tables (``DERIVED``): a counter that any write to users, units or projects moves on by design,
    the tally and the search index."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns or t.columns))]
                for name, t in sorted(meta.tables.items())
                if not name.startswith(DERIVED)
            }
    finally:
        engine.dispose()


_created: list[str] = []


def drop_created() -> None:
    url = pg_admin_url()
    if not url or not _created:
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name in _created:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
    _created.clear()
