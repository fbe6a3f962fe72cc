"""Fixtures for ledger import/export and reports: real databases (SQLite, PostgreSQL), the sample county,
injected clocks."""

from __future__ import annotations

import tomllib

import pytest

from models.db import make_engine, session
from service import directory_admin
from service.problems import ProblemService
from service.sample import SAMPLE, load_sample
from tests import backends
from tests.conftest import Clock, at


def seed_directory(engine, with_people: bool = True) -> None:
    """Yangcheng's units, the admin, and the sample's people and projects — but no problems."""
    now = at("2023-11-01")
    data = tomllib.loads(SAMPLE.read_text("utf-8"))
    with session(engine) as s, s.begin():
        directory_admin.load_units(s)
        directory_admin.create_user(s, "admin", "系统管理员", "duchashi", "admin", "admin@yc.example", now)
        if with_people:
            for u in data["user"]:
                directory_admin.create_user(s, u["login"], u["name"], u["unit"], u["role"], u.get("email"), now)
            for p in data["project"]:
                directory_admin.create_project(s, p["name"], p["unit"], p.get("leader"), now)


def dump(url: str) -> dict:
    """Every row of every table, on either database."""
    return backends.dump(url)


class County:
    """A real database (SQLite file or PostgreSQL; migrated here unless it is a migrated copy already) with
    the directory (and optionally the sample ledger) and a service on a clock."""

    def __init__(self, url: str, rules, now: str):
        self.url = url
        self.engine = make_engine(url)
        backends.ensure_migrated(self.engine)
        self.clock = Clock(at(now))
        self.rules = rules
        self.service = ProblemService(self.engine, rules, self.clock)

    def dump(self) -> dict:
        return dump(self.url)


@pytest.fixture
def empty_county(backend, rules, tmp_path):
    # Its own database of the same kind, so it can sit beside sample_county in one test.
    url = backends.new_migrated_url(backend, tmp_path / "empty")
    county = County(url, rules, "2024-01-20")
    seed_directory(county.engine)
    yield county
    county.engine.dispose()
    backends.release(url)


@pytest.fixture
def sample_county(migrated_db_url, rules):
    """The sample ledger replayed relative to 2024-01-20 09:00, then swept at that moment."""
    county = County(migrated_db_url, rules, "2024-01-20")
    with session(county.engine) as s, s.begin():
        directory_admin.load_units(s)
        directory_admin.create_user(s, "admin", "系统管理员", "duchashi", "admin", "admin@yc.example", at("2023-11-01"))
    county.codes = load_sample(county.engine, rules, county.clock.now)["problems"]
    from service.sweep import run_sweep

    run_sweep(county.engine, rules, county.clock.now)
    yield county
    county.engine.dispose()
