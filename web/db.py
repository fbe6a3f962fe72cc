"""Reads for pages and the API.

``models.db.make_engine`` starts every SQLite transaction with BEGIN IMMEDIATE so that writers queue
instead of failing midway; a page does not need the write lock, and taking it would make every page
wait behind the scheduler's sweep. ``models.db.reader`` is the same engine (same pool) whose
transactions begin DEFERRED: in WAL mode a page reads a consistent snapshot while a writer works.
On PostgreSQL it is the engine itself.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import reader as _reader


def read_engine(engine: Engine) -> Engine:
    return _reader(engine)


def read_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
