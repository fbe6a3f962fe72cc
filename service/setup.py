"""Setting up a database: the schema, Yangcheng's unit directory, the first administrator, the sample ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import create_schema
from models.db import session as open_session
from models.tables import User
from service import directory_admin, passwords
from service.sample import load_sample
from workflow.rules import Rules

ADMIN_LOGIN = "admin"


def initialise(engine: Engine, now: datetime, admin_email: str | None) -> int:
    """Migrate to the latest schema, add the seed units that are missing and the ``admin`` account if there
    is none; returns how many units were added. Safe to run again."""
    create_schema(engine)
    with open_session(engine) as session, session.begin():
        added = directory_admin.load_units(session)
        if session.exec(select(User.id).where(User.login == ADMIN_LOGIN)).first() is None:
            directory_admin.create_user(session, ADMIN_LOGIN, "系统管理员", "duchashi", "admin", admin_email, now)
    return added


def load_demo(engine: Engine, rules: Rules, now: datetime, password: str) -> dict:
    """The sample ledger, and ``password`` for every sample account that has none (demos only)."""
    result = load_sample(engine, rules, now)
    with open_session(engine) as session, session.begin():
        result["demo_logins"] = passwords.set_demo_passwords(session, password)
    return result
