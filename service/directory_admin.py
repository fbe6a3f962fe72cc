"""Managing the directory and accounts: users, units, projects, passwords and API tokens.

The one place the CLI, the web pages and the JSON API go to change who is who. Each method opens its own
transaction, resolves the acting user, asks ``workflow.permissions`` whether they may (an inactive account
may do nothing), validates its input and writes. Errors name the field (``field=``) and the value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.db import reader
from models.db import session as open_session
from models.tables import ApiToken, Project, Unit, User
from service import directory, passwords, sessions, tokens
from service.directory import DirectoryView
from workflow.errors import Conflict, InvalidValue, NotFound
from workflow.permissions import Actor, Manage, may, require
from workflow.states import Role, UnitKind
from workflow.text import TextKind, clean

SEED_DIR = Path(__file__).resolve().parent.parent / "models" / "seed"
LOGIN_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
UNIT_CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
MAX_EMAIL = 254
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class UserRow:
    login: str
    name: str
    unit: str
    role: str
    role_label: str
    email: str | None  # None unless the viewer may see e-mail addresses
    active: bool
    has_password: bool

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    kind: str
    kind_label: str
    aliases: list[str]

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ProjectRow:
    id: int
    name: str
    unit: str
    leader: str | None
    leader_name: str | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TokenRow:
    id: int
    login: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _name(value: str | None, label: str, field: str, kind: TextKind) -> str:
    """A one-line name through the text gate (workflow/text.py), capped at ``kind.max_length`` characters."""
    return clean(value, field=field, label=label, kind=kind, required=True)


# -- writes in the caller's transaction (also used by init and the sample loader) ---------------------------


def load_units(session: Session, path: Path | None = None) -> int:
    """Insert the units of the seed file that are not there yet; returns how many were added."""
    data = tomllib.loads((path or SEED_DIR / "units.toml").read_text("utf-8"))
    existing = set(session.exec(select(Unit.code)).all())
    added = 0
    for item in data.get("unit", []):
        if item["code"] in existing:
            continue
        UnitKind(item["kind"])
        session.add(Unit(code=item["code"], name=item["name"], kind=item["kind"], aliases=item.get("aliases", [])))
        added += 1
    session.flush()
    return added


def create_user(
    session: Session, login: str, name: str, unit: str, role: str, email: str | None, now: datetime
) -> User:
    login = (login or "").strip()
    if not LOGIN_RE.match(login):
        raise InvalidValue(
            f"登录名「{login}」无效：应以小写字母开头，只含小写字母、数字、点、下划线或连字符，2–64 位",
            field="login",
            value=login,
            label="登录名",
        )
    name = _name(name, "姓名", "name", TextKind.NAME)
    role_value = Role.parse(role, "角色", field="role").value
    email = (email or "").strip() or None
    if email and (len(email) > MAX_EMAIL or not EMAIL_RE.match(email)):
        raise InvalidValue(
            f"邮箱「{email[:80]}」格式无效，应形如 name@example.cn（只用英文字符）",
            field="email",
            value=email,
            label="邮箱",
        )
    unit_row = directory.view(session).unit(unit, "所属单位", "unit")
    if session.exec(select(User.id).where(User.login == login)).first() is not None:
        raise Conflict(f"登录名「{login}」已存在", field="login", value=login)
    user = User(login=login, name=name, unit_id=unit_row.id, role=role_value, email=email, created_at=now)
    session.add(user)
    session.flush()
    return user


def create_unit(session: Session, code: str, name: str, kind: str) -> Unit:
    code = (code or "").strip()
    if not UNIT_CODE_RE.match(code):
        raise InvalidValue(
            f"单位代码「{code}」无效：应以小写字母开头，只含小写字母、数字、下划线或连字符，2–64 位",
            field="code",
            value=code,
        )
    name = _name(name, "单位名称", "name", TextKind.UNIT)
    kind_v = UnitKind.parse(kind, "单位类别", field="kind").value
    if session.exec(select(Unit.id).where((Unit.code == code) | (Unit.name == name))).first() is not None:
        raise Conflict(f"单位代码「{code}」或名称「{name}」已存在", field="code", value=code)
    unit = Unit(code=code, name=name, kind=kind_v, aliases=[])
    session.add(unit)
    session.flush()
    return unit


def create_project(session: Session, name: str, unit: str, leader: str | None, now: datetime) -> Project:
    name = _name(name, "项目名称", "name", TextKind.PROJECT)
    view = directory.view(session)
    unit_row = view.unit(unit, "项目所属单位", "unit")
    leader_id = None
    if (leader or "").strip():
        user = view.user(leader, "包联领导", "leader")
        if user.role != Role.COUNTY_LEADER:
            raise InvalidValue(
                f"包联领导「{user.login}」的角色是「{Role(user.role).label}」，应为县级领导（county_leader）",
                field="leader",
                value=user.login,
            )
        if not user.active:
            raise InvalidValue(f"包联领导「{user.login}」已停用", field="leader", value=user.login)
        leader_id = user.id
    if session.exec(select(Project.id).where(Project.name == name)).first() is not None:
        raise Conflict(f"项目「{name}」已存在", field="name", value=name)
    project = Project(name=name, unit_id=unit_row.id, leader_id=leader_id, created_at=now)
    session.add(project)
    session.flush()
    return project


# -- reads ----------------------------------------------------------------------------------------------------


def user_rows(session: Session, view: DirectoryView, show_emails: bool) -> list[UserRow]:
    passworded = set(session.exec(select(col(User.id)).where(col(User.password_hash).is_not(None))).all())
    rows = [
        UserRow(
            u.login,
            u.name,
            view.unit_name(u.unit_id),
            u.role,
            Role(u.role).label,
            u.email if show_emails else None,
            u.active,
            u.id in passworded,
        )
        for u in view.users
    ]
    return sorted(rows, key=lambda r: r.login)


def unit_rows(view: DirectoryView) -> list[UnitRow]:
    return [UnitRow(u.code, u.name, u.kind, UnitKind(u.kind).label, list(u.aliases)) for u in view.units]


def project_rows(view: DirectoryView) -> list[ProjectRow]:
    out = []
    for p in view.projects:
        leader = view.user_by_id(p.leader_id)
        out.append(
            ProjectRow(
                p.id,
                p.name,
                view.unit_name(p.unit_id),
                leader.login if leader else None,
                leader.name if leader else None,
            )
        )
    return out


class DirectoryAdmin:
    """Every management operation, permission-checked, one transaction each."""

    def __init__(self, engine: Engine, clock: Clock):
        self.engine, self.clock = engine, clock

    def _actor(self, session: Session, login: str | None) -> Actor:
        return directory.view(session).actor(login)

    # -- people, units, projects --------------------------------------------------------------------------

    def add_user(
        self,
        actor_login: str,
        login: str,
        name: str,
        unit: str,
        role: str,
        email: str | None = None,
        password: str | None = None,
    ) -> UserRow:
        with open_session(self.engine) as s, s.begin():
            actor = self._actor(s, actor_login)
            require(Manage.USERS, actor)
            if password:
                passwords.validate(password)
            user = create_user(s, login, name, unit, role, email, self.clock())
            if password:
                user.password_hash = passwords.hash_password(password)
                s.add(user)
            login = user.login
        return self.user(actor_login, login)

    def set_active(self, actor_login: str, login: str, active: bool) -> UserRow:
        with open_session(self.engine) as s, s.begin():
            actor = self._actor(s, actor_login)
            require(Manage.USERS, actor)
            target = directory.view(s).user(login, "用户", "login")
            if target.login == actor.login and not active:
                raise InvalidValue("不能停用自己的账号", field="login", value=login)
            s.execute(sa.update(User).where(col(User.id) == target.id).values(active=active))
            if not active:
                sessions.end_all(s, target.id, sessions.EndReason.DEACTIVATED)
        return self.user(actor_login, login)

    def sign_out_everywhere(self, actor_login: str, login: str) -> int:
        """End every browser session of ``login`` at once (an administrator, or that user); returns how many
        were live. API tokens are separate: revoke them with ``revoke_token``."""
        with open_session(self.engine) as s, s.begin():
            actor = self._actor(s, actor_login)
            target = directory.view(s).user(login, "用户", "login")
            require(Manage.USERS, actor, owner_login=target.login)
            return sessions.end_all(s, target.id, sessions.EndReason.SIGNOUT)

    def set_password(self, actor_login: str, login: str, password: str) -> None:
        """An administrator sets anyone's password; everyone may set their own."""
        with open_session(self.engine) as s, s.begin():
            actor = self._actor(s, actor_login)
            require(Manage.USERS, actor, owner_login=(login or "").strip())
            user = passwords.set_password(s, login, password)
            assert user.id is not None
            sessions.end_all(s, user.id, sessions.EndReason.PASSWORD)

    def change_own_password(self, login: str, current: str, new: str, again: str, keep_session: object = None) -> str:
        """Change the caller's password after checking the current one; every session of theirs ends but the
        one whose token is ``keep_session`` (the browser they changed it in). Returns the new hash."""
        with open_session(self.engine) as s, s.begin():
            actor = self._actor(s, login)
            require(Manage.USERS, actor, owner_login=actor.login)
            user = s.get(User, actor.user_id)
            if user is None or not passwords.verify(user.password_hash, current or ""):
                raise InvalidValue("当前密码不正确", field="current")
            if (new or "") != (again or ""):
                raise InvalidValue("两次输入的新密码不一致", field="again")
            user.password_hash = passwords.hash_password(new or "")
            s.add(user)
            assert user.id is not None
            sessions.end_all(s, user.id, sessions.EndReason.PASSWORD, keep=keep_session)
            return user.password_hash

    def add_unit(self, actor_login: str, code: str, name: str, kind: str) -> UnitRow:
        with open_session(self.engine) as s, s.begin():
            require(Manage.UNITS, self._actor(s, actor_login))
            unit = create_unit(s, code, name, kind)
            return UnitRow(unit.code, unit.name, unit.kind, UnitKind(unit.kind).label, [])

    def add_project(self, actor_login: str, name: str, unit: str, leader: str | None = None) -> ProjectRow:
        with open_session(self.engine) as s, s.begin():
            require(Manage.PROJECTS, self._actor(s, actor_login))
            project_id = create_project(s, name, unit, leader, self.clock()).id
        return next(p for p in self.projects() if p.id == project_id)

    def users(self, actor_login: str) -> list[UserRow]:
        """Everyone; e-mail addresses only for those who may see them."""
        with open_session(reader(self.engine)) as s:
            actor = self._actor(s, actor_login)
            require(Manage.REPORTS, actor)  # any active account may read the directory
            return user_rows(s, directory.view(s), may(Manage.SEE_EMAILS, actor))

    def user(self, actor_login: str, login: str) -> UserRow:
        found = next((u for u in self.users(actor_login) if u.login == login), None)
        if found is None:
            raise NotFound(f"用户「{login}」不存在", field="login", value=login)
        return found

    def units(self) -> list[UnitRow]:
        with open_session(reader(self.engine)) as s:
            return unit_rows(directory.view(s))

    def projects(self) -> list[ProjectRow]:
        with open_session(reader(self.engine)) as s:
            return project_rows(directory.view(s))

    # -- API tokens ---------------------------------------------------------------------------------------

    def create_token(self, actor_login: str, login: str, name: str = "", days: int | None = None) -> str:
        """A new token for ``login`` (an administrator, or that user): shown once, stored as a digest."""
        with open_session(self.engine) as s, s.begin():
            actor = self._actor(s, actor_login)
            target = directory.view(s).user(login, "用户", "login")
            require(Manage.TOKENS, actor, owner_login=target.login)
            if not target.active:
                raise InvalidValue(f"用户「{target.login}」已停用，不能为其生成令牌", field="login", value=login)
            now = self.clock()
            expires = now + timedelta(days=days) if days else None
            return tokens.create(s, target.id, name, now, expires)

    def tokens(self, actor_login: str, login: str | None = None) -> list[TokenRow]:
        """An administrator sees every token (or one user's); anyone else only their own."""
        with open_session(reader(self.engine)) as s:
            actor = self._actor(s, actor_login)
            if not may(Manage.TOKENS, actor):
                require(Manage.TOKENS, actor, owner_login=actor.login)  # refuses an inactive account
                if login and login != actor.login:
                    require(Manage.TOKENS, actor)  # someone else's tokens: administrators only
                login = actor.login
            return [TokenRow(**row) for row in tokens.listing(s, login)]

    def revoke_token(self, actor_login: str, token_id: int) -> TokenRow:
        with open_session(self.engine) as s, s.begin():
            actor = self._actor(s, actor_login)
            row = s.get(ApiToken, token_id)
            owner = directory.view(s).user_by_id(row.user_id) if row is not None else None
            if row is None or owner is None:
                raise NotFound(f"令牌编号 {token_id} 不存在", field="token", value=token_id)
            require(Manage.TOKENS, actor, owner_login=owner.login)
            tokens.revoke(s, token_id, self.clock())
            assert row.id is not None and row.created_at is not None
            return TokenRow(row.id, owner.login, row.name, row.prefix, row.created_at, row.expires_at, row.revoked_at)
