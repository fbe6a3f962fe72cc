"""On-site inspections (督查记录): recording one, with its photos and follow-ups, in one transaction; the
inspections of a month; the month's plan. The rules are ``workflow.inspections``'s.

A follow-up goes through the workflow: a note on each problem the visit concerns is a 添加备注 event, a new
problem is logged as any other (``create_problems``); both record the inspection's id in the event data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import reader
from models.db import session as open_session
from models.tables import Inspection, InspectionProblem, Problem, table_of
from service import attachments as files_
from service import directory
from service.blobstore import BlobStore, store_for
from service.directory import DirectoryView
from service.persist import loaded_from_row, persist, select_loaded
from service.problems import create_problems, new_problem, normalize_code
from service.uploads import Upload
from workflow import deadlines as dl
from workflow import inspections as ins
from workflow.dates import parse_date
from workflow.errors import InvalidValue, NotFound
from workflow.machine import fire
from workflow.permissions import Manage, require
from workflow.rules import Rules
from workflow.states import Light, Severity

INSPECTION, LINK, PROBLEM = table_of(Inspection), table_of(InspectionProblem), table_of(Problem)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class FollowUpProblem:
    """A new problem the visit found, to be logged on the visited project."""

    title: str
    category: str
    description: str = ""
    unit: str | None = None
    severity: str = "general"


@dataclass
class LinkedProblem:
    code: str
    title: str
    unit: str
    state: str
    logged: bool  # logged by this inspection as a follow-up


@dataclass
class InspectionInfo:
    id: int
    project_id: int
    project: str
    unit: str
    visited_on: date
    place: str
    inspectors: str
    seen: str
    checked: str
    finding: ins.Finding
    note: str
    recorded_by: str
    recorded_by_name: str
    recorded_at: datetime
    problems: list[LinkedProblem] = field(default_factory=list)
    files: list[files_.AttachmentInfo] = field(default_factory=list)

    @property
    def units(self) -> list[str]:
        """The units this visit concerns: those responsible for its problems, else the project's own."""
        found = list(dict.fromkeys(p.unit for p in self.problems if p.unit))
        return found or [self.unit]

    def as_dict(self, tz) -> dict:
        return {
            "id": self.id,
            "project": self.project,
            "unit": self.unit,
            "date": self.visited_on.isoformat(),
            "place": self.place,
            "inspectors": self.inspectors,
            "seen": self.seen,
            "checked": self.checked,
            "finding": self.finding.value,
            "finding_label": self.finding.label,
            "note": self.note,
            "recorded_by": self.recorded_by,
            "recorded_by_name": self.recorded_by_name,
            "recorded_at": self.recorded_at.astimezone(tz).isoformat(timespec="seconds"),
            "problems": [vars(p) for p in self.problems],
            "attachments": [f.as_dict(tz) for f in self.files],
        }


class InspectionService:
    def __init__(self, engine: Engine, rules: Rules, clock: Clock, store: BlobStore | None = None):
        self.engine, self.rules, self.clock = engine, rules, clock
        self._store = store

    @property
    def store(self) -> BlobStore:
        if self._store is None:
            self._store = store_for(self.engine)
        return self._store

    def today(self) -> date:
        return dl.local_date(self.clock(), self.rules)

    # -- recording ------------------------------------------------------------------------------------

    def record(
        self,
        login: str,
        project: str,
        visited_on: str | date | None,
        seen: str,
        finding: str,
        inspectors: str | None = None,
        place: str = "",
        checked: str = "",
        problems: Sequence[str] = (),
        note: str = "",
        new_problem: FollowUpProblem | None = None,
        attachments: Sequence[Upload] | None = None,
    ) -> InspectionInfo:
        """Record one visit with its photos (``attachments``) and follow-ups; all or nothing."""
        now = self.clock()
        uploads = list(attachments or ())
        try:
            for u in uploads:
                self.store.save(u)
            with open_session(self.engine) as s, s.begin():
                view = directory.view(s)
                actor = view.actor(login)
                require(Manage.INSPECT, actor)
                proj = view.project(project, "督查项目", "project")
                day = parse_date(visited_on, "督查日期", "date") if visited_on not in (None, "") else None
                given = ins.check_input(
                    day, self.today(), place, inspectors or actor.name, seen, checked, finding, note
                )
                linked = [self._linked(s, code, proj.id, proj.name) for code in dict.fromkeys(problems)]
                inspection_id = s.execute(
                    sa.insert(INSPECTION).returning(INSPECTION.c.id),
                    dict(
                        project_id=proj.id,
                        visited_on=given.visited_on,
                        place=given.place or proj.name,
                        inspectors=given.inspectors,
                        seen=given.seen,
                        checked=given.checked,
                        finding=given.finding.value,
                        note=given.note,
                        recorded_by=actor.login,
                        recorded_at=now,
                    ),
                ).scalar_one()
                files_.add_rows(s, self.store, uploads, actor.login, now, inspection_id=inspection_id)
                if given.note and linked:
                    text = f"【督查 {given.visited_on} · {given.finding.label}】{given.note}"
                    outcomes = []
                    for loaded in linked:
                        outcome = fire("note", loaded.snap, actor, loaded.stake, now, self.rules, text=text)
                        outcome.data = {"inspection": inspection_id}
                        outcomes.append((loaded, [outcome]))
                    persist(s, outcomes, actor, now, view)
                links = [dict(inspection_id=inspection_id, problem_id=x.snap.id, logged=False) for x in linked]
                if new_problem is not None:
                    links.append(
                        dict(
                            inspection_id=inspection_id,
                            problem_id=self._log(s, view, actor, proj.name, new_problem, now, inspection_id),
                            logged=True,
                        )
                    )
                if links:
                    s.execute(sa.insert(LINK), links)
        except BaseException:
            if uploads:
                self.store.discard(self.engine, uploads)
            raise
        return self.get(login, inspection_id)

    def _linked(self, s: Session, code: str, project_id: int, project: str):
        code = normalize_code(code)
        row = s.execute(select_loaded().add_columns(PROBLEM.c.project_id).where(PROBLEM.c.code == code)).first()
        if row is None:
            raise NotFound(f"问题编号「{code}」不存在", field="problem", value=code, label="关联问题")
        if row.project_id != project_id:
            raise InvalidValue(
                f"关联问题 {code} 不属于督查项目「{project}」；一次督查只能关联被督查项目的问题",
                field="problem",
                value=code,
                label="关联问题",
            )
        return loaded_from_row(row)

    def _log(
        self, s: Session, view: DirectoryView, actor, project: str, np: FollowUpProblem, now, inspection_id
    ) -> int:
        draft = new_problem(
            view, project, np.category, np.title, now, np.unit, np.description, np.severity or Severity.GENERAL.value
        )
        ((pid, _code),) = create_problems(
            s, [replace(draft, event_data={"inspection": inspection_id})], actor, self.rules
        )
        return pid

    # -- reading --------------------------------------------------------------------------------------

    def get(self, login: str, inspection_id: int) -> InspectionInfo:
        with open_session(reader(self.engine)) as s:
            require(Manage.READ_LEDGER, directory.view(s).actor(login))
            found = load_inspections(s, INSPECTION.c.id == inspection_id)
        if not found:
            raise NotFound(f"督查记录 {inspection_id} 不存在", field="inspection", value=inspection_id)
        return found[0]

    def month(self, login: str, month: ins.Month) -> list[InspectionInfo]:
        with open_session(reader(self.engine)) as s:
            require(Manage.READ_LEDGER, directory.view(s).actor(login))
            return load_inspections(s, INSPECTION.c.visited_on.between(month.first, month.last))

    @staticmethod
    def load(session: Session, problem_id: int) -> list[InspectionInfo]:
        """The inspections that concern a problem, read in the caller's session."""
        ids = sa.select(LINK.c.inspection_id).where(LINK.c.problem_id == problem_id)
        return load_inspections(session, INSPECTION.c.id.in_(ids))

    # -- the month's plan -----------------------------------------------------------------------------

    def plan(self, login: str, month: ins.Month) -> ins.Plan:
        """Projects with problems open at some time in ``month`` are due for a visit; which were visited."""
        start = dl.start_of_day(month.first, self.rules)
        end = dl.after_day(month.last, self.rules)
        p = PROBLEM.c
        q = (
            sa.select(
                p.project_id,
                sa.func.count().label("open"),
                sa.func.sum(sa.case((p.light == Light.RED.value, 1), else_=0)).label("red"),
                sa.func.sum(sa.case((p.severity == Severity.MAJOR.value, 1), else_=0)).label("major"),
            )
            .where(p.created_at < end, sa.or_(p.closed_at.is_(None), p.closed_at >= start))
            .group_by(p.project_id)
        )
        visits = self.month(login, month)
        with open_session(reader(self.engine)) as s:
            view = directory.view(s)
            due = []
            for r in s.execute(q):
                proj = view.project_by_id(r.project_id)
                if proj is not None:
                    unit = view.unit_name(proj.unit_id)
                    due.append(ins.ProjectDue(proj.id, proj.name, unit, r.open, int(r.red or 0), int(r.major or 0)))
        return ins.month_plan(
            month, due, [ins.Visit(v.project_id, v.project, v.unit, v.visited_on, v.finding) for v in visits]
        )


def load_inspections(s: Session, where) -> list[InspectionInfo]:
    """Inspections matching ``where``, with the problems they concern and their files."""
    view = directory.view(s)
    rows = s.execute(sa.select(INSPECTION).where(where).order_by(INSPECTION.c.visited_on, INSPECTION.c.id)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    q = (
        sa.select(LINK.c.inspection_id, LINK.c.logged, PROBLEM.c.code, PROBLEM.c.title, PROBLEM.c.state)
        .add_columns(PROBLEM.c.responsible_unit_id)
        .join(PROBLEM, PROBLEM.c.id == LINK.c.problem_id)
        .where(LINK.c.inspection_id.in_(ids))
        .order_by(PROBLEM.c.code)
    )
    problems: dict[int, list[LinkedProblem]] = {i: [] for i in ids}
    for r in s.execute(q):
        problems[r.inspection_id].append(
            LinkedProblem(r.code, r.title, view.unit_name(r.responsible_unit_id), r.state, bool(r.logged))
        )
    files = files_.inspection_files(s, ids)
    out = []
    for r in rows:
        proj = view.project_by_id(r.project_id)
        recorder = next((u for u in view.users if u.login == r.recorded_by), None)
        out.append(
            InspectionInfo(
                r.id,
                r.project_id,
                proj.name if proj else str(r.project_id),
                view.unit_name(proj.unit_id) if proj else "",
                r.visited_on,
                r.place,
                r.inspectors,
                r.seen,
                r.checked,
                ins.Finding(r.finding),
                r.note,
                r.recorded_by,
                recorder.name if recorder else r.recorded_by,
                r.recorded_at,
                problems[r.id],
                files[r.id],
            )
        )
    return out
