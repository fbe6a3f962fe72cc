"""Managing people, units and projects — shared by the admin pages and the API. Validation and
creation go through ``service.directory``; who may do it is ``web.guards``."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, select

from models.tables import Project, Unit, User
from service import directory
from web import passwords
from workflow.errors import Conflict, InvalidValue, MissingField
from workflow.states import Role, UnitKind

UNIT_CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")


def list_users(session: Session) -> list[dict]:
    rows = session.exec(select(User, Unit.name).join(Unit, Unit.id == User.unit_id).order_by(User.login)).all()
    return [
        {
            "login": u.login,
            "name": u.name,
            "unit": n,
            "role": u.role,
            "role_label": Role(u.role).label,
            "email": u.email,
            "active": u.active,
            "has_password": bool(u.password_hash),
        }
        for u, n in rows
    ]


def list_units(session: Session) -> list[dict]:
    return [
        {"code": u.code, "name": u.name, "kind": u.kind, "kind_label": UnitKind(u.kind).label, "aliases": u.aliases}
        for u in session.exec(select(Unit).order_by(Unit.id)).all()
    ]


def list_projects(session: Session) -> list[dict]:
    leaders = {u.id: (u.login, u.name) for u in session.exec(select(User).where(User.role == Role.COUNTY_LEADER)).all()}
    rows = session.exec(select(Project, Unit.name).join(Unit, Unit.id == Project.unit_id).order_by(Project.id)).all()
    return [
        {
            "id": p.id,
            "name": p.name,
            "unit": n,
            "leader": leaders.get(p.leader_id, (None, None))[0],
            "leader_name": leaders.get(p.leader_id, (None, None))[1],
        }
        for p, n in rows
    ]


def add_user(
    session: Session,
    login: str,
    name: str,
    unit: str,
    role: str,
    email: str | None,
    password: str | None,
    now: datetime,
) -> User:
    if password:
        passwords.validate(password)
    user = directory.add_user(session, login, name, unit, role, (email or "").strip() or None, now)
    if password:
        user.password_hash = passwords.hash_password(password)
        session.add(user)
    return user


def set_active(session: Session, login: str, active: bool, by_login: str) -> User:
    user = directory.find_user(session, login, "用户")
    if user.login == by_login and not active:
        raise InvalidValue("不能停用自己的账号")
    user.active = active
    session.add(user)
    return user


def add_unit(session: Session, code: str, name: str, kind: str) -> Unit:
    code, name = (code or "").strip(), (name or "").strip()
    if not UNIT_CODE_RE.match(code):
        raise InvalidValue(f"单位代码「{code}」无效：应以小写字母开头，只含小写字母、数字、下划线或连字符，2–64 位")
    if not name:
        raise MissingField("单位名称不能为空")
    if len(name) > 128:
        raise InvalidValue(f"单位名称过长：{len(name)} 字，最多 128 字")
    kind_v = UnitKind.parse(kind, "单位类别").value
    if session.exec(select(Unit).where((Unit.code == code) | (Unit.name == name))).first():
        raise Conflict(f"单位代码「{code}」或名称「{name}」已存在")
    unit = Unit(code=code, name=name, kind=kind_v, aliases=[])
    session.add(unit)
    session.flush()
    return unit


def add_project(session: Session, name: str, unit: str, leader: str | None, now: datetime) -> Project:
    return directory.add_project(session, name, unit, (leader or "").strip() or None, now)
