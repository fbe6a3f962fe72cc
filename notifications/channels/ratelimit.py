"""Sliding-window rate limits ("20 messages per minute per robot"), as pure functions plus a small in-memory store.

The algorithm is ``wait_time(recent, now, limit, period)``: given the moments of the recent sends of one
destination, how long until one more may go. Any storage can keep those moments — the in-memory
``SlidingWindowLimiter`` below for one process, a database table for several (read the rows of one
``rate_key`` newer than ``now - period``, call ``wait_time``, insert ``now`` when it returns None, all in
one transaction). Time is always passed in; nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

ROBOT_LIMIT = 20  # WeCom and DingTalk: messages per minute per robot
ROBOT_PERIOD = timedelta(minutes=1)


def wait_time(recent: Iterable[datetime], now: datetime, limit: int, period: timedelta) -> timedelta | None:
    """None when one more send at ``now`` keeps at most ``limit`` sends in every window of length ``period``;
    otherwise how long to wait. ``recent`` may hold older moments (they are ignored) and need not be sorted."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    start = now - period
    inside = sorted(t for t in recent if t > start)
    if len(inside) < limit:
        return None
    # The send that must leave the window is the limit-th most recent one; it leaves at its time + period.
    return inside[-limit] + period - now


def prune(recent: Iterable[datetime], now: datetime, period: timedelta) -> list[datetime]:
    """The moments still inside the window ending at ``now`` (what a store needs to keep)."""
    start = now - period
    return [t for t in recent if t > start]


class SlidingWindowLimiter:
    """In-memory limiter for one process: ``allow(key, now)`` returns None and records a send, or returns how
    long to wait (and records nothing). ``hold(key, until)`` blocks a key outright, e.g. after a service
    reported that it throttles the robot for ten minutes."""

    def __init__(self, limit: int = ROBOT_LIMIT, period: timedelta = ROBOT_PERIOD):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.period = period
        self._sent: dict[str, deque[datetime]] = {}
        self._held: dict[str, datetime] = {}

    def allow(self, key: str, now: datetime) -> timedelta | None:
        held = self._held.get(key)
        if held is not None:
            if now < held:
                return held - now
            del self._held[key]
        sent = self._sent.setdefault(key, deque())
        start = now - self.period
        while sent and sent[0] <= start:
            sent.popleft()
        wait = wait_time(sent, now, self.limit, self.period)
        if wait is None:
            sent.append(now)
        return wait

    def hold(self, key: str, until: datetime) -> None:
        current = self._held.get(key)
        if current is None or until > current:
            self._held[key] = until

    def recent(self, key: str) -> list[datetime]:
        """The recorded sends of ``key`` (for tests and the admin page)."""
        return list(self._sent.get(key, ()))
