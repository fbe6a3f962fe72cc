"""The throttle a web app uses (``Throttle``), and an in-memory one. ``web.app`` uses
``service.login_throttle.SharedLoginThrottle`` (in the database, shared by every worker); this in-memory
class remains for a single process that needs no database for it.

Login throttling, in memory, per process: after ``max_failures`` failed logins for one login name
from one IP address within ``window`` seconds, that pair is refused until the oldest failure leaves the
window. A successful login clears the pair.

In memory means: each ``duban serve`` process counts on its own and a restart forgets. With one process
(the recommended deployment on SQLite) that is exact; with N processes an attacker gets at most N times
the allowance. The argon2 hash (~50 ms per try) bounds the rate further.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol


class Throttle(Protocol):
    def retry_after(self, login: str, ip: str) -> int: ...
    def failed(self, login: str, ip: str) -> None: ...
    def succeeded(self, login: str, ip: str) -> None: ...


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ):
        self.max_failures, self.window, self.clock, self.max_keys = max_failures, window, clock, max_keys
        self._failures: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and now - q[0] >= self.window:
            q.popleft()
        if not q:
            self._failures.pop(key, None)
        return q

    def retry_after(self, login: str, ip: str) -> int:
        """Seconds until this login+IP may try again; 0 when it may try now."""
        key = (login.strip().lower(), ip)
        with self._lock:
            now = self.clock()
            q = self._recent(key, now)
            if len(q) < self.max_failures:
                return 0
            return max(1, int(self.window - (now - q[0]) + 0.999))

    def failed(self, login: str, ip: str) -> None:
        key = (login.strip().lower(), ip)
        with self._lock:
            now = self.clock()
            if len(self._failures) >= self.max_keys:  # bound memory: forget the stale pairs
                for k in list(self._failures):
                    self._recent(k, now)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, login: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((login.strip().lower(), ip), None)
