"""Read models for the ledger: plain dicts with ids and Chinese labels, ready for a table or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.tables import Event, Notice, Problem, User, table_of
from workflow.actions import ActionSpec
from workflow.dates import is_backdated
from workflow.deadlines import Snapshot, is_overdue
from workflow.errors import NotFound
from workflow.machine import available_actions
from workflow.rules import Rules
from workflow.states import LEVEL_SHORT, Category, Level, Light, Rating, Severity, State

# Value → label per enum, looked up for every row of a page (calling the enum for each value costs more).
_CATEGORY, _SEVERITY, _STATE, _LEVEL, _LIGHT = (
    {m.value: m.label for m in enum} for enum in (Category, Severity, State, Level, Light)
)


def row_dict(
    problem: Any,  # a ledger row (service.ledger_rows.ledger_select) or a Problem: read by attribute
    project: str,
    unit: str | None,
    person: str | None,
    leader: str | None,
    project_leader: str | None,
    today: date,
) -> dict:
    overdue = is_overdue(problem.state, problem.deadline, today)
    return {
        "code": problem.code,
        "project": project,
        "title": problem.title,
        "category": problem.category,
        "category_label": _CATEGORY[problem.category],
        "severity": problem.severity,
        "severity_label": _SEVERITY[problem.severity],
        "county_level": problem.county_level,
        "state": problem.state,
        "state_label": _STATE[problem.state],
        "level": problem.level,
        "level_label": _LEVEL[problem.level],
        "level_short": LEVEL_SHORT[problem.level],
        "light": problem.light,
        "light_label": _LIGHT[problem.light],
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


def problem_detail(session: Session, code: str, today: date, tz) -> dict:
    """Everything about one problem: the ledger row, the dates, the audit trail and its notices."""
    from service import directory
    from service.ledger_rows import ledger_row, ledger_select

    row = session.execute(
        ledger_select().add_columns(col(Problem.id).label("id")).where(col(Problem.code) == code)
    ).first()
    if row is None:
        raise NotFound(f"问题编号「{code}」不存在", field="code", value=code)
    problem = session.get(Problem, row.id)
    assert problem is not None
    detail = ledger_row(row, today, directory.view(session))
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
    events = session.exec(
        select(Event).where(col(Event.problem_id) == problem.id).order_by(col(Event.at), col(Event.id))
    ).all()
    names = {
        u.login: u.name for u in session.exec(select(User).where(col(User.login).in_({e.actor for e in events}))).all()
    }
    assert problem.id is not None
    files, by_event, inspections = _evidence(session, problem.id, tz)
    detail["attachments"], detail["inspections"] = files, inspections
    detail["history"] = [
        {
            "at": ts(e.at),
            # When it was really written; shown beside ``at`` where they differ (a simulated "now").
            "recorded_at": ts(e.recorded_at),
            "backdated": is_backdated(e.at, e.recorded_at),
            "actor": e.actor,
            "actor_name": names.get(e.actor, "系统自动" if e.actor == "system" else e.actor),
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "from_level": e.from_level,
            "to_level": e.to_level,
            "comment": e.comment,
            "data": e.data,
            "attachments": by_event.get(e.id or 0, []),
        }
        for e in events
    ]
    notices = session.exec(select(Notice).where(col(Notice.problem_id) == problem.id).order_by(col(Notice.id))).all()
    detail["notices"] = [
        {
            "id": n.id,
            "kind": n.kind,
            "channel": n.channel,
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


def _evidence(session: Session, problem_id: int, tz) -> tuple[list[dict], dict[int, list[dict]], list[dict]]:
    """A problem's files (all, and by the event that carried them) and the inspections that concern it."""
    from service.attachments import problem_files
    from service.inspections import InspectionService

    files = [f.as_dict(tz) for f in problem_files(session, problem_id)]
    by_event: dict[int, list[dict]] = {}
    for f in files:
        by_event.setdefault(f["event_id"], []).append(f)
    visits = InspectionService.load(session, problem_id)
    return files, by_event, [v.as_dict(tz) for v in visits]


# -- what a person may do, shown with what they see ------------------------------------------------------------


@dataclass
class ProblemPage:
    """One problem as a person sees it: the detail and the actions they may take now."""

    detail: dict
    actions: list[ActionSpec]


def problem_page(engine: Engine, code: str, actor_login: str, rules: Rules, today: date) -> ProblemPage:
    from models.db import reader
    from models.db import session as open_session
    from service import directory
    from service.persist import loaded_from_row, select_loaded
    from workflow.permissions import Manage, require

    with open_session(reader(engine)) as s:
        actor = directory.view(s).actor(actor_login)
        require(Manage.READ_LEDGER, actor)
        row = s.execute(select_loaded().where(table_of(Problem).c.code == code)).first()
        if row is None:
            raise NotFound(f"问题编号「{code}」不存在", field="code", value=code)
        loaded = loaded_from_row(row)
        detail = problem_detail(s, code, today, rules.timezone)
        from service import campaigns, letters

        assert loaded.snap.id is not None
        detail["letters"] = letters.for_problem(s, loaded.snap.id)
        detail["campaigns"] = [
            {
                "name": c.name,
                "end": c.end.isoformat(),
                "deadline_after_end": bool(loaded.snap.deadline and loaded.snap.deadline > c.end),
            }
            for c in campaigns.campaigns(s, rules)
            if campaigns.belongs(s, c, rules, loaded.snap.id, loaded.snap.created_at)
        ]
    return ProblemPage(detail, available_actions(loaded.snap, actor, loaded.stake, rules))


@dataclass
class ReviewItem:
    row: dict
    resolved_at: datetime | None
    resolution: str
    actions: list[str]  # of close / send_back, those this person may take on this item


def review_queue(engine: Engine, actor_login: str, rules: Rules, today: date, limit: int = 200) -> list[ReviewItem]:
    """The problems waiting for the closing review, with what this reviewer may do to each."""
    from models.db import reader
    from models.db import session as open_session
    from service import directory
    from service.ledger_rows import ledger_row, ledger_select
    from service.persist import PROBLEM, PROJECT, STAKE_COLUMNS, loaded_from_row
    from workflow.permissions import Manage, require

    with open_session(reader(engine)) as s:
        view = directory.view(s)
        actor = view.actor(actor_login)
        require(Manage.REVIEW, actor)
        # The stake's project leader needs the project: the ledger row itself joins nothing.
        base = ledger_select().select_from(PROBLEM.join(PROJECT, PROJECT.c.id == PROBLEM.c.project_id))
        present = set(base.selected_columns.keys())
        query = (
            base.add_columns(*[PROBLEM.c[name] for name in Snapshot.FIELDS if name not in present])
            .add_columns(*[c for c in STAKE_COLUMNS if c.name not in present], Problem.resolution)
            .where(Problem.state == State.REVIEW.value)
            .order_by(Problem.resolved_at, Problem.code)
            .limit(limit)
        )
        out = []
        for r in s.execute(query):
            loaded = loaded_from_row(r)
            names = [a.name for a in available_actions(loaded.snap, actor, loaded.stake, rules)]
            out.append(
                ReviewItem(
                    ledger_row(r, today, view),
                    r.resolved_at,
                    r.resolution,
                    [n for n in names if n in ("close", "send_back")],
                )
            )
        return out
