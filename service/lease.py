"""Named leases: "only one process sweeps at a time", claimed by a conditional UPDATE (Znuny's
``UPDATE … WHERE lock_key=0`` pattern). Safe on SQLite (writers are serialised by BEGIN IMMEDIATE) and on
PostgreSQL (the UPDATE takes the row lock and re-checks its WHERE clause after waiting)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.db import insert_for
from models.tables import Lease, table_of

T = table_of(Lease)


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease until ``now + ttl``; False if another holder's lease is still live."""
    with engine.begin() as conn:
        insert = insert_for(engine)
        conn.execute(
            insert(T).values(name=name, holder=None, expires_at=None).on_conflict_do_nothing(index_elements=[T.c.name])
        )
        taken = conn.execute(
            T.update()
            .where(
                T.c.name == name,
                sa.or_(T.c.holder.is_(None), T.c.holder == holder, T.c.expires_at.is_(None), T.c.expires_at < now),
            )
            .values(holder=holder, expires_at=now + ttl)
        )
        return taken.rowcount == 1


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(T.update().where(T.c.name == name, T.c.holder == holder).values(holder=None, expires_at=None))


def holder_of(engine: Engine, name: str, now: datetime) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(T.c.holder, T.c.expires_at).where(T.c.name == name)).first()
    if row is None or row.holder is None or row.expires_at is None:
        return None
    expires = row.expires_at
    return row.holder if expires >= now else None
