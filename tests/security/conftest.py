"""Fixtures for the hardening suite: the real app on a real database (SQLite file; PostgreSQL too where a
test takes ``sec_any``), its business clock and its wall clock (``seckit``)."""

from __future__ import annotations

import pytest
from seckit import PASSWORD, make_sec

from service import passwords
from tests import backends
from workflow.rules import load_rules


@pytest.fixture(scope="session")
def sec_rules():
    from tests.evidence_files import without_evidence_rule

    return without_evidence_rule(load_rules())  # as tests/conftest.py: these tests close land problems without files


@pytest.fixture(scope="session")
def sec_hash():
    return passwords.hash_password(PASSWORD)


@pytest.fixture
def sec(tmp_path, sec_rules, sec_hash):
    w = make_sec(f"sqlite:///{tmp_path / 'duban.db'}", sec_rules, sec_hash)
    yield w
    for c in w.clients:
        c.close()
    w.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def sec_any(request, tmp_path, sec_rules, sec_hash):
    """``sec`` once on SQLite and once on PostgreSQL."""
    w = make_sec(backends.new_database_url(request.param, tmp_path), sec_rules, sec_hash)
    yield w
    for c in w.clients:
        c.close()
    w.engine.dispose()
