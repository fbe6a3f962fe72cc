"""The in-app inbox (站内消息) and each person's choice of how to receive notices.

Every notice a person chooses to see in the inbox (by default: every notice) is an outbox row with
``channel = 'inbox'``, written with the notice itself; reading the inbox renders it as a short message
(``notifications.brief``). A person reads and marks only their own inbox; an inactive account may do
nothing (``Manage.INBOX``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.db import reader
from models.db import session as open_session
from models.delivery import NoticeChannel, NoticePreference
from models.tables import Notice, Problem, table_of
from notifications import brief
from notifications.choices import DEFAULTS, PREFERENCE_KINDS, WAYS, check_ways, ways_for
from notifications.context import ContextLoader
from notifications.errors import RenderError
from notifications.kinds import kind_label
from service import directory
from workflow.errors import InvalidValue, NotFound
from workflow.permissions import Manage

Clock = Callable[[], datetime]
PAGE_MAX = 200
T = table_of(Notice)


@dataclass(frozen=True)
class InboxItem:
    id: int
    kind: str
    kind_label: str
    problem_code: str | None
    title: str
    text: str
    link: str  # a path in the web workspace
    created_at: datetime
    read_at: datetime | None

    def as_dict(self) -> dict:
        return {**self.__dict__, "read": self.read_at is not None}


def _mine(login: str):
    return sa.and_(T.c.channel == "inbox", T.c.recipient_login == login)


def unread_count(engine: Engine, login: str) -> int:
    """Unread messages of ``login`` (one indexed count; no permission check: it is one's own number)."""
    with reader(engine).connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(T).where(_mine(login), T.c.read_at.is_(None))
        return conn.execute(stmt).scalar_one()


def inbox(engine: Engine, login: str, *, unread_only: bool = False, limit: int = 50) -> tuple[list[InboxItem], int]:
    """(newest messages first, number unread) of the acting user."""
    actor = directory.authorize(engine, login, Manage.INBOX)
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidValue(f"条数「{limit}」无效：应为 1–{PAGE_MAX}", field="limit", value=limit, label="条数")
    with open_session(reader(engine)) as session:
        stmt = sa.select(Notice, col(Problem.code)).outerjoin(Problem, col(Problem.id) == col(Notice.problem_id))
        stmt = stmt.where(_mine(actor.login))
        if unread_only:
            stmt = stmt.where(T.c.read_at.is_(None))
        rows = session.execute(stmt.order_by(T.c.id.desc()).limit(limit)).all()
        loader = ContextLoader(session)
        loader.prefetch([n for n, _ in rows])
        items = [_item(loader, n, code) for n, code in rows]
        unread = session.execute(
            sa.select(sa.func.count()).select_from(T).where(_mine(actor.login), T.c.read_at.is_(None))
        ).scalar_one()
    return items, unread


def _item(loader: ContextLoader, n: Notice, code: str | None) -> InboxItem:
    try:
        message = brief.brief(loader, n, None)
        title, text = message.title, message.text
    except RenderError as exc:
        title, text = kind_label(n.kind), exc.message
    link = f"/problems/{code}" if code else "/dashboard"
    assert n.created_at is not None  # a stored notice
    return InboxItem(n.id or 0, n.kind, kind_label(n.kind), code, title, text, link, n.created_at, n.read_at)


def mark_read(engine: Engine, login: str, notice_id: int, now: datetime) -> int:
    """Mark one message of the acting user read (again: a no-op); NotFound when it is not theirs."""
    actor = directory.authorize(engine, login, Manage.INBOX)
    with engine.begin() as conn:
        found = conn.execute(sa.select(T.c.read_at).where(_mine(actor.login), T.c.id == notice_id)).first()
        if found is None:
            raise NotFound(f"站内消息 {notice_id} 不存在", field="id", value=notice_id, label="消息编号")
        if found.read_at is None:
            conn.execute(T.update().where(T.c.id == notice_id).values(read_at=now))
    return notice_id


def mark_all_read(engine: Engine, login: str, now: datetime) -> int:
    """Mark every unread message of the acting user read; returns how many."""
    actor = directory.authorize(engine, login, Manage.INBOX)
    with engine.begin() as conn:
        stmt = T.update().where(_mine(actor.login), T.c.read_at.is_(None)).values(read_at=now)
        return conn.execute(stmt).rowcount


# -- how a person receives notices -----------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    kind: str
    label: str
    ways: tuple[str, ...]
    default: bool  # no stored choice: the default applies

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def preferences(engine: Engine, login: str) -> dict:
    """The acting user's choices for every kind, and the channels that reach them (names only)."""
    actor = directory.authorize(engine, login, Manage.INBOX)
    with open_session(reader(engine)) as session:
        stored: dict[str, tuple[str, ...]] = {
            r.kind: tuple(r.ways or ())
            for r in session.execute(
                sa.select(col(NoticePreference.kind), col(NoticePreference.ways)).where(
                    col(NoticePreference.user_id) == actor.user_id
                )
            )
        }
        c = table_of(NoticeChannel)
        reach = session.execute(
            sa.select(c.c.name, c.c.kind, c.c.unit_id)
            .where(c.c.active.is_(True), sa.or_(c.c.user_id == actor.user_id, c.c.unit_id == actor.unit_id))
            .order_by(c.c.id)
        ).all()
        user = directory.view(session).user_by_login(actor.login)
    items = [
        Preference(kind, label, tuple(w for w in WAYS if w in ways_for(kind, stored)), kind not in stored)
        for kind, label in PREFERENCE_KINDS.items()
    ]
    return {
        "items": items,
        "ways": dict(WAYS),
        "email": user.email if user else None,
        "channels": [{"name": r.name, "kind": r.kind, "group": r.unit_id is not None} for r in reach],
    }


def set_preferences(engine: Engine, login: str, choices: dict[str, Iterable[str]], now: datetime) -> int:
    """Store the acting user's choices (kind → ways); a choice equal to the default is stored as no row.
    Returns how many kinds now differ from the default."""
    actor = directory.authorize(engine, login, Manage.INBOX)
    checked = {kind: check_ways(kind, ways) for kind, ways in choices.items()}
    p = table_of(NoticePreference)
    with engine.begin() as conn:
        for kind, ways in checked.items():
            conn.execute(p.delete().where(p.c.user_id == actor.user_id, p.c.kind == kind))
            if ways != DEFAULTS[kind]:
                ordered = [w for w in WAYS if w in ways]
                conn.execute(p.insert().values(user_id=actor.user_id, kind=kind, ways=ordered, updated_at=now))
        return conn.execute(sa.select(sa.func.count()).select_from(p).where(p.c.user_id == actor.user_id)).scalar_one()
