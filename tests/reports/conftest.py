"""Fixtures for ledger import/export and reports: real SQLite files, the sample county, injected clocks."""

from __future__ import annotations

import sqlite3
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from models.db import create_schema, make_engine, session
from service import directory
from service.problems import ProblemService
from service.sample import SAMPLE, load_sample
from tests.conftest import at


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = at(text)


def seed_directory(engine, with_people: bool = True) -> None:
    """Yangcheng's units, the admin, and the sample's people and projects — but no problems."""
    now = at("2023-11-01")
    data = tomllib.loads(SAMPLE.read_text("utf-8"))
    with session(engine) as s, s.begin():
        directory.load_units(s)
        directory.add_user(s, "admin", "系统管理员", "duchashi", "admin", "admin@yc.example", now)
        if with_people:
            for u in data["user"]:
                directory.add_user(s, u["login"], u["name"], u["unit"], u["role"], u.get("email"), now)
            for p in data["project"]:
                directory.add_project(s, p["name"], p["unit"], p.get("leader"), now)


def dump(path: Path) -> dict:
    """Every row of every table, straight from the SQLite file."""
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        con.close()


class County:
    """A real SQLite file with the directory (and optionally the sample ledger) and a service on a clock."""

    def __init__(self, path: Path, rules, now: str):
        self.path = path
        self.engine = make_engine(f"sqlite:///{path}")
        create_schema(self.engine)
        self.clock = Clock(at(now))
        self.rules = rules
        self.service = ProblemService(self.engine, rules, self.clock)

    def dump(self) -> dict:
        return dump(self.path)


@pytest.fixture
def empty_county(tmp_path, rules):
    county = County(tmp_path / "empty.db", rules, "2024-01-20")
    seed_directory(county.engine)
    yield county
    county.engine.dispose()


@pytest.fixture
def sample_county(tmp_path, rules):
    """The sample ledger replayed relative to 2024-01-20 09:00, then swept at that moment."""
    county = County(tmp_path / "sample.db", rules, "2024-01-20")
    with session(county.engine) as s, s.begin():
        directory.load_units(s)
        directory.add_user(s, "admin", "系统管理员", "duchashi", "admin", "admin@yc.example", at("2023-11-01"))
    county.codes = load_sample(county.engine, rules, county.clock.now)["problems"]
    from service.sweep import run_sweep

    run_sweep(county.engine, rules, county.clock.now)
    yield county
    county.engine.dispose()
