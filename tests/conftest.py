"""Shared fixtures, the test tiers, and the guard that keeps the unit tier pure.

Business time is injected: a test moves a ``Clock`` by hand (or passes ``--at``/``DUBAN_NOW`` to the
command line) and never waits for a deadline to pass. The wall clock is read only where it is the thing
under test or a safety net: timeouts while waiting for a real server or process, SMTP leases that expire
in real seconds, the scheduler started without ``--at``, and ``duban`` commands run without ``at=``
(which use today, as a person at a terminal would).

Tiers (markers registered in pyproject.toml) come from the directory, unless the module names its own:
tests/unit → unit; tests/integration, tests/notifications, tests/reports → integration;
tests/acceptance → acceptance; tests/web → web (+ browser for the Playwright module); tests/load → load.
Any test that runs against PostgreSQL also gets ``pg``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests import backends
from workflow.rules import load_rules

SH = ZoneInfo("Asia/Shanghai")
TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "acceptance", "web", "browser", "load")
TIER_OF_DIRECTORY = {
    "unit": "unit",
    "integration": "integration",
    "notifications": "integration",
    "reports": "integration",
    "acceptance": "acceptance",
    "web": "web",
    "load": "load",
}
BROWSER_MODULES = {"test_web_browser.py"}


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


# -- tiers -----------------------------------------------------------------------------------------------


def _module_tiers(item: pytest.Item) -> set[str]:
    """Tier markers the test module declares itself (``pytestmark``)."""
    module = item.getparent(pytest.Module)
    marks = getattr(module.obj, "pytestmark", []) if module is not None else []
    marks = marks if isinstance(marks, list) else [marks]
    return {m.name for m in marks if m.name in TIERS}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve()
        try:
            directory = path.relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if not _module_tiers(item) and directory in TIER_OF_DIRECTORY:
            item.add_marker(TIER_OF_DIRECTORY[directory])
        if path.name in BROWSER_MODULES:
            item.add_marker("browser")
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in callspec.params.values():
            item.add_marker("pg")
        if directory == "load":
            item.add_marker("pg")  # the load test is PostgreSQL's


# -- the unit tier touches no database, network or subprocess ---------------------------------------------


class ImpureUnitTest(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _unit_tier_is_pure(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A unit test that opens a network socket, a database or a process fails, naming what it did."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    import os
    import socket
    import sqlite3
    import subprocess

    def refuse(what: str):
        def guard(*args, **kwargs):
            raise ImpureUnitTest(f"unit tests must not {what}; mark the module integration/acceptance instead")

        return guard

    inet = (socket.AF_INET, socket.AF_INET6)
    real_connect, real_bind = socket.socket.connect, socket.socket.bind

    def connect(sock, address):
        if sock.family in inet:
            refuse(f"open a network connection ({address!r})")()
        return real_connect(sock, address)

    def bind(sock, address):
        if sock.family in inet:
            refuse(f"listen on the network ({address!r})")()
        return real_bind(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket.socket, "bind", bind)

    def getaddrinfo(host, port, *args, **kwargs):
        refuse(f"use the network (getaddrinfo {host!r}, {port!r})")()

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("start a subprocess"))
    for name in ("system", "fork", "posix_spawn", "posix_spawnp", "execv", "execve"):
        monkeypatch.setattr(os, name, refuse("start a subprocess"))
    monkeypatch.setattr(sqlite3, "connect", refuse("open a database"))
    yield


# -- shared fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rules():
    from tests.evidence_files import without_evidence_rule

    return without_evidence_rule(load_rules())  # the evidence tests override this with the shipped rules


@pytest.fixture(params=backends.BACKENDS)
def backend(request) -> str:
    """ "sqlite" and "postgresql": each test that uses a database runs once on each."""
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    """A fresh, empty database URL (for what starts from nothing: migrations, ``duban init``)."""
    url = backends.new_database_url(backend, tmp_path)
    yield url
    backends.release(url)


@pytest.fixture
def migrated_db_url(backend, tmp_path):
    """A fresh database URL already at the latest migration (a copy of a template migrated once)."""
    url = backends.new_migrated_url(backend, tmp_path)
    yield url
    backends.release(url)


def pytest_sessionfinish(session, exitstatus):
    backends.drop_created()
