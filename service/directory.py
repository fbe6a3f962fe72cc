"""The directory — units, users, projects — read one way by every front end.

``DirectoryView`` is an immutable in-memory copy of the three tables with every look-up people need: a unit
by code, name or alias (麟河镇 → 蟒河镇), a user by login, a project by name or number, the default leader
in charge of a unit, the recipients of a notice by role. ``DirectoryCache`` keeps one view per database and
reloads it only when the ``directory_stamp`` version (raised by database triggers on any change to the three
tables) has moved, so an action reads its actor, people and recipients without a query.

Writes (adding users, units and projects, activating accounts) are in ``service.directory_admin``.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from models.tables import DirectoryStamp, Project, Unit, User, table_of
from workflow.errors import MissingField, NotFound
from workflow.permissions import Actor, Manage, require
from workflow.states import Role

STAMP = table_of(DirectoryStamp)


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserInfo:
    id: int
    login: str
    name: str
    unit_id: int
    role: str
    email: str | None
    active: bool


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    unit_id: int
    leader_id: int | None


@dataclass(frozen=True)
class DirectoryView:
    """The directory as of ``version``. Look-ups raise NotFound/MissingField naming the field."""

    version: int
    units: tuple[UnitInfo, ...]
    users: tuple[UserInfo, ...]
    projects: tuple[ProjectInfo, ...]
    _unit_keys: dict[str, UnitInfo] = field(default_factory=dict, repr=False)
    _units_by_id: dict[int, UnitInfo] = field(default_factory=dict, repr=False)
    _users_by_id: dict[int, UserInfo] = field(default_factory=dict, repr=False)
    _users_by_login: dict[str, UserInfo] = field(default_factory=dict, repr=False)
    _projects_by_id: dict[int, ProjectInfo] = field(default_factory=dict, repr=False)
    _projects_by_name: dict[str, ProjectInfo] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for u in self.units:
            self._units_by_id[u.id] = u
            self._unit_keys.setdefault(u.code, u)
            self._unit_keys.setdefault(u.name, u)
        for u in self.units:  # aliases never shadow a code or a name
            for alias in u.aliases:
                self._unit_keys.setdefault(alias, u)
        for user in self.users:
            self._users_by_id[user.id] = user
            self._users_by_login[user.login] = user
        for p in self.projects:
            self._projects_by_id[p.id] = p
            self._projects_by_name[p.name] = p

    # -- units --------------------------------------------------------------------------------------------

    def unit(self, text: str | None, label: str = "单位", field: str = "unit") -> UnitInfo:
        """By code, name or alias."""
        key = (text or "").strip()
        if not key:
            raise MissingField(f"{label}不能为空", field=field, label=label)
        found = self._unit_keys.get(key)
        if found is None:
            raise NotFound(f"{label}「{key}」不存在；可用单位代码、名称或别名", field=field, value=key, label=label)
        return found

    def unit_by_id(self, unit_id: int | None) -> UnitInfo | None:
        return None if unit_id is None else self._units_by_id.get(unit_id)

    def unit_name(self, unit_id: int | None) -> str:
        u = self.unit_by_id(unit_id)
        return u.name if u else ""

    # -- people -------------------------------------------------------------------------------------------

    def user(self, login: str | None, label: str = "用户", field: str = "login") -> UserInfo:
        key = (login or "").strip()
        if not key:
            raise MissingField(f"{label}不能为空", field=field, label=label)
        found = self._users_by_login.get(key)
        if found is None:
            raise NotFound(f"{label}「{key}」不存在", field=field, value=key, label=label)
        return found

    def user_by_id(self, user_id: int | None) -> UserInfo | None:
        return None if user_id is None else self._users_by_id.get(user_id)

    def actor(self, login: str | None) -> Actor:
        """The person acting (as given by a login, a session or a token)."""
        user = self.user(login, "当前用户", "actor")
        return Actor(user.login, user.name, user.role, user.id, user.unit_id, self.unit_name(user.unit_id), user.active)

    def unit_heads(self, unit_id: int | None) -> list[UserInfo]:
        """The active heads of a unit, oldest account first."""
        return [u for u in self.users if u.unit_id == unit_id and u.role == Role.UNIT_HEAD and u.active]

    def default_leader(self, unit_id: int | None) -> UserInfo | None:
        """The leader in charge a problem gets when none is named: the unit's first active head."""
        heads = self.unit_heads(unit_id)
        return heads[0] if heads else None

    def inspectors(self) -> list[UserInfo]:
        return [u for u in self.users if u.role == Role.INSPECTOR and u.active]

    # -- projects -----------------------------------------------------------------------------------------

    def project(self, text: str | None, label: str = "项目", field: str = "project") -> ProjectInfo:
        """By name, or by number."""
        key = (text or "").strip()
        if not key:
            raise MissingField(f"{label}不能为空", field=field, label=label)
        found = self._projects_by_name.get(key)
        if found is None and key.isascii() and key.isdigit() and len(key) < 10:
            found = self._projects_by_id.get(int(key))
        if found is None:
            raise NotFound(f"{label}「{key}」不存在", field=field, value=key, label=label)
        return found

    def project_by_id(self, project_id: int | None) -> ProjectInfo | None:
        return None if project_id is None else self._projects_by_id.get(project_id)


def stamp_column() -> sa.ScalarSelect:
    """``(SELECT version FROM directory_stamp)`` — added to a query to learn the directory's version."""
    return sa.select(STAMP.c.version).where(STAMP.c.id == 1).scalar_subquery()


def read_stamp(session: Session | Connection) -> int:
    return session.execute(sa.select(STAMP.c.version).where(STAMP.c.id == 1)).scalar_one()


def load_view(session: Session | Connection) -> DirectoryView:
    """Read the whole directory (three queries) at its current version."""
    version = read_stamp(session)
    u, us, p = table_of(Unit), table_of(User), table_of(Project)
    units = tuple(
        UnitInfo(r.id, r.code, r.name, r.kind, tuple(r.aliases or ()))
        for r in session.execute(sa.select(u.c.id, u.c.code, u.c.name, u.c.kind, u.c.aliases).order_by(u.c.id))
    )
    users = tuple(
        UserInfo(r.id, r.login, r.name, r.unit_id, r.role, r.email, r.active)
        for r in session.execute(
            sa.select(us.c.id, us.c.login, us.c.name, us.c.unit_id, us.c.role, us.c.email, us.c.active).order_by(
                us.c.id
            )
        )
    )
    projects = tuple(
        ProjectInfo(r.id, r.name, r.unit_id, r.leader_id)
        for r in session.execute(sa.select(p.c.id, p.c.name, p.c.unit_id, p.c.leader_id).order_by(p.c.id))
    )
    return DirectoryView(version, units, users, projects)


class DirectoryCache:
    """The latest view of one database, shared by the threads of a process."""

    def __init__(self) -> None:
        self._view: DirectoryView | None = None
        self._lock = threading.Lock()

    def view(self, session: Session | Connection, version: int | None = None) -> DirectoryView:
        """The current view. ``version`` is the stamp the caller already read (with its problem row);
        without it the stamp is read here. A view loaded in this transaction is as current as the caller's."""
        if version is None:
            version = read_stamp(session)
        cached = self._view
        if cached is not None and cached.version == version:
            return cached
        fresh = load_view(session)
        with self._lock:
            if self._view is None or fresh.version >= self._view.version:
                self._view = fresh
        return fresh


# Keyed by the connection pool: an engine and its ``execution_options`` variants (models.db.reader) share it.
_CACHES: weakref.WeakKeyDictionary[object, DirectoryCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: Engine) -> DirectoryCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(engine.pool)
        if cache is None:
            cache = _CACHES[engine.pool] = DirectoryCache()
        return cache


def view(session: Session) -> DirectoryView:
    """The current directory for a session's database (cached per engine)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return cache_for(engine).view(session)


def authorize(engine: Engine, login: str | None, what: Manage) -> Actor:
    """The acting user, once ``workflow.permissions`` says they may do ``what`` (in its own read)."""
    from models.db import reader
    from models.db import session as open_session

    with open_session(reader(engine)) as session:
        actor = view(session).actor(login)
    require(what, actor)
    return actor


def form_choices(engine: Engine) -> dict:
    """People and units as the web's forms offer them: active people (login, name, unit) and units (code, name)."""
    from models.db import reader
    from models.db import session as open_session

    with open_session(reader(engine)) as session:
        v = view(session)
    people = sorted((u.unit_id, u.login, u.name) for u in v.users if u.active)
    return {
        "people": [(login, name, v.unit_name(unit_id)) for unit_id, login, name in people],
        "units": [(u.code, u.name) for u in v.units],
    }
