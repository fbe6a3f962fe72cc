"""Fixtures for the web workspace: a fresh migrated database (SQLite file, PostgreSQL; from tests/conftest.py),
Yangcheng's units, one person per role, a project contracted by a county leader, the FastAPI app with a
clock the test moves, and logged-in TestClients."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from webkit import PASSWORD, Clock, Web, at, build_db

from service import passwords
from tests import backends
from web.app import create_app
from web.settings import WebSettings
from workflow.rules import load_rules


@pytest.fixture(scope="session")
def web_rules():
    from tests.evidence_files import without_evidence_rule

    return without_evidence_rule(load_rules())  # the evidence tests override this with the shipped rules


# argon2id at minimal cost for the web tests. At the product's parameters (RFC 9106 low-memory: 64 MiB,
# three passes) every login costs about 0.1 s of CPU on two cores, and these tests log in well over a
# thousand times; what they check is who may log in and do what, not the work factor. The hasher is
# service.passwords' own kind, so hashing, verifying and the rehash check all run; only the cost differs.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CHEAP_DUMMY = CHEAP_HASHER.hash("duban-dummy-password")


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    # Session scope, so that module fixtures that log in (test_web_permissions) come after it.
    assert isinstance(passwords._HASHER, PasswordHasher), "service.passwords changed: update tests/web/conftest.py"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "_HASHER", CHEAP_HASHER)
        mp.setattr(passwords, "_DUMMY", CHEAP_DUMMY)
        yield


@pytest.fixture(scope="session")
def password_hash():
    return CHEAP_HASHER.hash(PASSWORD)  # once per run; every test user shares it


# The web tier runs on SQLite. web/ builds no SQL (tests/unit/test_architecture.py fails the suite if it
# does): every page and API route calls service/, whose queries the integration, acceptance, notification
# and report tests run on both databases. The web modules whose SQL differs by backend run on PostgreSQL
# too: test_web_postgres (filters, sorting, dashboard series, the optimistic lock, exports),
# test_web_search_paging (pg_trgm search, keyset cursors), test_web_schemathesis (what PostgreSQL refuses
# that SQLite accepts) and test_web_workers (several worker processes). A module asks for both with
# ``pytestmark = pytest.mark.parametrize("backend", backends.BACKENDS)``.
@pytest.fixture(params=["sqlite"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def web(migrated_db_url, web_rules, password_hash):
    """The app on a fresh database (SQLite; PostgreSQL too where a module asks for both)."""
    engine = build_db(migrated_db_url, password_hash)
    clock = Clock(at("2024-01-08"))
    settings = WebSettings(secret_key="t" * 48, login_max_failures=3, login_window_seconds=600)
    app = create_app(engine, web_rules, clock, settings)
    w = Web(engine, web_rules, clock, app)
    yield w
    for c in w.clients:
        c.close()
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite"])
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
