"""Campaigns (专项行动, e.g. 冬季行动 2023-11-01 to 2024-02-20, 力争全部解决): those in the rules file and those
added later, the problems that belong to one (logged within its dates, or included by hand), its progress
against the target, the warning when a deadline falls after its end, and the closing summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from models.db import reader
from models.db import session as open_session
from models.office import CampaignProblem, CampaignRecord
from models.tables import Problem, Unit, User, table_of
from service import directory, write_stamp
from service.recipients import insert_new_notices
from workflow import deadlines as dl
from workflow.errors import Conflict, InvalidValue, NotFound
from workflow.office_rules import Campaign, check_campaign, parse_target
from workflow.permissions import Manage, require
from workflow.rules import Rules
from workflow.states import CLOCK_STATES, OPEN_STATES, Light, Role, State

CAMPAIGN, MEMBER, PROBLEM = table_of(CampaignRecord), table_of(CampaignProblem), table_of(Problem)


def campaigns(session: Session | Connection, rules: Rules) -> list[Campaign]:
    """Every campaign: the rules file's, then those added later (by start date)."""
    stored = session.execute(sa.select(CAMPAIGN).order_by(CAMPAIGN.c.start, CAMPAIGN.c.id)).all()
    return list(rules.campaigns) + [Campaign(r.name, r.start, r.end, r.target, "database") for r in stored]


def find(session: Session, rules: Rules, name: str) -> Campaign:
    name = (name or "").strip()
    all_ = campaigns(session, rules)
    for c in all_:
        if c.name == name:
            return c
    known = "、".join(c.name for c in all_) or "（无）"
    raise NotFound(f"专项行动「{name}」不存在，已有：{known}", field="name", value=name, label="专项行动")


def add(
    engine: Engine, rules: Rules, login: str | None, name: str, start: date, end: date, target: object, now: datetime
) -> Campaign:
    """Add a campaign (the office or an administrator)."""
    with open_session(engine) as session, session.begin():
        require(Manage.CAMPAIGNS, directory.view(session).actor(login))
        name = check_campaign(name, start, end)
        percent = parse_target(target if target not in (None, "") else 100)
        if any(c.name == name for c in campaigns(session, rules)):
            raise Conflict(f"专项行动「{name}」已存在", field="name", value=name, label="专项行动")
        session.execute(
            sa.insert(CAMPAIGN).values(
                name=name, start=start, end=end, target=percent, created_at=now, created_by=login or ""
            )
        )
    return Campaign(name, start, end, percent, "database")


def include(engine: Engine, rules: Rules, login: str | None, name: str, codes: Sequence[str], now: datetime) -> int:
    """Include problems (by code) in a campaign by hand; returns how many were not in it yet."""
    from service.problems import normalize_code

    wanted = [normalize_code(c) for c in codes]
    with open_session(engine) as session, session.begin():
        require(Manage.CAMPAIGNS, directory.view(session).actor(login))
        c = find(session, rules, name)
        found = dict(session.execute(sa.select(PROBLEM.c.code, PROBLEM.c.id).where(PROBLEM.c.code.in_(wanted))).all())
        missing = [code for code in wanted if code not in found]
        if missing:
            raise NotFound(f"问题编号「{missing[0]}」不存在", field="code", value=missing[0])
        present = set(session.execute(sa.select(MEMBER.c.problem_id).where(MEMBER.c.campaign == c.name)).scalars())
        new = [pid for pid in dict.fromkeys(found[code] for code in wanted) if pid not in present]
        if new:
            session.execute(
                sa.insert(MEMBER), [dict(campaign=c.name, problem_id=p, added_at=now, added_by=login) for p in new]
            )
    return len(new)


def member_condition(c: Campaign, rules: Rules):
    """SQL: the problem belongs to ``c`` — logged within its dates, or included by hand."""
    logged = sa.and_(
        PROBLEM.c.created_at >= dl.start_of_day(c.start, rules), PROBLEM.c.created_at < dl.after_day(c.end, rules)
    )
    included = PROBLEM.c.id.in_(sa.select(MEMBER.c.problem_id).where(MEMBER.c.campaign == c.name))
    return sa.or_(logged, included)


def belongs(
    session: Session | Connection, c: Campaign, rules: Rules, problem_id: int, created_at: datetime | None
) -> bool:
    if created_at is not None and c.contains(dl.local_date(created_at, rules)):
        return True
    return (
        session.execute(
            sa.select(MEMBER.c.problem_id).where(MEMBER.c.campaign == c.name, MEMBER.c.problem_id == problem_id)
        ).first()
        is not None
    )


def deadline_warnings(
    session: Session | Connection, rules: Rules, problem_id: int, created_at: datetime | None, deadline: date | None
) -> list[str]:
    """A deadline after the end of a campaign the problem belongs to: said, not refused."""
    if deadline is None:
        return []
    return [
        f"办结时限 {deadline} 晚于「{c.name}」结束日期 {c.end}（行动目标：{c.target_label}）"
        for c in campaigns(session, rules)
        if deadline > c.end and belongs(session, c, rules, problem_id, created_at)
    ]


def _tallies(session: Session | Connection, c: Campaign, rules: Rules, today: date) -> tuple[dict, int, int, int]:
    """(problems by state, overdue, open with a deadline after the end, closed by the end) for ``c``'s
    members, in two reads that each follow the campaign's size: the problems logged within its dates (a
    range of the created_at index, which holds every column counted here) and those included by hand and
    logged outside them. An OR of the two would read the whole ledger."""
    after_end = dl.after_day(c.end, rules)
    counted = (
        PROBLEM.c.state,
        sa.func.count(),
        _count_if(sa.and_(PROBLEM.c.state.in_([s.value for s in CLOCK_STATES]), PROBLEM.c.deadline < today)),
        _count_if(sa.and_(PROBLEM.c.state.in_([s.value for s in OPEN_STATES]), PROBLEM.c.deadline > c.end)),
        _count_if(sa.and_(PROBLEM.c.state == State.CLOSED.value, PROBLEM.c.closed_at < after_end)),
    )
    logged = sa.and_(PROBLEM.c.created_at >= dl.start_of_day(c.start, rules), PROBLEM.c.created_at < after_end)
    by_hand = (
        sa.select(*counted)
        .select_from(PROBLEM.join(MEMBER, MEMBER.c.problem_id == PROBLEM.c.id))
        .where(MEMBER.c.campaign == c.name, sa.not_(logged))
        .group_by(PROBLEM.c.state)
    )
    states: dict[str, int] = {}
    overdue = deadline_after_end = closed_by_end = 0
    for stmt in (sa.select(*counted).where(logged).group_by(PROBLEM.c.state), by_hand):
        for state, n, late, after, closed in session.execute(stmt):
            states[state] = states.get(state, 0) + n
            overdue += int(late or 0)
            deadline_after_end += int(after or 0)
            closed_by_end += int(closed or 0)
    return states, overdue, deadline_after_end, closed_by_end


def _count_if(condition):
    return sa.func.sum(sa.case((condition, 1), else_=0))


def progress(session: Session, rules: Rules, c: Campaign, today: date) -> dict:
    """Counts of the campaign's problems now, and how far it is from its target."""
    states, overdue, after_end, closed_by_end = _tallies(session, c, rules, today)
    total = sum(states.values())
    closed = states.get(State.CLOSED.value, 0)
    rate = closed / total if total else None
    return {
        "name": c.name,
        "start": c.start.isoformat(),
        "end": c.end.isoformat(),
        "target": c.target,
        "target_label": c.target_label,
        "source": c.source,
        "total": total,
        "open": total - closed,
        "closed": closed,
        "closed_by_end": closed_by_end,
        "overdue": overdue,
        "deadline_after_end": after_end,
        "rate": None if rate is None else round(rate, 4),
        "met": rate is not None and rate * 100 >= c.target,
        "days_left": c.days_left(today),
        "started": today >= c.start,
        "ended": c.ended(today),
        "by_state": {s.value: states.get(s.value, 0) for s in State},
    }


def show(engine: Engine, rules: Rules, login: str | None, name: str, today: date) -> dict:
    directory.authorize(engine, login, Manage.READ_LEDGER)
    with open_session(reader(engine)) as session:
        return progress(session, rules, find(session, rules, name), today)


def listing(engine: Engine, rules: Rules, login: str | None, today: date) -> list[dict]:
    directory.authorize(engine, login, Manage.READ_LEDGER)
    with open_session(reader(engine)) as session:
        return [progress(session, rules, c, today) for c in campaigns(session, rules)]


def current(session: Session, rules: Rules, today: date) -> list[dict]:
    """For the dashboard: the campaigns under way, or else the one that ended last."""
    all_ = campaigns(session, rules)
    running = [c for c in all_ if c.contains(today)]
    if not running:
        ended = sorted((c for c in all_ if c.ended(today)), key=lambda c: c.end)
        running = ended[-1:]
    return [_cached_progress(session, rules, c, today) for c in running]


_PROGRESS = write_stamp.StampedCache()


def _cached_progress(session: Session, rules: Rules, c: Campaign, today: date) -> dict:
    """``progress`` for the dashboard, counted again only after a write (``service.write_stamp``; the stamp
    here also counts the problems included by hand): a campaign of a whole province's winter holds tens of
    thousands of problems, too many to count on every page view."""
    stamp = write_stamp.read(session, sa.select(sa.func.count()).where(MEMBER.c.campaign == c.name).scalar_subquery())
    found = _PROGRESS.get_or_make(session, (c, today), stamp, lambda: progress(session, rules, c, today))
    return {**found, "by_state": dict(found["by_state"])}  # a copy: callers may change theirs


def items(session: Session, rules: Rules, c: Campaign, open_only: bool = True) -> list[dict]:
    """The campaign's problems (open ones by default), for the summary and its mail."""
    u = table_of(Unit)
    stmt = (
        sa.select(PROBLEM.c.code, PROBLEM.c.title, PROBLEM.c.light, PROBLEM.c.level, PROBLEM.c.state)
        .add_columns(PROBLEM.c.deadline, u.c.name.label("unit"), PROBLEM.c.closed_at)
        .outerjoin(u, u.c.id == PROBLEM.c.responsible_unit_id)
        .where(member_condition(c, rules))
        .order_by(PROBLEM.c.code)
    )
    if open_only:
        stmt = stmt.where(PROBLEM.c.state != State.CLOSED.value)
    return [
        {
            "code": r.code,
            "title": r.title,
            "light": r.light,
            "level": r.level,
            "state": r.state,
            "deadline": r.deadline.isoformat() if r.deadline else None,
            "unit": r.unit or "",
            "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        }
        for r in session.execute(stmt)
    ]


def summarize_ended(engine: Engine, rules: Rules, now: datetime) -> int:
    """Once a campaign has ended: its closing summary to the office and the county leaders (one mail each,
    keyed by the campaign, so any number of runs send it once). Returns the mails recorded."""
    today = dl.local_date(now, rules)
    recorded = 0
    with open_session(engine) as session, session.begin():
        ended = [c for c in campaigns(session, rules) if c.ended(today) and (today - c.end).days <= 31]
        if not ended:
            return 0
        people = session.execute(
            sa.select(col(User.login), col(User.name), col(User.role), col(User.email)).where(
                col(User.active).is_(True), col(User.role).in_([Role.INSPECTOR, Role.COUNTY_LEADER])
            )
        ).all()
        for c in ended:
            figures = progress(session, rules, c, c.end)
            summary = {
                **{k: figures[k] for k in ("name", "start", "end", "total", "closed", "overdue", "met")},
                "target": c.target_label,
                "open": figures["open"],
                "rate": "—" if figures["rate"] is None else f"{figures['rate'] * 100:.1f}%",
                "on_time": figures["closed_by_end"],
            }
            rows = [
                {**i, "light": i["light"] if i["light"] in {x.value for x in Light} else ""}
                for i in items(session, rules, c)
            ]
            notices = []
            for login, name, role, email in people:
                notices.append(
                    dict(
                        dedup_key=f"campaign|{c.name}|{c.end}|{login}"[:255],
                        kind="campaign",
                        problem_id=None,
                        event_id=None,
                        level=None,
                        deadline=None,
                        recipient_role="inspection_office" if role == Role.INSPECTOR else role,
                        recipient_login=login,
                        recipient_email=email,
                        status="pending" if email else "undeliverable",
                        last_error="" if email else f"用户 {name}（{login}）没有登记邮箱",
                        attempts=0,
                        created_at=now,
                        next_attempt_at=now,
                        payload={"summary": summary, "items": rows},
                    )
                )
            recorded += insert_new_notices(session, notices)
    return recorded


def parse_day(text: str, label: str, field: str) -> date:
    from workflow.dates import parse_date

    if not (text or "").strip():
        raise InvalidValue(f"{label}不能为空", field=field, label=label)
    return parse_date(text, label, field)


def for_dashboard(engine: Engine, rules: Rules, today: date) -> list[dict]:
    with open_session(reader(engine)) as session:
        return current(session, rules, today)
