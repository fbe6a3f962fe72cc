"""Read models for the ledger: plain dicts with ids and Chinese labels, ready for a table or JSON."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from models.tables import Event, Notice, Problem, Project, Unit, User
from service import directory
from workflow.states import CLOCK_STATES, LEVEL_SHORT, OPEN_STATES, Category, Level, Light, Rating, Severity, State

Responsible = aliased(User)
Leader = aliased(User)
ProjectLeader = aliased(User)
RespUnit = aliased(Unit)


def _base():
    return (
        select(Problem, Project.name, RespUnit.name, Responsible.name, Leader.name, ProjectLeader.name)
        .join(Project, Project.id == Problem.project_id)
        .outerjoin(RespUnit, RespUnit.id == Problem.responsible_unit_id)
        .outerjoin(Responsible, Responsible.id == Problem.responsible_person_id)
        .outerjoin(Leader, Leader.id == Problem.leader_id)
        .outerjoin(ProjectLeader, ProjectLeader.id == Project.leader_id)
    )


def row_dict(
    problem: Problem,
    project: str,
    unit: str | None,
    person: str | None,
    leader: str | None,
    project_leader: str | None,
    today: date,
) -> dict:
    overdue = problem.state in CLOCK_STATES and problem.deadline is not None and problem.deadline < today
    return {
        "code": problem.code,
        "project": project,
        "title": problem.title,
        "category": problem.category,
        "category_label": Category(problem.category).label,
        "severity": problem.severity,
        "severity_label": Severity(problem.severity).label,
        "county_level": problem.county_level,
        "state": problem.state,
        "state_label": State(problem.state).label,
        "level": problem.level,
        "level_label": Level(problem.level).label,
        "level_short": LEVEL_SHORT[problem.level],
        "light": problem.light,
        "light_label": Light(problem.light).label,
        "responsible_unit": unit,
        "responsible_person": person,
        "leader_in_charge": leader,
        "contracting_leader": project_leader,
        "responsible_section": problem.responsible_section,
        "deadline": problem.deadline.isoformat() if problem.deadline else None,
        "deadline_provisional": problem.deadline_provisional,
        "overdue": overdue,
        "version": problem.version,
    }


def list_problems(
    session: Session,
    today: date,
    state: str | None = None,
    level: str | None = None,
    unit: str | None = None,
    light: str | None = None,
    overdue: bool = False,
    include_closed: bool = True,
    limit: int | None = None,
) -> list[dict]:
    query = _base()
    if state:
        query = query.where(Problem.state == State.parse(state, "状态（--state）").value)
    elif not include_closed:
        query = query.where(Problem.state.in_([s.value for s in OPEN_STATES]))
    if level:
        query = query.where(Problem.level == Level.parse(level, "层级（--level）").value)
    if unit:
        query = query.where(Problem.responsible_unit_id == directory.find_unit(session, unit).id)
    if light:
        query = query.where(Problem.light == Light.parse(light, "预警灯（--light）").value)
    if overdue:
        query = query.where(Problem.state.in_([s.value for s in CLOCK_STATES]), Problem.deadline < today)
    query = query.order_by(Problem.code)
    if limit:
        query = query.limit(limit)
    return [row_dict(*row, today=today) for row in session.exec(query).all()]


def problem_detail(session: Session, code: str, today: date, tz) -> dict:
    row = session.exec(_base().where(Problem.code == code)).first()
    problem = row[0]
    detail = row_dict(*row, today=today)
    reporter = session.get(User, problem.reporter_id) if problem.reporter_id else None

    def ts(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat(timespec="minutes") if value else None

    detail.update(
        description=problem.description,
        reporter=reporter.name if reporter else None,
        created_at=ts(problem.created_at),
        assigned_at=ts(problem.assigned_at),
        deploy_due=problem.deploy_due.isoformat() if problem.deploy_due else None,
        feedback_due=problem.feedback_due.isoformat() if problem.feedback_due else None,
        acked_at=ts(problem.acked_at),
        feedback_at=ts(problem.feedback_at),
        progress=problem.progress,
        resolution=problem.resolution,
        rating=problem.rating,
        rating_label=Rating(problem.rating).label if problem.rating else None,
        suspended_at=ts(problem.suspended_at),
        closed_at=ts(problem.closed_at),
        next_check_at=ts(problem.next_check_at),
    )
    events = session.exec(select(Event).where(Event.problem_id == problem.id).order_by(Event.at, Event.id)).all()
    names = {u.login: u.name for u in session.exec(select(User).where(User.login.in_({e.actor for e in events}))).all()}
    detail["history"] = [
        {
            "at": ts(e.at),
            "actor": e.actor,
            "actor_name": names.get(e.actor, "系统自动" if e.actor == "system" else e.actor),
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "from_level": e.from_level,
            "to_level": e.to_level,
            "comment": e.comment,
            "data": e.data,
        }
        for e in events
    ]
    notices = session.exec(select(Notice).where(Notice.problem_id == problem.id).order_by(Notice.id)).all()
    detail["notices"] = [
        {
            "id": n.id,
            "kind": n.kind,
            "level": n.level,
            "recipient": n.recipient_login,
            "role": n.recipient_role,
            "status": n.status,
            "created_at": ts(n.created_at),
            "error": n.last_error,
        }
        for n in notices
    ]
    return detail


def counts(session: Session) -> dict:
    rows = session.exec(
        select(Problem.state, Problem.light, sa.func.count()).group_by(Problem.state, Problem.light)
    ).all()
    return {f"{state}/{light}": n for state, light, n in rows}
