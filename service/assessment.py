"""The monthly assessment (考核) as a use case: compute a month from the audit log (``workflow.assessment``),
keep its scores (every month's, for the trend), and — on the configured day — run it, keep the 通报 and
tell each unit's heads their score and rank.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from models.db import insert_for, reader
from models.db import session as open_session
from models.office import AssessmentRun, AssessmentScore
from models.tables import Event, Problem, Unit, User, table_of
from service import directory
from service.recipients import insert_new_notices
from workflow import deadlines as dl
from workflow.assessment import EventRec, Month, Row, figures, period_text, rank
from workflow.errors import InvalidValue, NotFound
from workflow.permissions import SYSTEM_LOGIN, Manage, may, require
from workflow.rules import Rules
from workflow.states import Role

log = logging.getLogger(__name__)
RUN, SCORE = table_of(AssessmentRun), table_of(AssessmentScore)


@dataclass
class Assessment:
    month: Month
    first: date
    after: date  # the day after the period
    computed_at: datetime
    rows: list[Row]
    groups: list[str]
    consequence: str
    trend: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # unit → [(month, score)]

    @property
    def period(self) -> str:
        return period_text(self.first, self.after)

    def as_dict(self) -> dict:
        return {
            "month": self.month.slug,
            "label": self.month.label,
            "period": {"first": self.first.isoformat(), "last": _last(self.after), "text": self.period},
            "computed_at": self.computed_at.isoformat(),
            "consequence": self.consequence,
            "rows": [r.as_dict() for r in self.rows],
            "trend": {u: [{"month": m, "score": s} for m, s in pts] for u, pts in self.trend.items()},
        }


def _last(after: date) -> str:
    return date.fromordinal(after.toordinal() - 1).isoformat()


def compute(engine: Engine, rules: Rules, month: str | Month, now: datetime, login: str | None) -> Assessment:
    """The month's assessment from the audit log. Refused, changing nothing, for a period not yet over or
    one in which no unit had a problem to assess."""
    if login != SYSTEM_LOGIN:
        directory.authorize(engine, login, Manage.REPORTS)
    m = month if isinstance(month, Month) else Month.parse(month)
    first, after = m.period(rules.assessment.day)
    start, end = dl.start_of_day(first, rules), dl.start_of_day(after, rules)
    if end > now:
        raise InvalidValue(
            f"{m.label}考核期（{period_text(first, after)}）尚未结束，{after} 起可以考核",
            field="month",
            value=m.slug,
            label="考核月份",
        )
    e = table_of(Event)
    with open_session(reader(engine)) as session:
        events = [
            EventRec(pid, at, action, to_state, to_level, data or {})
            for pid, at, action, to_state, to_level, data in session.execute(
                sa.select(e.c.problem_id, e.c.at, e.c.action, e.c.to_state, e.c.to_level, e.c.data)
                .where(e.c.at < sa.bindparam("end", end, type_=e.c.at.type))
                .order_by(e.c.problem_id, e.c.at, e.c.id)
            )
        ]
        current = dict(session.execute(sa.select(col(Problem.id), col(Problem.responsible_unit_id))).all())
        units = {
            uid: (name, kind)
            for uid, name, kind in session.execute(sa.select(col(Unit.id), col(Unit.name), col(Unit.kind)))
        }
        history = session.execute(
            sa.select(SCORE.c.month, col(Unit.name), SCORE.c.score)
            .join(Unit, col(Unit.id) == SCORE.c.unit_id)
            .where(SCORE.c.month < m.slug)
            .order_by(SCORE.c.month)
        ).all()
    rows = rank(figures(events, current, start, end, rules), units, rules)
    if not rows:
        raise NotFound(
            f"{m.label}没有考核数据：考核期（{period_text(first, after)}）内没有单位有在办或办结的问题",
            field="month",
            value=m.slug,
            label="考核月份",
        )
    trend: dict[str, list[tuple[str, float]]] = {}
    assessed = {r.unit for r in rows}
    for slug, name, value in history:
        if name in assessed:
            trend.setdefault(name, []).append((slug, value))
    for r in rows:
        trend.setdefault(r.unit, []).append((m.slug, r.score))
    groups = list(dict.fromkeys(rules.assessment.groups.values()))
    return Assessment(m, first, after, now, rows, groups, rules.assessment.consequence, trend)


def keep(engine: Engine, a: Assessment, login: str, now: datetime, pdf: bytes | None = None) -> None:
    """Store the month's scores (replacing an earlier computation of the same month) and its run."""
    with open_session(engine) as session, session.begin():
        if login != SYSTEM_LOGIN:
            require(Manage.ASSESSMENT, directory.view(session).actor(login))
        session.execute(sa.delete(SCORE).where(SCORE.c.month == a.month.slug))
        session.execute(
            sa.insert(SCORE),
            [
                dict(
                    month=a.month.slug,
                    unit_id=r.unit_id,
                    group=r.group,
                    score=r.score,
                    rank=r.rank,
                    bottom=r.bottom,
                    indicators=r.as_dict(),
                )
                for r in a.rows
            ],
        )
        values = dict(period_start=a.first, period_end=a.after, computed_at=now, computed_by=login, units=len(a.rows))
        if pdf is not None:
            values["pdf"] = pdf
        done = session.execute(sa.update(RUN).where(RUN.c.month == a.month.slug).values(**values))
        if done.rowcount == 0:  # type: ignore[attr-defined]  # a DML statement's CursorResult
            session.execute(sa.insert(RUN).values(month=a.month.slug, **values))


def may_keep(engine: Engine, login: str | None) -> bool:
    with open_session(reader(engine)) as session:
        return may(Manage.ASSESSMENT, directory.view(session).actor(login))


def kept_months(engine: Engine, login: str | None) -> list[str]:
    """The months whose assessment has been kept (newest first), for pointing to them from a month without data."""
    directory.authorize(engine, login, Manage.REPORTS)
    with open_session(reader(engine)) as session:
        return list(
            session.execute(sa.select(RUN.c.month).where(RUN.c.units > 0).order_by(RUN.c.month.desc())).scalars()
        )


def trend(engine: Engine, login: str | None, unit: str | None = None) -> list[dict]:
    """Every kept month's score and rank, per unit (optionally one unit), oldest first."""
    directory.authorize(engine, login, Manage.REPORTS)
    with open_session(reader(engine)) as session:
        stmt = (
            sa.select(SCORE.c.month, col(Unit.name), SCORE.c.group, SCORE.c.score, SCORE.c.rank)
            .join(Unit, col(Unit.id) == SCORE.c.unit_id)
            .order_by(SCORE.c.month, SCORE.c.group, SCORE.c.rank, col(Unit.name))
        )
        if unit:
            stmt = stmt.where(col(Unit.id) == directory.view(session).unit(unit, "单位", "unit").id)
        return [{"month": m, "unit": u, "group": g, "score": s, "rank": r} for m, u, g, s, r in session.execute(stmt)]


def run_monthly(engine: Engine, rules: Rules, now: datetime) -> int:
    """On the month's run day (the configured day, or the next working day) at the configured time, once:
    compute, keep with its 通报 PDF, and tell the heads of every assessed unit. Returns the mails recorded."""
    local = now.astimezone(rules.timezone)
    m = Month(local.year, local.month)
    due = m.run_day(rules)
    if local.date() < due or (local.date() == due and local.time() < rules.assessment.at):
        return 0
    if due.month != local.month:  # the run day rolled into next month: that month runs it
        return 0
    if not _claim(engine, m, rules, now):
        return 0  # done already, or another scheduler is doing it
    try:
        a = compute(engine, rules, m, now, SYSTEM_LOGIN)
        from reports.assessment import assessment_pdf

        pdf = assessment_pdf(a, rules)
    except NotFound:
        log.info("assessment %s: nothing to assess", m.slug)
        return 0
    except Exception:
        with open_session(engine) as session, session.begin():  # give the month back for the next round
            session.execute(sa.delete(RUN).where(RUN.c.month == m.slug, RUN.c.units == 0))
        raise
    keep(engine, a, SYSTEM_LOGIN, now, pdf)
    return notify(engine, a, now)


def _claim(engine: Engine, m: Month, rules: Rules, now: datetime) -> bool:
    """The month's run row, inserted unless it exists (INSERT … ON CONFLICT DO NOTHING): one scheduler runs it."""
    first, after = m.period(rules.assessment.day)
    insert = insert_for(engine)
    stmt = (
        insert(RUN)
        .values(month=m.slug, period_start=first, period_end=after, computed_at=now, computed_by=SYSTEM_LOGIN, units=0)
        .on_conflict_do_nothing(index_elements=[RUN.c.month])
        .returning(RUN.c.month)
    )
    with open_session(engine) as session, session.begin():
        return session.execute(stmt).first() is not None


def notify(engine: Engine, a: Assessment, now: datetime) -> int:
    """The 考核通报 mail to each assessed unit's heads: their unit's score and rank, the 通报 attached."""
    notices = []
    with open_session(engine) as session, session.begin():
        heads = session.execute(
            sa.select(col(User.login), col(User.name), col(User.email), col(User.unit_id)).where(
                col(User.active).is_(True), col(User.role) == Role.UNIT_HEAD
            )
        ).all()
        by_unit = {r.unit_id: r for r in a.rows}
        for login, name, email, unit_id in heads:
            row = by_unit.get(unit_id)
            if row is None:
                continue
            summary = {
                "month_label": a.month.label,
                "period": a.period,
                "scores": [
                    {
                        "unit": row.unit,
                        "group": row.group,
                        "rank": row.rank,
                        "of": row.of,
                        "score": f"{row.score:.2f}",
                        "consequence": a.consequence if row.bottom else "",
                    }
                ],
            }
            notices.append(
                dict(
                    dedup_key=f"assessment|{a.month.slug}|{login}",
                    kind="assessment",
                    problem_id=None,
                    event_id=None,
                    level=None,
                    deadline=None,
                    recipient_role="unit_head",
                    recipient_login=login,
                    recipient_email=email,
                    status="pending" if email else "undeliverable",
                    last_error="" if email else f"用户 {name}（{login}）没有登记邮箱",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                    payload={"month": a.month.slug, "summary": summary},
                )
            )
        count = insert_new_notices(session, notices)
        session.execute(sa.update(RUN).where(RUN.c.month == a.month.slug).values(notified_at=now))
    return count
