"""Fixtures: a real SQLite file and a real SMTP server (aiosmtpd on 127.0.0.1, a free port)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # notice_factories, notice_support

from notice_factories import seed  # noqa: E402
from notice_support import Mailbox  # noqa: E402

from models.db import make_engine, session  # noqa: E402


@pytest.fixture
def smtpd():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def engine(migrated_db_url):
    """A fresh migrated database on SQLite and on PostgreSQL (tests/conftest.py ``migrated_db_url``)."""
    eng = make_engine(migrated_db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def problem(engine):
    with session(engine) as s:
        [p] = seed(s)
        s.commit()
        return p


@pytest.fixture
def problems(engine):
    with session(engine) as s:
        ps = seed(s, problems=5)
        s.commit()
        return ps
