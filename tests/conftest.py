"""Shared fixtures. Time is always injected: tests never sleep and never read the wall clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from workflow.rules import load_rules

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A local (Asia/Shanghai) moment from 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM'."""
    value = datetime.fromisoformat(text if "T" in text else f"{text}T09:00")
    return value.replace(tzinfo=SH)


@pytest.fixture(scope="session")
def rules():
    return load_rules()
