"""Shared fixtures. Time is always injected: tests never sleep and never read the wall clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests import backends
from workflow.rules import load_rules

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A local (Asia/Shanghai) moment from 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM'."""
    value = datetime.fromisoformat(text if "T" in text else f"{text}T09:00")
    return value.replace(tzinfo=SH)


class Clock:
    """An injected clock tests move by hand: ``clock()`` is now; ``clock.set("2024-02-01T08:00")``."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = at(text)


@pytest.fixture(scope="session")
def rules():
    return load_rules()


@pytest.fixture(params=backends.BACKENDS)
def db_url(request, tmp_path):
    """A fresh empty database URL, once on SQLite and once on PostgreSQL."""
    return backends.new_database_url(request.param, tmp_path)


def pytest_sessionfinish(session, exitstatus):
    backends.drop_created()
