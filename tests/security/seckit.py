"""Helpers for the hardening suite (imported by conftest.py and the test modules): the app on a real
database with a business clock and a separate wall clock (sessions and the login throttle count in wall
time), and a snapshot of what a refused request must not change."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.conftest import Clock, at
from tests.web.webkit import PASSWORD, Web, build_db, csrf_of
from web.app import create_app
from web.settings import WebSettings

__all__ = ["PASSWORD", "Clock", "at", "csrf_of", "snapshot", "make_sec", "SecWeb", "HOUR"]


class SecWeb(Web):
    """``tests.web.webkit.Web`` plus the wall clock and the settings the app was built with."""

    def __init__(self, engine, rules, clock, app, wall, settings, url):
        super().__init__(engine, rules, clock, app)
        self.wall, self.settings, self.url = wall, settings, url

    def another_app(self):
        """A second app on the same database: what a second ``duban serve`` worker process is."""
        app = create_app(self.engine, self.rules, self.clock, self.settings, wall=self.wall)
        return Web(self.engine, self.rules, self.clock, app)

    def count(self, table: str, where: str = "") -> int:
        with self.engine.connect() as c:
            return c.execute(sa.text(f"SELECT count(*) FROM {table} {where}")).scalar_one()


def make_sec(url: str, rules, password_hash, **settings) -> SecWeb:
    engine = build_db(url, password_hash)
    from models.db import session
    from service import directory_admin

    with session(engine) as s, s.begin():  # a second inspector: the office reviews its own problems
        u = directory_admin.create_user(s, "insp2", "李督查", "duchashi", "inspector", None, at("2024-01-02"))
        u.password_hash = password_hash
    clock, wall = Clock(at("2024-01-08")), Clock(at("2026-03-02T09:00"))
    config = WebSettings(secret_key="h" * 48, **settings)
    app = create_app(engine, rules, clock, config, wall=wall)
    return SecWeb(engine, rules, clock, app, wall, config, url)


def snapshot(w) -> dict:
    """What a refused request must leave as it was: row counts, problem versions, the audit log."""
    with w.engine.connect() as c:
        counts = {
            t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("problem", "event", "notice", "user_account", "unit", "project", "api_token")
        }
        versions = c.execute(sa.text("SELECT code, version, state FROM problem ORDER BY code")).all()
        events = c.execute(sa.text("SELECT id, action, actor FROM event ORDER BY id")).all()
        users = c.execute(sa.text("SELECT login, active, password_hash FROM user_account ORDER BY login")).all()
    return {"counts": counts, "versions": versions, "events": events, "users": users}


HOUR = timedelta(hours=1)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``duban`` in process through its real entry point (``cli.main``: errors worded, exit codes mapped)."""
    from cli import main

    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
