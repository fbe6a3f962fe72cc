"""A fresh database per test (SQLite file and PostgreSQL, already migrated), with Yangcheng's units, a few
people and one project."""

from __future__ import annotations

import pytest

from models.db import make_engine, session
from service import directory_admin
from service.problems import ProblemService
from tests.conftest import Clock, at

# Who an integration test's problem is usually assigned to (自然资源局, its staff and head).
ASSIGNEE = {"unit": "ziranziyuan", "person": "staff", "leader": "head", "section": "耕地保护股"}


def assign(svc, code: str, **fields) -> None:
    """The inspection office assigns ``code`` to ASSIGNEE, with ``fields`` added (a deadline…)."""
    svc.act("insp", code, "assign", **{**ASSIGNEE, **fields})


PEOPLE = [
    ("admin", "管理员", "duchashi", "admin", "admin@yc.example"),
    ("insp", "张督查", "duchashi", "inspector", "insp@yc.example"),
    ("head", "赵局长", "ziranziyuan", "unit_head", "head@yc.example"),
    ("staff", "孙科员", "ziranziyuan", "staff", "staff@yc.example"),
    ("noemail", "周科员", "ziranziyuan", "staff", None),
    ("town", "马镇干部", "dingdian", "staff", "town@yc.example"),
    ("lead", "王副县长", "county_gov", "county_leader", "lead@yc.example"),
]


@pytest.fixture
def engine(migrated_db_url):
    eng = make_engine(migrated_db_url)
    now = at("2024-01-02")
    with session(eng) as s, s.begin():
        directory_admin.load_units(s)
        for login, name, unit, role, email in PEOPLE:
            directory_admin.create_user(s, login, name, unit, role, email, now)
        directory_admin.create_project(s, "嘉润综合物流园区", "kaifaqu", "lead", now)
    yield eng
    eng.dispose()


@pytest.fixture
def clock():
    return Clock(at("2024-01-08"))


@pytest.fixture
def svc(engine, rules, clock):
    return ProblemService(engine, rules, clock)
