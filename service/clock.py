"""Wall-clock time, for what must never follow a simulated "now" (``--at``, a test's business clock):
session timeouts, the login throttle, and the time an audit event was really written (``recorded_at``)."""

from __future__ import annotations

from datetime import UTC, datetime


def wall_now() -> datetime:
    return datetime.now(UTC)
