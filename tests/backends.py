"""The two databases every integration and acceptance test runs on: an SQLite file and PostgreSQL.

PostgreSQL comes from ``DUBAN_TEST_PG`` (a SQLAlchemy URL to a server the tests may create databases on;
.ci/run starts one and sets it). Without it, or when it does not answer, PostgreSQL tests are skipped
locally with the reason — but fail under CI (``CI=true``), where a skipped backend would be a false green.

Every test gets a database of its own. Two kinds:

- ``new_database_url``: empty, for what must start from nothing (the migrations, ``duban init``);
- ``new_migrated_url``: already at the latest migration — a copy of a template this process migrated
  once (SQLite: a file copy; PostgreSQL: ``CREATE DATABASE … TEMPLATE``), instead of running Alembic for
  every test.

Names carry the pytest-xdist worker (``gw0``…) and a random part, so parallel workers — and other
checkouts sharing the same server — never collide. Each process drops the PostgreSQL databases it
created: a test's own as soon as the test is over (``release``, on a background thread), whatever is
left at the end of the session (``drop_created``).
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import uuid
from functools import lru_cache
from pathlib import Path

import pytest
import sqlalchemy as sa

BACKENDS = ["sqlite", "postgresql"]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


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
    """``DUBAN_TEST_PG`` when it answers; otherwise skip (locally) or fail (under CI, where .ci/run sets it)."""
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


def kind_of(url: str) -> str:
    """ "sqlite" or "postgresql" for a database URL."""
    return sa.engine.make_url(url).get_backend_name()


def _unique(prefix: str) -> str:
    return f"{prefix}_{WORKER}_{uuid.uuid4().hex[:10]}"


@lru_cache(maxsize=1)
def _admin_engine() -> sa.Engine:
    # One AUTOCOMMIT engine per process for CREATE/DROP DATABASE (a pooled connection, not one per test).
    return sa.create_engine(sa.engine.make_url(require_pg()), isolation_level="AUTOCOMMIT", pool_size=2)


def _pg_create(name: str, template: str | None = None) -> str:
    sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    with _admin_engine().connect() as conn:
        if template and conn.dialect.server_version_info >= (15,):
            # PostgreSQL 15 copies a template through the WAL by default: about 90 ms of server CPU for a test
            # database, against 25 ms for a file copy (and a checkpoint, cheap on a test server without fsync).
            sql += " STRATEGY FILE_COPY"
        conn.execute(sa.text(sql))
    _created.append(name)
    return sa.engine.make_url(require_pg()).set(database=name).render_as_string(hide_password=False)


def new_database_url(kind: str, tmp_path) -> str:
    """A fresh, empty database of ``kind`` for one test (a file, or a new PostgreSQL database)."""
    if kind == "sqlite":
        return f"sqlite:///{_free_file(Path(tmp_path), 'duban')}"
    return _pg_create(_unique("duban_t"))


def new_migrated_url(kind: str, tmp_path) -> str:
    """A fresh database of ``kind`` already at the latest migration, for one test (a copy of a template)."""
    if kind == "sqlite":
        target = _free_file(Path(tmp_path), "duban")
        shutil.copyfile(sqlite_template(), target)
        return f"sqlite:///{target}"
    return _pg_create(_unique("duban_t"), template=_pg_template())


def _free_file(folder: Path, stem: str) -> Path:
    """``folder/stem.db``, or ``stem-2.db``… when a test asks for a second database in the same folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"{stem}.db", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.db"
    return path


# -- templates: migrated once per process ----------------------------------------------------------------

_template_dir: Path | None = None


@lru_cache(maxsize=1)
def sqlite_template() -> Path:
    from models.db import create_schema, make_engine

    global _template_dir
    _template_dir = Path(tempfile.mkdtemp(prefix=f"duban-template-{WORKER}-"))
    path = _template_dir / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()
    # make_engine turns on WAL; fold the log into the file and leave rollback mode, so that one file is
    # the whole database and a plain copy of it is consistent (the copy's engine turns WAL on again).
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return path


@lru_cache(maxsize=1)
def _pg_template() -> str:
    from models.db import create_schema, make_engine

    url = _pg_create(_unique("duban_tpl"))
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template without connections
    return sa.engine.make_url(url).database


@lru_cache(maxsize=1)
def _head() -> str:
    from models import migrate

    return migrate.head()


def ensure_migrated(engine: sa.Engine) -> None:
    """Migrate ``engine``'s database unless it is at the latest revision already (a template copy is)."""
    from models import migrate
    from models.db import create_schema

    if migrate.current(engine) != _head():
        create_schema(engine)


def copy_database(url: str, tmp_path) -> str:
    """A copy of a test database (SQLite backup API, or CREATE DATABASE … TEMPLATE).

    On PostgreSQL the source must have no open connections: dispose its engines first."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = _free_file(Path(tmp_path), "copy")
        src, dst = sqlite3.connect(parsed.database), sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()
        return f"sqlite:///{target}"
    return _pg_create(_unique("duban_t"), template=parsed.database)


# Derived from the other tables and kept by triggers (their rows and ids depend on the history of writes, not
# only on the data): the directory stamp, the dashboard's tally, the text-search index and its shadow tables.
DERIVED = ("directory_stamp", "ledger_tally", "problem_search")


def dump(url: str) -> dict:
    """Every row of every table, in primary-key order, read through SQLAlchemy (any backend) — but the
    derived tables (``DERIVED``): a counter that any write to users, units or projects moves on by design,
    the tally and the search index."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            meta = _reflected(conn)
            return {
                name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns or t.columns))]
                for name, t in sorted(meta.tables.items())
                if not name.startswith(DERIVED)
            }
    finally:
        engine.dispose()


_SCHEMA_SIGNATURE = {
    "sqlite": "SELECT name, sql FROM sqlite_master ORDER BY name",
    "postgresql": "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnum, i.indisprimary "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
    "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY(i.indkey) "
    "WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 4",
}
_reflections: dict[tuple, sa.MetaData] = {}


def _reflected(conn: sa.Connection) -> sa.MetaData:
    # Reflecting a PostgreSQL schema takes about a second; every migrated test database has the same one.
    # Reflect once per distinct schema (one catalog query tells which) and reuse the tables.
    dialect = conn.dialect.name
    key = (dialect, tuple(tuple(r) for r in conn.execute(sa.text(_SCHEMA_SIGNATURE[dialect]))))
    if key not in _reflections:
        meta = sa.MetaData()
        meta.reflect(conn)
        _reflections[key] = meta
    return _reflections[key]


# -- clean-up ----------------------------------------------------------------------------------------------

_created: list[str] = []  # PostgreSQL databases this process created and has not dropped yet
_drops: queue.Queue[str | None] = queue.Queue()
_dropper: threading.Thread | None = None


def _drop(name: str) -> None:
    with _admin_engine().connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _drop_loop() -> None:
    while (name := _drops.get()) is not None:
        try:
            _drop(name)
        except Exception:  # noqa: BLE001 — drop_created() tries again at the end of the session
            _created.append(name)


def release(url: str) -> None:
    """The test that owned ``url`` is over: drop its PostgreSQL database in the background (WITH (FORCE):
    connections a test left open do not keep it alive). SQLite files go with the test's tmp_path."""
    global _dropper
    name = sa.engine.make_url(url).database
    if kind_of(url) != "postgresql" or name not in _created:
        return
    _created.remove(name)
    if _dropper is None:
        _dropper = threading.Thread(target=_drop_loop, name="drop-test-databases", daemon=True)
        _dropper.start()
    _drops.put(name)


def drop_created() -> None:
    """Drop every PostgreSQL database this process created and still holds (templates included), after
    the background drops finished. Called at the end of the session, in each xdist worker."""
    global _dropper
    if _dropper is not None:
        _drops.put(None)
        _dropper.join(120)
        _dropper = None
    if _created and pg_admin_url():
        for name in list(_created):
            _drop(name)
            _created.remove(name)
    if _admin_engine.cache_info().currsize:
        _admin_engine().dispose()
    if _template_dir is not None:
        shutil.rmtree(_template_dir, ignore_errors=True)


atexit.register(lambda: _created and drop_created())
