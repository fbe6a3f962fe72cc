"""Fixtures for the web workspace: a fresh migrated database (SQLite file, PostgreSQL; from tests/conftest.py),
Yangcheng's units, one person per role, a project contracted by a county leader, the FastAPI app with a
clock the test moves, and logged-in TestClients."""

from __future__ import annotations

import pytest
from webkit import PASSWORD, Clock, Web, at, build_db

from tests import backends
from web import passwords
from web.app import create_app
from web.settings import WebSettings
from workflow.rules import load_rules


@pytest.fixture(scope="session")
def web_rules():
    return load_rules()


@pytest.fixture(scope="session")
def password_hash():
    return passwords.hash_password(PASSWORD)  # argon2 once per run; every test user shares it


@pytest.fixture
def web(migrated_db_url, web_rules, password_hash):
    """The app on a fresh database: once on SQLite, once on PostgreSQL (tests/conftest.py)."""
    engine = build_db(migrated_db_url, password_hash)
    clock = Clock(at("2024-01-08"))
    settings = WebSettings(secret_key="t" * 48, login_max_failures=3, login_window_seconds=600)
    app = create_app(engine, web_rules, clock, settings)
    w = Web(engine, web_rules, clock, app)
    yield w
    for c in w.clients:
        c.close()
    engine.dispose()


@pytest.fixture(scope="module", params=backends.BACKENDS)
def shared_web(request, tmp_path_factory, web_rules, password_hash):
    """One database and app for a whole module (the permission matrix creates a problem per case)."""
    url = backends.new_migrated_url(request.param, tmp_path_factory.mktemp("web"))
    engine = build_db(url, password_hash)
    clock = Clock(at("2024-01-08"))
    app = create_app(engine, web_rules, clock, WebSettings(secret_key="m" * 48))
    w = Web(engine, web_rules, clock, app)
    yield w
    for c in w.clients:
        c.close()
    engine.dispose()
    backends.release(url)
