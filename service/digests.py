"""Periodic notices that summarise instead of repeating: the daily digest (每日汇总) and the half-monthly
dispatch of major problems (重大问题每半月至少调度一次).

Each is one outbox row per person per period, keyed by the period, so any number of scheduler runs or
processes in that period record it once. A digest replaces per-item mail for people who supervise many
problems — the cure for the notification storms users of other ticketing systems complain about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.db import insert_for
from models.db import session as open_session
from models.office import DispatchRecord
from models.tables import Problem, Project, Unit, User, table_of
from service import directory
from service.recipients import insert_new_notices
from workflow.errors import StaleVersion
from workflow.office_rules import first_workday_from
from workflow.permissions import SYSTEM
from workflow.rules import Rules
from workflow.states import OPEN_STATES, Light, Role, Severity

_LIGHT_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.BLUE: 2, Light.GREEN: 3}


@dataclass(frozen=True)
class _Row:
    problem: Problem
    unit_name: str
    project_leader_id: int | None

    def item(self) -> dict:
        p = self.problem
        return {
            "code": p.code,
            "title": p.title,
            "light": p.light,
            "level": p.level,
            "state": p.state,
            "deadline": p.deadline.isoformat() if p.deadline else None,
            "unit": self.unit_name,
        }


def digest_day(rules: Rules, now: datetime) -> date | None:
    """Today's date if today's digest is due (a working day, at or after the configured time)."""
    local = now.astimezone(rules.timezone)
    if rules.calendar.is_workday(local.date()) and local.time() >= rules.digest_at:
        return local.date()
    return None


def dispatch_period(rules: Rules, now: datetime) -> str | None:
    """The current dispatch period (e.g. ``2024-01/16``) once it has begun, else None. A period named by its
    day (the 1st, the 16th) begins at the configured time on the first working day on or after that day:
    the 1st of January is 元旦, so that dispatch runs on the 2nd; one falling in 春节 waits for the first
    working day after it (a make-up Sunday counts)."""
    local = now.astimezone(rules.timezone)
    today = local.date()
    begun = []
    for year, month in ((today.year - (today.month == 1), (today.month - 2) % 12 + 1), (today.year, today.month)):
        for day in rules.dispatch_days:
            due = first_workday_from(rules.calendar, year, month, day)
            if due < today or (due == today and local.time() >= rules.dispatch_at):
                begun.append((due, f"{year}-{month:02d}/{day:02d}"))
    return max(begun)[1] if begun else None


def period_label(period: str) -> str:
    """``2024-01/16`` → 2024年1月16日批次."""
    ym, day = period.split("/")
    year, month = ym.split("-")
    return f"{int(year)}年{int(month)}月{int(day)}日批次"


def _open_rows(session, *conditions) -> list[_Row]:
    query = (
        select(Problem, Unit.name, Project.leader_id)
        .join(Project, col(Project.id) == col(Problem.project_id))
        .outerjoin(Unit, col(Unit.id) == col(Problem.responsible_unit_id))
        .where(col(Problem.state).in_([s.value for s in OPEN_STATES]), *conditions)
    )
    rows = [_Row(p, u or "", lead) for p, u, lead in session.exec(query).all()]
    rows.sort(key=lambda r: (_LIGHT_ORDER[Light(r.problem.light)], r.problem.deadline or date.max, r.problem.code))
    return rows


def _concerns(user: User, row: _Row) -> bool:
    p = row.problem
    if user.role == Role.INSPECTOR:
        return True
    if user.id in (p.leader_id, row.project_leader_id, p.responsible_person_id):
        return True
    return user.role == Role.UNIT_HEAD and user.unit_id == p.responsible_unit_id


def _record(session, kind: str, period: str, now: datetime, recipients: list[User], rows: list[_Row]) -> int:
    notices = []
    for user in recipients:
        mine = [r.item() for r in rows if _concerns(user, r)]
        if not mine:
            continue
        role = "inspection_office" if user.role == Role.INSPECTOR else user.role
        status, error = (
            ("pending", "") if user.email else ("undeliverable", f"用户 {user.name}（{user.login}）没有登记邮箱")
        )
        notices.append(
            dict(
                dedup_key=f"{kind}|{period}|{user.login}",
                kind=kind,
                problem_id=None,
                event_id=None,
                level=None,
                deadline=None,
                recipient_role=role,
                recipient_login=user.login,
                recipient_email=user.email,
                status=status,
                last_error=error,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                payload={"period": period, "items": mine},
            )
        )
    return insert_new_notices(session, notices)


def record_digests(engine: Engine, rules: Rules, now: datetime) -> int:
    """One digest per unit head, county leader and inspector listing their blue, yellow and red items."""
    day = digest_day(rules, now)
    if day is None:
        return 0
    with open_session(engine) as session, session.begin():
        rows = _open_rows(session, col(Problem.light).in_([Light.BLUE, Light.YELLOW, Light.RED]))
        if not rows:
            return 0
        people = session.exec(
            select(User)
            .where(
                col(User.active).is_(True),
                col(User.role).in_([Role.UNIT_HEAD, Role.DEPUTY_HEAD, Role.COUNTY_LEADER, Role.INSPECTOR]),
            )
            .order_by(col(User.id))
        ).all()
        return _record(session, "digest", day.isoformat(), now, list(people), rows)


def record_dispatch(engine: Engine, rules: Rules, now: datetime) -> int:
    """The half-monthly dispatch (重大问题每半月至少调度一次): once per period, a ``dispatch`` event on every
    open major problem (the system dispatching; ``dispatch_record`` keeps it to once per problem and period)
    and the list to the county leaders and leaders in charge concerned and the office. Returns the mails
    recorded."""
    period = dispatch_period(rules, now)
    if period is None:
        return 0
    for _ in range(5):
        try:
            return _dispatch(engine, rules, now, period)
        except StaleVersion:  # someone acted on one of the problems meanwhile: do it again
            continue
    raise StaleVersion()


def _dispatch(engine: Engine, rules: Rules, now: datetime, period: str) -> int:
    from service.persist import PROBLEM, loaded_from_row, persist, select_loaded
    from workflow.machine import fire

    record = table_of(DispatchRecord)
    with open_session(engine) as session, session.begin():
        rows = _open_rows(session, Problem.severity == Severity.MAJOR)
        if not rows:
            return 0
        # ON CONFLICT DO NOTHING … RETURNING: a second scheduler dispatching the same period at the same
        # time waits for the first's commit, then finds every problem already recorded.
        insert = insert_for(session.get_bind())
        new = sorted(
            session.execute(
                insert(record)
                .on_conflict_do_nothing(index_elements=[record.c.period, record.c.problem_id])
                .returning(record.c.problem_id),
                [dict(period=period, problem_id=r.problem.id, at=now) for r in rows],
            ).scalars()
        )
        if not new:
            return 0
        loaded = [loaded_from_row(r) for r in session.execute(select_loaded().where(PROBLEM.c.id.in_(new))).all()]
        text = f"重大问题半月调度（{period_label(period)}）：列入调度清单，发送包联县级领导、分管领导和督查室"
        items = [
            (lo, [fire("dispatch", lo.snap, SYSTEM, lo.stake, now, rules, text=text, period=period)]) for lo in loaded
        ]
        event_ids = persist(session, items, SYSTEM, now, directory.view(session), rules=rules)
        for lo, event_id in zip(loaded, event_ids):
            session.execute(
                sa.update(record)
                .where(record.c.period == period, record.c.problem_id == lo.snap.id)
                .values(event_id=event_id)
            )
        people_ids = {i for r in rows for i in (r.problem.leader_id, r.project_leader_id) if i}
        people = session.exec(
            select(User)
            .where(col(User.active).is_(True), (col(User.id).in_(people_ids)) | (col(User.role) == Role.INSPECTOR))
            .order_by(col(User.id))
        ).all()
        return _record(session, "dispatch", period, now, list(people), rows)
