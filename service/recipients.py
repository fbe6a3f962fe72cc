"""Turn the workflow's notice intents (kinds and roles) into outbox rows (people and addresses).

Rows are inserted with ON CONFLICT DO NOTHING on ``dedup_key``: the key is built from what the notice
is about (problem, kind, level, deadline, milestone, recipient), so the sweep replayed at the same
moment, or run by two schedulers, records each notice once. A role that resolves to nobody, or a
person without an address, still gets a row — ``undeliverable`` with the reason — so a silent miss
shows up in ``duban outbox list`` instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from models.tables import Notice, User
from workflow.machine import NoticeIntent
from workflow.states import Recipient, Role


@dataclass(frozen=True)
class Parties:
    """Who a problem concerns, by id."""

    responsible_unit_id: int | None
    responsible_person_id: int | None
    leader_id: int | None
    project_leader_id: int | None
    reporter_id: int | None


class RecipientBook:
    """Caches the few user look-ups a batch of notices needs."""

    def __init__(self, session: Session):
        self.session = session
        self._users: dict[int, User | None] = {}
        self._heads: dict[int, list[User]] = {}
        self._inspectors: list[User] | None = None

    def prefetch(self, parties: Iterable[Parties]) -> None:
        """Load every person and unit head a batch may need in two queries instead of one per person."""
        parties = list(parties)
        ids = {
            i
            for p in parties
            for i in (p.responsible_person_id, p.leader_id, p.project_leader_id, p.reporter_id)
            if i is not None and i not in self._users
        }
        units = {p.responsible_unit_id for p in parties if p.responsible_unit_id is not None} - set(self._heads)
        if ids:
            found = {u.id: u for u in self.session.exec(select(User).where(User.id.in_(ids))).all()}
            self._users.update({i: found.get(i) for i in ids})
        if units:
            for unit_id in units:
                self._heads[unit_id] = []
            for u in self.session.exec(
                select(User)
                .where(User.unit_id.in_(units), User.role == Role.UNIT_HEAD, User.active.is_(True))
                .order_by(User.id)
            ).all():
                self._heads[u.unit_id].append(u)

    def user(self, user_id: int | None) -> list[User]:
        if user_id is None:
            return []
        if user_id not in self._users:
            self._users[user_id] = self.session.get(User, user_id)
        u = self._users[user_id]
        return [u] if u is not None and u.active else []

    def unit_heads(self, unit_id: int | None) -> list[User]:
        if unit_id is None:
            return []
        if unit_id not in self._heads:
            self._heads[unit_id] = list(
                self.session.exec(
                    select(User)
                    .where(User.unit_id == unit_id, User.role == Role.UNIT_HEAD, User.active.is_(True))
                    .order_by(User.id)
                ).all()
            )
        return self._heads[unit_id]

    def inspectors(self) -> list[User]:
        if self._inspectors is None:
            self._inspectors = list(
                self.session.exec(
                    select(User).where(User.role == Role.INSPECTOR, User.active.is_(True)).order_by(User.id)
                ).all()
            )
        return self._inspectors

    def resolve(self, role: Recipient, p: Parties) -> list[User]:
        if role == Recipient.RESPONSIBLE_PERSON:
            return self.user(p.responsible_person_id)
        if role == Recipient.UNIT_HEAD:
            return self.unit_heads(p.responsible_unit_id)
        if role == Recipient.LEADER_IN_CHARGE:
            return self.user(p.leader_id)
        if role == Recipient.CONTRACTING_LEADER:
            return self.user(p.project_leader_id)
        if role == Recipient.INSPECTION_OFFICE:
            return self.inspectors()
        if role == Recipient.REPORTER:
            return self.user(p.reporter_id)
        return []


def notice_rows(
    book: RecipientBook,
    intent: NoticeIntent,
    problem_id: int,
    level: str,
    deadline: date | None,
    parties: Parties,
    event_id: int | None,
    now: datetime,
    actor_login: str,
    actor_name: str,
) -> list[dict]:
    extra = str(intent.payload.get("milestone") or ("final" if intent.payload.get("final") else ""))
    if not intent.replayable:
        extra = f"{extra}e{event_id}"
    base = dict(
        kind=intent.kind,
        problem_id=problem_id,
        event_id=event_id,
        level=level,
        deadline=deadline,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        last_error="",
        payload={**intent.payload, "actor": actor_login, "actor_name": actor_name, "event_id": event_id},
    )
    rows: list[dict] = []
    seen: set[str] = set()
    for role in intent.recipients:
        people = book.resolve(role, parties)
        if not people:
            key = _key(intent.kind, problem_id, level, deadline, extra, f"role:{role.value}")
            rows.append(
                dict(
                    base,
                    dedup_key=key,
                    recipient_role=role.value,
                    recipient_login=None,
                    recipient_email=None,
                    status="undeliverable",
                    last_error=f"没有可接收通知的{role.label}（请在用户管理中设置）",
                )
            )
            continue
        for user in people:
            if user.login in seen:
                continue
            seen.add(user.login)
            key = _key(intent.kind, problem_id, level, deadline, extra, user.login)
            row = dict(
                base,
                dedup_key=key,
                recipient_role=role.value,
                recipient_login=user.login,
                recipient_email=user.email,
                status="pending",
            )
            if not user.email:
                row.update(status="undeliverable", last_error=f"用户 {user.name}（{user.login}）没有登记邮箱")
            rows.append(row)
    return rows


def _key(kind: str, problem_id: int, level: str, deadline: date | None, extra: str, recipient: str) -> str:
    return "|".join((kind, str(problem_id), level or "", str(deadline or ""), extra, recipient))[:255]


def insert_notices(session: Session, rows: Iterable[dict]) -> int:
    """Insert outbox rows, skipping any whose dedup_key exists. Returns the number inserted."""
    rows = list(rows)
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = Notice.__table__
    stmt = insert(table).on_conflict_do_nothing(index_elements=[table.c.dedup_key]).returning(table.c.id)
    # RETURNING counts what was really inserted (rowcount of a batched executemany is not portable).
    return len(session.execute(stmt, rows).all())


def count_pending(session: Session) -> int:
    return session.exec(select(sa.func.count()).select_from(Notice).where(Notice.status == "pending")).one()
