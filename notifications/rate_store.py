"""The robots' rate windows in the database, so every sender process on one database shares them.

``DatabaseLimiter`` has the ``Limiter`` interface of ``notifications.channels.limited``: ``allow(key, now)``
runs the pure ``ratelimit.wait_time`` over the send moments stored for ``key`` (table ``channel_rate``) in
one transaction that locks that row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's BEGIN IMMEDIATE
serialises writers), and records ``now`` when the send may go. ``hold`` stores a throttle the service
announced (DingTalk: 10 minutes after the 21st message in a minute).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models.delivery import ChannelRate
from models.tables import table_of
from notifications.channels.ratelimit import ROBOT_PERIOD, prune, wait_time

T = table_of(ChannelRate)


class DatabaseLimiter:
    def __init__(self, engine: Engine, limit: int, period: timedelta = ROBOT_PERIOD):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.engine, self.limit, self.period = engine, limit, period

    def _row(self, conn: Connection, key: str) -> tuple[list[float], datetime | None]:
        select = sa.select(T.c.sent, T.c.held_until).where(T.c.rate_key == key)
        if conn.dialect.name == "postgresql":
            select = select.with_for_update()
        row = conn.execute(select).first()
        if row is None:
            insert = _insert(conn).values(rate_key=key, sent=[], held_until=None)
            conn.execute(insert.on_conflict_do_nothing(index_elements=[T.c.rate_key]))
            row = conn.execute(select).first()
        return list(row.sent or []), row.held_until

    def allow(self, key: str, now: datetime) -> timedelta | None:
        with self.engine.begin() as conn:
            sent, held = self._row(conn, key)
            if held is not None and now < held:
                return held - now
            recent = [datetime.fromtimestamp(t, UTC) for t in sent]
            wait = wait_time(recent, now, self.limit, self.period)
            if wait is None:
                kept = [t.timestamp() for t in prune(recent, now, self.period)] + [now.timestamp()]
                conn.execute(T.update().where(T.c.rate_key == key).values(sent=kept, held_until=None))
            return wait

    def hold(self, key: str, until: datetime) -> None:
        with self.engine.begin() as conn:
            _, held = self._row(conn, key)
            if held is None or until > held:
                conn.execute(T.update().where(T.c.rate_key == key).values(held_until=until))

    def recent(self, key: str) -> list[datetime]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(T.c.sent).where(T.c.rate_key == key)).first()
        return [datetime.fromtimestamp(t, UTC) for t in (row.sent if row else [])]


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(T)
