"""Figures that change only when the ledger is written, kept per process until the next write; and the
cache that keeps them (``StampedCache``), which also keeps values that go stale by age alone.

The stamp is what moves on every write a dashboard can show: the newest audit event (every action on a
problem leaves one: state, deadline, people, closing), the newest tally row (every problem logged, deleted,
or changing state, level or light — the sweep's light changes included) and the directory's version (names
of units, people and projects). A page reads the stamp in its own snapshot (one statement of index probes)
and reuses what it computed at the same stamp, or computes again. Nothing here is ever shared between
processes: each keeps its own copies, per database (the engine's pool).

On PostgreSQL two writers may commit out of id order: a page reading between the two commits sees the
higher id without the lower one's change, and the next page would see the same stamp. So a copy is also
dropped after MAX_AGE seconds: such a race leaves a figure stale for a minute at most.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.tables import Event, LedgerTally, table_of
from service import directory

EVENT, TALLY = table_of(Event), table_of(LedgerTally)
MAX_AGE = 60.0  # seconds a copy is kept even when the stamp holds


def read(session, *extra: sa.ScalarSelect) -> tuple:
    """The ledger's write stamp, with the values of ``extra`` scalar subqueries (a caller's own inputs)."""
    return tuple(
        session.execute(
            sa.select(
                sa.select(sa.func.max(EVENT.c.id)).scalar_subquery(),
                sa.select(sa.func.max(TALLY.c.id)).scalar_subquery(),
                directory.stamp_column(),
                *extra,
            )
        ).one()
    )


def _pool(bind) -> object:
    """The engine's pool behind a session's bind (an Engine or a Connection): one cache per database."""
    return (bind if isinstance(bind, Engine) else bind.engine).pool


class StampedCache:
    """A bounded map, per database, from a key to a value made at a stamp: the value is reused while the stamp
    holds and it is younger than ``max_age`` seconds (an empty stamp: kept for ``max_age`` alone).
    ``clock``: seconds, monotonic (tests pass their own)."""

    def __init__(self, size: int = 256, max_age: float = MAX_AGE, clock: Callable[[], float] = time.monotonic):
        self.size = size
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._by_pool: weakref.WeakKeyDictionary[object, OrderedDict] = weakref.WeakKeyDictionary()

    def get_or_make(self, session, key: Hashable, stamp: tuple, make: Callable[[], Any]) -> Any:
        """The value kept under ``key`` at ``stamp``, else ``make()`` (kept, the least recently used dropped)."""
        pool = _pool(session.get_bind())
        now = self.clock()
        with self._lock:
            entries = self._by_pool.setdefault(pool, OrderedDict())
            found = entries.get(key)
            if found is not None and found[0] == stamp and now - found[2] < self.max_age:
                entries.move_to_end(key)
                return found[1]
        value = make()  # outside the lock: other requests go on meanwhile (two may compute the same value)
        with self._lock:
            entries[key] = (stamp, value, now)
            entries.move_to_end(key)
            while len(entries) > self.size:
                entries.popitem(last=False)
        return value

    def forget(self, engine: Engine) -> None:
        """Drop every value kept for this database (this process only)."""
        with self._lock:
            self._by_pool.pop(engine.pool, None)
