"""How long a sender holds a claimed outbox row, and how long it waits before retrying one: shared by the
mail settings and the work-group/SMS settings, which differ only in their numbers."""

from __future__ import annotations

from datetime import timedelta


class RetryPolicy:
    """Mixin for a settings dataclass with ``backoff_base``, ``backoff_max`` and ``lease_seconds`` (seconds)."""

    backoff_base: float
    backoff_max: float
    lease_seconds: float

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    def backoff(self, attempts: int) -> timedelta:
        """Doubling from ``backoff_base`` after each failed attempt, capped at ``backoff_max``."""
        exp = min(max(attempts, 1) - 1, 30)
        return timedelta(seconds=min(self.backoff_max, self.backoff_base * (2**exp)))
