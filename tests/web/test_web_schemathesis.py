"""Schemathesis against the served OpenAPI schema: no generated input — valid or not — gets a 500.

Schemathesis' own pytest plugin does not run under pytest 9 here, so each operation's Hypothesis
strategy (``operation.as_strategy()``) is driven by ``hypothesis.given`` directly. Bounded: a fixed
number of examples per operation (``EXAMPLES``); calls go to the ASGI app in process, as
an admin (so every operation is reachable) and without credentials, once on SQLite and once on
PostgreSQL (which refuses what SQLite accepts: NUL characters, over-long values).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from webkit import Clock, Web, at, build_db, database_for

from models.db import session
from service import directory
from service import tokens as tk
from web.app import create_app
from web.settings import WebSettings

# Per operation and phase, within the suite's time budget (the whole CI run has five minutes on 2 cores).
# For a deeper run: DUBAN_SCHEMATHESIS_EXAMPLES=200 .venv/bin/python -m pytest tests/web/test_web_schemathesis.py
EXAMPLES = int(os.environ.get("DUBAN_SCHEMATHESIS_EXAMPLES", "15"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_env(request, tmp_path_factory, web_rules, password_hash):
    target, cleanup = database_for(request.param, tmp_path_factory.mktemp("st"))
    engine = build_db(target, password_hash)
    clock = Clock(at("2024-01-08"))
    app = create_app(engine, web_rules, clock, WebSettings(secret_key="z" * 48))
    w = Web(engine, web_rules, clock, app)
    for state in ("discovered", "assigned", "review", "suspended"):
        w.problem(state)
    with session(engine) as s, s.begin():
        token = tk.create(s, directory.view(s).user("admin").id, "schemathesis", clock())
    yield app, token
    engine.dispose()
    cleanup()


def operations(app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 12
    return ops


def _check(case, response, authenticated: bool):
    where = (case.method, case.formatted_path, case.query, case.body, response.status_code, response.text[:300])
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"code", "field", "value", "message"} and body["message"], where
    if not authenticated:
        assert response.status_code in (400, 401, 404), where


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_for_any_input(api_env, mode):
    app, token = api_env
    skipped = []
    for op in operations(app):

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            _check(case, case.call(headers={"Authorization": f"Bearer {token}"}), True)

        try:
            run()
        except Unsatisfiable:
            # An operation without parameters, or whose only input is a free-form string (the
            # problem code), has no schema-invalid input to generate; its positive run covers it.
            inputs = list(op.iter_parameters())
            assert mode == GenerationMode.NEGATIVE and not op.body and (op.method == "get" or not inputs), op.label
            skipped.append(op.label)
    # Every POST that takes a body or parameters had schema-invalid input thrown at it.
    assert not any(label.startswith("POST") and "read-all" not in label for label in skipped), skipped


def test_unauthenticated_is_never_served(api_env):
    app, _ = api_env
    for op in operations(app):

        @given(case=op.as_strategy())
        @settings(
            max_examples=5, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            _check(case, case.call(), False)

        run()
