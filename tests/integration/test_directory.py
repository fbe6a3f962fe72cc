"""The directory cache: database triggers move the stamp on every change that matters, so a process's cached
copy of users, units and projects is never used stale."""

from __future__ import annotations

import sqlalchemy as sa

from models.db import session
from models.tables import User
from service import directory, directory_admin, passwords
from service.problems import ProblemService
from tests.conftest import at


def stamp(engine) -> int:
    with session(engine) as s:
        return directory.read_stamp(s)


def test_triggers_move_the_stamp_on_directory_changes_only(engine):
    before = stamp(engine)
    with session(engine) as s, s.begin():
        directory_admin.create_user(s, "newbie", "新同事", "ziranziyuan", "staff", None, at("2024-01-03"))
    after_add = stamp(engine)
    assert after_add > before
    with session(engine) as s, s.begin():
        passwords.set_password(s, "newbie", "a-long-password")
    assert stamp(engine) == after_add  # a password is not part of the directory
    with session(engine) as s, s.begin():
        s.execute(sa.update(User).where(User.login == "newbie").values(active=False))
    assert stamp(engine) > after_add
    with session(engine) as s, s.begin():
        directory_admin.create_project(s, "新项目", "kaifaqu", None, at("2024-01-03"))
        directory_admin.create_unit(s, "newunit", "新单位", "department")
    assert stamp(engine) > after_add + 1


def test_a_cached_view_is_replaced_when_someone_else_changes_the_directory(engine, rules, clock):
    svc = ProblemService(engine, rules, clock)
    code = svc.log("staff", "嘉润综合物流园区", "land", "用地问题").code
    svc.act(
        "insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股"
    )  # the cache now holds the directory
    # Another process deactivates the responsible person behind this process's back (a plain SQL update).
    with engine.begin() as conn:
        conn.execute(sa.update(User.__table__).where(User.__table__.c.login == "staff").values(active=False))
    import pytest

    from workflow.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="已停用"):
        svc.act("staff", code, "ack")
