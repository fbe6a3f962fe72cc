"""Turn the workflow's notice intents (kinds and roles) into outbox rows (people and addresses).

People come from the in-memory directory (``service.directory.DirectoryView``), so recording the notices of
an action or of a whole sweep batch costs no query beyond the one INSERT.

Rows are inserted with ON CONFLICT DO NOTHING on ``dedup_key``: the key is built from what the notice
is about (problem, kind, level, deadline, milestone, recipient), so the sweep replayed at the same
moment, or run by two schedulers, records each notice once. A role that resolves to nobody, or a
person without an address, still gets a row — ``undeliverable`` with the reason — so a silent miss
shows up in the outbox list instead of vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from models.tables import Notice, table_of
from service.directory import DirectoryView, UserInfo
from workflow.ladders import Organiser
from workflow.machine import NoticeIntent
from workflow.permissions import Actor, Stake
from workflow.states import Recipient


def resolve(view: DirectoryView, role: Recipient, stake: Stake, organiser: Organiser | None = None) -> list[UserInfo]:
    """The active people ``role`` means for a problem with ``stake`` (``organiser``: whom the rules name as
    the meeting's organiser)."""
    if role == Recipient.UNIT_HEAD:
        return view.unit_heads(stake.responsible_unit_id)
    if role == Recipient.INSPECTION_OFFICE:
        return view.inspectors()
    if role == Recipient.ORGANISER:
        return _organisers(view, organiser)
    user_id = {
        Recipient.RESPONSIBLE_PERSON: stake.responsible_person_id,
        Recipient.LEADER_IN_CHARGE: stake.leader_id,
        Recipient.CONTRACTING_LEADER: stake.project_leader_id,
        Recipient.REPORTER: stake.reporter_id,
    }.get(role)
    user = view.user_by_id(user_id)
    return [user] if user is not None and user.active else []


def _organisers(view: DirectoryView, organiser: Organiser | None) -> list[UserInfo]:
    if organiser is None:
        return []
    if organiser.role is not None:
        return [u for u in view.users if u.role == organiser.role and u.active]
    unit = next((u for u in view.units if u.code == organiser.unit), None)
    return [u for u in view.users if unit is not None and u.unit_id == unit.id and u.active]


@dataclass(frozen=True)
class NoticeSubject:
    """What a batch of notice intents is about: the problem and the event that caused them. ``snapshot``:
    the problem as the notice describes it, fixed now (``service.persist.notice_snapshot``)."""

    problem_id: int
    level: str
    deadline: date | None
    stake: Stake
    event_id: int | None
    snapshot: dict | None = None


def notice_rows(
    view: DirectoryView, intent: NoticeIntent, subject: NoticeSubject, now: datetime, actor: Actor
) -> list[dict]:
    extra = intent.key or str(intent.payload.get("milestone") or ("final" if intent.payload.get("final") else ""))
    if not intent.replayable:
        extra = f"{extra}e{subject.event_id}"
    base = dict(
        kind=intent.kind,
        problem_id=subject.problem_id,
        event_id=subject.event_id,
        level=subject.level,
        deadline=subject.deadline,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        last_error="",
        payload={
            **intent.payload,
            "actor": actor.login,
            "actor_name": actor.name,
            "event_id": subject.event_id,
            **({"problem": subject.snapshot} if subject.snapshot is not None else {}),
        },
    )
    rows: list[dict] = []
    seen: set[str] = set()
    for role in intent.recipients:
        people = resolve(view, role, subject.stake, intent.organiser)
        if not people:
            rows.append(
                dict(
                    base,
                    dedup_key=_key(intent.kind, subject, extra, f"role:{role.value}"),
                    recipient_role=role.value,
                    recipient_login=None,
                    recipient_email=None,
                    status="undeliverable",
                    last_error=_nobody(role, intent.organiser),
                )
            )
            continue
        for user in people:
            if user.login in seen:
                continue
            seen.add(user.login)
            row = dict(
                base,
                dedup_key=_key(intent.kind, subject, extra, user.login),
                recipient_role=role.value,
                recipient_login=user.login,
                recipient_email=user.email,
                status="pending",
            )
            if not user.email:
                row.update(status="undeliverable", last_error=f"用户 {user.name}（{user.login}）没有登记邮箱")
            rows.append(row)
    return rows


def _nobody(role: Recipient, organiser: Organiser | None) -> str:
    if role == Recipient.ORGANISER and organiser is not None:
        named = f"单位 {organiser.unit}" if organiser.unit else f"角色 {organiser.role}"
        return f"规则文件 [organiser] 指定的{named}没有在职人员（请在单位和用户管理中设置，或修改规则文件）"
    return f"没有可接收通知的{role.label}（请在用户管理中设置）"


def _key(kind: str, s: NoticeSubject, extra: str, recipient: str) -> str:
    return "|".join((kind, str(s.problem_id), s.level or "", str(s.deadline or ""), extra, recipient))[:255]


def _insert():
    from sqlalchemy.dialects import postgresql, sqlite

    table = table_of(Notice)
    return {
        name: dialect.insert(table).on_conflict_do_nothing(index_elements=[table.c.dedup_key])
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    }


def insert_notices(conn: Connection, rows: list[dict]) -> None:
    """Insert outbox rows, skipping any whose dedup_key exists. No RETURNING: psycopg then pipelines the
    rows instead of parsing one huge multi-VALUES statement."""
    if rows:
        conn.execute(_INSERT[conn.dialect.name], rows)


def insert_new_notices(session: Session | Connection, rows: list[dict]) -> int:
    """``insert_notices``, counting the rows really inserted (RETURNING: a batched executemany's rowcount
    is not portable)."""
    if not rows:
        return 0
    conn = session.connection() if isinstance(session, Session) else session
    stmt = _INSERT[conn.dialect.name].returning(table_of(Notice).c.id)
    return len(conn.execute(stmt, rows).all())


_INSERT = _insert()


def count_pending(session: Session) -> int:
    return session.exec(select(sa.func.count()).select_from(Notice).where(Notice.status == "pending")).one()
