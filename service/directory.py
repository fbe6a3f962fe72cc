"""Units, users and projects: look-ups by what people type, and validated creation."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from models.tables import Project, Unit, User
from workflow.errors import Conflict, InvalidValue, MissingField, NotFound
from workflow.permissions import Actor
from workflow.states import Role, UnitKind

SEED_DIR = Path(__file__).resolve().parent.parent / "models" / "seed"
LOGIN_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


def find_unit(session: Session, text: str, field: str = "单位（--unit）") -> Unit:
    """By code, name or alias (e.g. 麟河镇 → 蟒河镇)."""
    text = (text or "").strip()
    if not text:
        raise MissingField(f"{field}不能为空")
    unit = session.exec(select(Unit).where((Unit.code == text) | (Unit.name == text))).first()
    if unit:
        return unit
    for candidate in session.exec(select(Unit)).all():
        if text in (candidate.aliases or []):
            return candidate
    raise NotFound(f"{field}「{text}」不存在；可用单位代码或名称，运行 duban unit list 查看全部单位")


def find_user(session: Session, login: str, field: str = "用户") -> User:
    login = (login or "").strip()
    if not login:
        raise MissingField(f"{field}不能为空")
    user = session.exec(select(User).where(User.login == login)).first()
    if user is None:
        raise NotFound(f"{field}「{login}」不存在；运行 duban user list 查看全部用户")
    return user


def find_project(session: Session, text: str) -> Project:
    text = (text or "").strip()
    if not text:
        raise MissingField("项目（--project）不能为空")
    query = select(Project).where(Project.name == text)
    if text.isdigit():
        query = select(Project).where((Project.name == text) | (Project.id == int(text)))
    project = session.exec(query).first()
    if project is None:
        raise NotFound(f"项目「{text}」不存在；运行 duban project list 查看全部项目，或先用 duban project add 登记")
    return project


def actor_for(session: Session, login: str) -> Actor:
    user = find_user(session, login, "当前用户（--as / DUBAN_USER）")
    unit = session.get(Unit, user.unit_id)
    return Actor(user.login, user.name, user.role, user.id, user.unit_id, unit.name if unit else "", user.active)


def load_units(session: Session, path: Path | None = None) -> int:
    """Insert the units listed in the seed file that are not there yet; returns how many were added."""
    data = tomllib.loads((path or SEED_DIR / "units.toml").read_text("utf-8"))
    existing = {u.code for u in session.exec(select(Unit)).all()}
    added = 0
    for item in data.get("unit", []):
        if item["code"] in existing:
            continue
        UnitKind(item["kind"])
        session.add(Unit(code=item["code"], name=item["name"], kind=item["kind"], aliases=item.get("aliases", [])))
        added += 1
    session.flush()
    return added


def add_user(session: Session, login: str, name: str, unit: str, role: str, email: str | None, now: datetime) -> User:
    login = (login or "").strip()
    if not LOGIN_RE.match(login):
        raise InvalidValue(f"登录名「{login}」无效：应以小写字母开头，只含小写字母、数字、点、下划线或连字符，2–64 位")
    if not (name or "").strip():
        raise MissingField("姓名（--name）不能为空")
    role_value = Role.parse(role, "角色（--role）").value
    if email and not EMAIL_RE.match(email):
        raise InvalidValue(f"邮箱（--email）「{email}」格式无效，应形如 name@example.cn（只用英文字符）")
    unit_row = find_unit(session, unit)
    if session.exec(select(User).where(User.login == login)).first():
        raise Conflict(f"登录名「{login}」已存在")
    user = User(
        login=login, name=name.strip(), unit_id=unit_row.id, role=role_value, email=email or None, created_at=now
    )
    session.add(user)
    session.flush()
    return user


def add_project(session: Session, name: str, unit: str, leader: str | None, now: datetime) -> Project:
    name = (name or "").strip()
    if not name:
        raise MissingField("项目名称不能为空")
    if len(name) > 200:
        raise InvalidValue(f"项目名称过长：{len(name)} 字，最多 200 字")
    unit_row = find_unit(session, unit)
    leader_id = None
    if leader:
        user = find_user(session, leader, "包联领导（--leader）")
        if user.role != Role.COUNTY_LEADER:
            raise InvalidValue(
                f"包联领导（--leader）「{leader}」的角色是「{Role(user.role).label}」，应为 county_leader（县级领导）"
            )
        leader_id = user.id
    if session.exec(select(Project).where(Project.name == name)).first():
        raise Conflict(f"项目「{name}」已存在")
    project = Project(name=name, unit_id=unit_row.id, leader_id=leader_id, created_at=now)
    session.add(project)
    session.flush()
    return project
