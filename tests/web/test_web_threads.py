"""How many requests one process works on at once (``DUBAN_WEB_THREADS``): two on SQLite unless told, the
server's default on PostgreSQL, and a bad value refused in Chinese, naming the variable."""

from __future__ import annotations

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from web.app import create_app
from web.settings import WebSettings
from workflow.errors import InvalidValue

pytestmark = [pytest.mark.web]


def running_threads(app) -> int:
    with TestClient(app) as client:  # runs the app's startup
        assert client.get("/login").status_code == 200
        assert client.portal is not None
        return client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)


def test_a_sqlite_process_works_on_two_requests_at_once_unless_told(web):
    assert running_threads(web.app) == 2
    told = create_app(web.engine, web.rules, web.clock, WebSettings(secret_key="t" * 48, threads=6))
    assert running_threads(told) == 6


def test_the_setting_by_database_and_from_the_environment(monkeypatch):
    settings = WebSettings(secret_key="t" * 48)
    assert settings.request_threads("sqlite") == 2
    assert settings.request_threads("postgresql") is None  # the server's own default
    monkeypatch.setenv("DUBAN_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DUBAN_WEB_THREADS", "8")
    assert WebSettings.from_env().request_threads("sqlite") == 8
    for bad in ("abc", "-1", "500"):
        monkeypatch.setenv("DUBAN_WEB_THREADS", bad)
        with pytest.raises(InvalidValue, match=f"环境变量 DUBAN_WEB_THREADS「{bad}」"):
            WebSettings.from_env()
