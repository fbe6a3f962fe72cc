"""Helpers for the web tests (imported by conftest.py and the test modules): the clock, the database
with one person per role, and a wrapper around the app with logged-in TestClients."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

with warnings.catch_warnings():
    # Starlette 1.x suggests "httpx2" for its TestClient; httpx works and is what is installed.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from models.db import make_engine, session
from service import directory_admin
from tests import backends
from tests.conftest import Clock, at  # noqa: F401  (re-exported for the web tests)

SH = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct-horse-1"
PROJECT = "嘉润综合物流园区"


# login, name, unit, role — one per role, plus people outside the problem's unit and project.
PEOPLE = [
    ("admin", "管理员", "duchashi", "admin"),
    ("insp", "张督查", "duchashi", "inspector"),
    ("head", "赵局长", "ziranziyuan", "unit_head"),
    ("staff", "孙科员", "ziranziyuan", "staff"),
    ("town", "马镇干部", "dingdian", "staff"),
    ("townhead", "马镇长", "dingdian", "unit_head"),
    ("lead", "王副县长", "county_gov", "county_leader"),
    ("lead2", "李副县长", "county_gov", "county_leader"),
]


def build_db(path_or_url, password_hash):
    """The people and projects on a fresh database: a URL (migrated or empty) or an SQLite file path (a
    copy of the migrated template when the file does not exist yet)."""
    url = str(path_or_url)
    if "://" not in url:
        if not Path(url).exists():
            shutil.copyfile(backends.sqlite_template(), url)
        url = f"sqlite:///{url}"
    engine = make_engine(url)
    backends.ensure_migrated(engine)
    now = at("2024-01-02")
    with session(engine) as s, s.begin():
        directory_admin.load_units(s)
        for login, name, unit, role in PEOPLE:
            u = directory_admin.create_user(s, login, name, unit, role, f"{login}@yc.example", now)
            u.password_hash = password_hash
        directory_admin.create_project(s, PROJECT, "kaifaqu", "lead", now)
        directory_admin.create_project(s, "町店镇村民阻工项目", "dingdian", "lead2", now)
    return engine


class Web:
    """The app on a real SQLite file, with its clock and service, and helpers to log in."""

    def __init__(self, engine, rules, clock, app):
        self.engine, self.rules, self.clock, self.app = engine, rules, clock, app
        self.service = app.state.duban.service
        self.clients: list[TestClient] = []

    def client(self) -> TestClient:
        c = TestClient(self.app, base_url="http://testserver", follow_redirects=False)
        self.clients.append(c)
        return c

    def login(self, login: str, password: str = PASSWORD) -> TestClient:
        c = self.client()
        r = c.post("/login", data={"login": login, "password": password, "csrf_token": csrf_of(c, "/login")})
        assert r.status_code == 303, r.text
        return c

    def problem(self, state: str = "assigned", title: str = "用地预审未批复", by: str = "town") -> str:
        """A problem of the responsible unit 自然资源局 in ``state`` (through the real workflow)."""
        s = self.service
        code = s.log(by, PROJECT, "land", title, unit="ziranziyuan").code
        if state == "discovered":
            return code
        s.act("insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
        if state == "suspended":
            s.act("insp", code, "suspend", reason="等待省厅批复")
        elif state == "review":
            s.act("staff", code, "resolve", resolution="已取得批复")
        elif state == "supervised":
            s.act("insp", code, "supervise", reason="纳入督办")
        return code


def csrf_of(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def database_for(backend: str, tmp_path):
    """(url for build_db, cleanup) on ``backend`` ("sqlite" or "postgresql"): a fresh migrated database."""
    url = backends.new_migrated_url(backend, tmp_path)
    return url, (lambda: backends.release(url))
