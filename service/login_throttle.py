"""Failed sign-ins counted in the database: after ``max_failures`` failures for one login name from one IP
address within ``window`` seconds, that pair is refused until the oldest failure leaves the window; a
successful sign-in clears the pair.

In the database (``login_failure``) rather than in memory, so every web worker — several ``duban serve
--workers`` processes, or several servers on one PostgreSQL — counts the same failures, and a restart does
not reset the count. Time is wall time (a lock-out is about real seconds, not business time).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.db import reader
from models.tables import LoginFailure

T = LoginFailure.__table__  # type: ignore[attr-defined]  # SQLModel declares no __table__


def wall_clock() -> datetime:
    return datetime.now(UTC)


def _key(login: str) -> str:
    return login.strip().lower()[:64]


class SharedLoginThrottle:
    def __init__(
        self,
        engine: Engine,
        max_failures: int = 5,
        window: float = 900.0,
        clock: Callable[[], datetime] = wall_clock,
    ):
        self.engine, self.max_failures, self.window, self.clock = engine, max_failures, window, clock

    def retry_after(self, login: str, ip: str) -> int:
        """Seconds until this login+IP may try again; 0 when it may try now."""
        now = self.clock()
        since = now - timedelta(seconds=self.window)
        with reader(self.engine).connect() as conn:
            n, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(T.c.at)).where(
                    T.c.login == _key(login), T.c.ip == ip[:64], T.c.at > since
                )
            ).one()
        if n < self.max_failures or oldest is None:
            return 0
        if oldest.tzinfo is None:  # SQLite through a plain aggregate: naive UTC text
            oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=UTC)
        return max(1, int(self.window - (now - oldest).total_seconds() + 0.999))

    def failed(self, login: str, ip: str) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            # Forget what has left the window (an index on ``at``), so the table stays small.
            conn.execute(T.delete().where(T.c.at <= now - timedelta(seconds=self.window)))
            conn.execute(T.insert().values(login=_key(login), ip=ip[:64], at=now))

    def succeeded(self, login: str, ip: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(T.delete().where(T.c.login == _key(login), T.c.ip == ip[:64]))
