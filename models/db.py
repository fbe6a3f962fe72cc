"""Engine and sessions. SQLite by default (one file under ./var/), PostgreSQL via a URL."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

import models  # noqa: F401  (tables + guard)

DEFAULT_DB_URL = "sqlite:///var/duban.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("DUBAN_DB") or DEFAULT_DB_URL


def make_engine(url: str | None = None, echo: bool = False) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        target = sa.engine.make_url(url).database
        if target and target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so a write transaction starts
        # with BEGIN IMMEDIATE and concurrent writers queue on busy_timeout instead of failing midway.
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True)


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN " + conn.get_execution_options().get("sqlite_begin", "IMMEDIATE"))


def reader(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite its transactions do not take the write lock."""
    return engine.execution_options(sqlite_begin="DEFERRED") if engine.dialect.name == "sqlite" else engine


def _sqlite_pragmas(dbapi_conn, _record):
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_schema(engine: Engine) -> None:
    """Bring the schema to the latest migration (an empty database gets every table)."""
    from models.migrate import upgrade

    upgrade(engine)


def session(engine: Engine) -> Session:
    # expire_on_commit=False: objects stay readable after commit (the CLI prints them).
    return Session(engine, expire_on_commit=False)


def insert_for(bind: Engine | Connection) -> Callable[..., Any]:
    """The dialect's INSERT construct, which has ``on_conflict_do_nothing``/``_do_update`` (PostgreSQL and SQLite
    spell ON CONFLICT the same way; the generic ``sa.insert`` has neither)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
