"""Application service: create problems and run actions on them, one transaction each.

Thin by design: it resolves names through the directory, asks the pure workflow for an outcome, and
persists it with ``service.persist``. Every error is raised before anything is written.

An action is four statements: one SELECT (the problem, its stake and the directory's version), one UPDATE on
id and version, one INSERT of the audit event and one INSERT of its outbox rows. People — the actor, the
named unit and persons, the recipients — come from the cached directory (``service.directory``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from models.db import insert_for
from models.db import session as open_session
from models.tables import CodeCounter, Event, Problem, table_of
from service import attachments as files_
from service import directory
from service.blobstore import BlobStore, store_for
from service.clock import wall_now
from service.directory import DirectoryView, UnitInfo, UserInfo
from service.persist import Loaded, loaded_from_row, persist, select_loaded, select_one_with_stamp
from service.uploads import Upload
from workflow import deadlines as dl
from workflow.actions import ACTIONS
from workflow.dates import parse_date
from workflow.errors import InvalidValue, NotFound, StaleVersion
from workflow.evidence import COUNTED_ACTIONS, check_carries_files
from workflow.machine import fire
from workflow.permissions import Actor, Stake, check, check_attach
from workflow.rules import Rules
from workflow.states import Category, Light, Role, Severity, State
from workflow.text import TextKind
from workflow.text import clean as clean_text

Clock = Callable[[], datetime]
CODE_RE = re.compile(r"^WT-\d{4}-\d{4,}$")
PROBLEM, EVENT, COUNTER = table_of(Problem), table_of(Event), table_of(CodeCounter)
MAX_TITLE, MAX_DESCRIPTION = TextKind.TITLE.max_length, TextKind.TEXT.max_length


def normalize_code(code: str) -> str:
    text = (code or "").strip().upper()
    if not CODE_RE.match(text):
        raise InvalidValue(f"问题编号「{code}」格式无效，应形如 WT-2024-0001", field="code", value=code)
    return text


# -- creating problems (logging one, importing many) -------------------------------------------------------


@dataclass(frozen=True)
class NewProblem:
    """A validated problem to create, in state 发现 (discovered)."""

    project_id: int
    title: str
    description: str
    category: str
    severity: str
    county_level: bool
    responsible_unit_id: int
    created_at: datetime
    code: str | None = None  # a code a ledger already gives; None: the next of the year
    event_data: dict = field(default_factory=dict)


def new_problem(
    view: DirectoryView,
    project: str,
    category: str,
    title: str,
    now: datetime,
    unit: str | None = None,
    description: str = "",
    severity: str | None = "general",
    county_level: bool = False,
) -> NewProblem:
    """Check what a person typed to log a problem."""
    # The one text gate (workflow/text.py): NFC, no control/bidi/invisible characters, the same caps everywhere.
    title = clean_text(title, field="title", label="问题标题", kind=TextKind.TITLE, required=True)
    description = clean_text(description, field="description", label="问题描述", kind=TextKind.TEXT)
    category_v = Category.parse(category, "问题类型", field="category").value
    severity_v = Severity.parse(severity or "general", "问题性质", field="severity").value
    proj = view.project(project, "项目", "project")
    unit_id = view.unit(unit, "责任单位", "unit").id if (unit or "").strip() else proj.unit_id
    return NewProblem(proj.id, title, description, category_v, severity_v, bool(county_level), unit_id, now)


def create_problems(session: Session, drafts: list[NewProblem], actor: Actor, rules: Rules) -> list[tuple[int, str]]:
    """Insert ``drafts`` as discovered problems with their 登记 events; returns (id, code) per draft.

    The one way problems come into being, for ``log`` and the ledger import alike."""
    if not drafts:
        return []
    check("log", actor, Stake())
    codes = allocate_codes(session, drafts, rules)
    rows = []
    for d, code in zip(drafts, codes):
        snap = dl.Snapshot(state=State.DISCOVERED, created_at=d.created_at)
        rows.append(
            dict(
                code=code,
                project_id=d.project_id,
                title=d.title,
                description=d.description,
                category=d.category,
                severity=d.severity,
                county_level=d.county_level,
                state=State.DISCOVERED.value,
                level=rules.initial_level(d.severity, d.county_level).value,
                light=Light.GREEN.value,
                reporter_id=actor.user_id,
                reporting_unit_id=actor.unit_id,
                responsible_unit_id=d.responsible_unit_id,
                responsible_person_id=None,
                leader_id=None,
                responsible_section="",
                deadline=None,
                deadline_provisional=False,
                overdue_escalations=0,
                progress="",
                resolution="",
                created_at=d.created_at,
                updated_at=d.created_at,
                next_check_at=dl.next_check(snap, d.created_at, rules),
                version=1,
            )
        )
    # A plain executemany, then the ids by code (unique): SQLite's INSERT … RETURNING in parameter order
    # would run one statement per row.
    session.execute(sa.insert(PROBLEM), rows)
    found = dict(session.execute(sa.select(PROBLEM.c.code, PROBLEM.c.id).where(PROBLEM.c.code.in_(codes))).all())
    ids = [found[code] for code in codes]
    recorded = wall_now()  # the real time of this write, beside the business time ``created_at``
    session.execute(
        sa.insert(EVENT),
        [
            dict(
                problem_id=pid,
                at=d.created_at,
                recorded_at=recorded,
                actor=actor.login,
                action="log",
                from_state=None,
                to_state=State.DISCOVERED.value,
                from_level=None,
                to_level=row["level"],
                comment=d.title,
                data=d.event_data,
            )
            for pid, d, row in zip(ids, drafts, rows)
        ],
    )
    return list(zip(ids, codes))


def allocate_codes(session: Session, drafts: list[NewProblem], rules: Rules) -> list[str]:
    """Problem codes WT-<year>-<n>: a draft's own code is kept (and the year's counter moved past it); the
    others get the next numbers of the year they were logged in. One counter row per year, updated with
    INSERT … ON CONFLICT, so concurrent writers never share a number."""
    highest: dict[int, int] = {}
    for d in drafts:
        if d.code:
            year, number = int(d.code[3:7]), int(d.code[8:])
            highest[year] = max(highest.get(year, 0), number)
    for year, number in highest.items():
        _counter(session, year, set_to=number)
    wanted: dict[int, int] = {}
    for d in drafts:
        if not d.code:
            year = dl.local_date(d.created_at, rules).year
            wanted[year] = wanted.get(year, 0) + 1
    next_number = {year: _counter(session, year, add=count) - count + 1 for year, count in wanted.items()}
    codes = []
    for d in drafts:
        if d.code:
            codes.append(d.code)
            continue
        year = dl.local_date(d.created_at, rules).year
        codes.append(f"WT-{year}-{next_number[year]:04d}")
        next_number[year] += 1
    return codes


def _counter(session: Session, year: int, set_to: int = 0, add: int = 0) -> int:
    insert = insert_for(session.get_bind())
    c = COUNTER.c
    new = sa.case((c.last < set_to, set_to), else_=c.last) if set_to else c.last + add
    stmt = (
        insert(COUNTER)
        .values(year=year, last=set_to or add)
        .on_conflict_do_update(index_elements=[c.year], set_={"last": new})
        .returning(c.last)
    )
    return session.execute(stmt).scalar_one()


# -- actions ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemState:
    """A problem's workflow fields and version: as an action left it (no re-read needed), or as read."""

    snap: dl.Snapshot
    version: int
    event_id: int | None
    rating: str | None = None  # filled by ``ProblemService.get``
    progress: str = ""
    attachment_ids: tuple[int, ...] = ()  # the files the action carried
    warnings: tuple[str, ...] = ()  # said, not refused: e.g. a deadline after the end of the problem's campaign

    @property
    def id(self) -> int | None:
        return self.snap.id

    @property
    def code(self) -> str:
        return self.snap.code

    @property
    def state(self) -> str:
        return self.snap.state

    @property
    def level(self) -> str:
        return self.snap.level

    @property
    def light(self) -> str:
        return self.snap.light

    @property
    def deadline(self) -> date | None:
        return self.snap.deadline

    @property
    def deadline_provisional(self) -> bool:
        return self.snap.deadline_provisional


def action_params(
    view: DirectoryView, action: str, params: dict[str, Any], default_leader: bool = True
) -> dict[str, Any]:
    """Resolve what a person typed for ``action`` — unit, people, dates — to what the machine takes.
    ``default_leader``: name the unit's head as leader in charge when none is given (only when the rules do
    not require the leader to be named, ``[assignment] require_leader``)."""
    out = dict(params)
    if params.get("deadline") not in (None, ""):
        out["deadline"] = parse_date(params["deadline"], "办结时限", "deadline")
    else:
        out.pop("deadline", None)
    if action not in ("assign", "decide"):
        return out
    unit = view.unit(params["unit"], "责任单位", "unit") if params.get("unit") else None
    if unit is not None:
        out["unit_id"] = unit.id
    if params.get("person"):
        person = view.user(params["person"], "责任人", "person")
        check_assignee("person", person, unit)
        out["person_id"] = person.id
    if params.get("leader"):
        leader = view.user(params["leader"], "分管领导", "leader")
        check_assignee("leader", leader, unit)
        out["leader_id"] = leader.id
    elif unit is not None and default_leader:
        default = view.default_leader(unit.id)
        out["leader_id"] = default.id if default else None
    return out


UNIT_LEADERS = frozenset({Role.UNIT_HEAD, Role.DEPUTY_HEAD})


def check_assignee(field: str, user: UserInfo, unit: UnitInfo | None) -> None:
    """Who may be named at assignment: the responsible person is an active member of the responsible unit;
    the leader in charge (分管领导) is a leader of it — its principal (一把手, ``unit_head``) or a
    ``deputy_head`` — or a county leader. Assignment and the ledger import both ask here."""
    label = "责任人" if field == "person" else "分管领导"
    if not user.active:
        raise InvalidValue(f"{label}「{user.login}」已停用", field=field, value=user.login, label=label)
    if field == "leader":
        if user.role == Role.COUNTY_LEADER:
            return
        if user.role in UNIT_LEADERS and (unit is None or user.unit_id == unit.id):
            return
        where = f"责任单位「{unit.name}」" if unit is not None else "责任单位"
        raise InvalidValue(
            f"{label}「{user.login}」（{Role(user.role).label}）不是{where}的领导，"
            f"请选该单位的{Role.UNIT_HEAD.label}或{Role.DEPUTY_HEAD.label}，或县级领导",
            field=field,
            value=user.login,
            label=label,
        )
    if unit is None or user.unit_id == unit.id:
        return
    raise InvalidValue(
        f"{label}「{user.login}」不属于责任单位「{unit.name}」，请选该单位的人员",
        field=field,
        value=user.login,
        label=label,
    )


class ProblemService:
    def __init__(self, engine: Engine, rules: Rules, clock: Clock, store: BlobStore | None = None):
        self.engine, self.rules, self.clock = engine, rules, clock
        self.directory = directory.cache_for(engine)
        self._store = store

    @property
    def store(self) -> BlobStore:
        """Where attached files go (``service.blobstore``): decided by the database, built when first needed."""
        if self._store is None:
            self._store = store_for(self.engine)
        return self._store

    def _stored(self, uploads: Sequence[Upload]) -> None:
        """Put the content in place before the transaction (the file store; the database store waits for it)."""
        for u in uploads:
            self.store.save(u)

    def log(
        self,
        actor_login: str,
        project: str,
        category: str,
        title: str,
        unit: str | None = None,
        description: str = "",
        severity: str | None = "general",
        county_level: bool = False,
        attachments: Sequence[Upload] | None = None,
    ) -> ProblemState:
        """Log (发现) one problem, with the files that show it (``attachments``, staged by ``service.uploads``);
        returns it as created."""
        now = self.clock()
        uploads = list(attachments or ())
        try:
            self._stored(uploads)
            with open_session(self.engine) as session, session.begin():
                view = self.directory.view(session)
                actor = view.actor(actor_login)
                check("log", actor, Stake())
                draft = new_problem(view, project, category, title, now, unit, description, severity, county_level)
                if uploads:
                    draft = replace(draft, event_data={"attachments": [u.describe() for u in uploads]})
                ((pid, code),) = create_problems(session, [draft], actor, self.rules)
                ids = self._file_rows(session, uploads, actor.login, now, pid)
        except BaseException:
            if uploads:
                self.store.discard(self.engine, uploads)
            raise
        snap = dl.Snapshot(
            id=pid,
            code=code,
            state=State.DISCOVERED,
            level=self.rules.initial_level(draft.severity, draft.county_level),
            category=draft.category,
            severity=draft.severity,
            county_level=draft.county_level,
            created_at=now,
        )
        return ProblemState(snap, 1, None, attachment_ids=tuple(ids))

    def _file_rows(
        self,
        session: Session | Connection,
        uploads: list[Upload],
        login: str,
        now: datetime,
        pid: int,
        event_id: int | None = None,
    ) -> list[int]:
        if not uploads:
            return []
        if event_id is None:  # the 登记 event create_problems has just written
            event_id = session.execute(sa.select(EVENT.c.id).where(EVENT.c.problem_id == pid)).scalar_one()
        return files_.add_rows(session, self.store, uploads, login, now, problem_id=pid, event_id=event_id)

    def log_fields(
        self, actor_login: str, data: Mapping[str, object], attachments: Sequence[Upload] | None = None
    ) -> ProblemState:
        """``log`` from a form or a JSON body: the fields the action table lists for logging."""
        fields = ACTIONS["log"].read(data)
        return self.log(
            actor_login,
            fields.get("project", ""),
            fields.get("category", ""),
            fields.get("title", ""),
            unit=fields.get("unit"),
            description=fields.get("description", ""),
            severity=fields.get("severity") or "general",
            county_level="county_level" in fields,
            attachments=attachments,
        )

    def act(
        self,
        actor_login: str,
        code: str,
        action: str,
        expected_version: int | None = None,
        attachments: Sequence[Upload] | None = None,
        **params: Any,
    ) -> ProblemState:
        """Run one workflow action on the problem ``code`` as ``actor_login``; returns the problem as left.

        ``attachments`` (staged by ``service.uploads``) are stored and recorded with the action's audit event,
        in its transaction: if the action fails, neither a row nor a newly stored file remains."""
        now = self.clock()
        code = normalize_code(code)
        uploads = list(attachments or ())
        try:
            self._stored(uploads)
            # A plain Connection, not an ORM Session: the act path reads and writes with Core only.
            with self.engine.begin() as conn:
                row = conn.execute(*select_one_with_stamp(code)).one()
                view = self.directory.view(conn, row.directory_version)
                actor = view.actor(actor_login)
                if row.id is None:
                    raise NotFound(f"问题编号「{code}」不存在", field="code", value=code)
                loaded = loaded_from_row(row)
                if expected_version is not None and expected_version != loaded.version:
                    raise StaleVersion(
                        f"问题 {code} 已被他人修改（你看到的是第 {expected_version} 版，当前是第 {loaded.version} 版），"
                        "请刷新后重试",
                        field="version",
                        value=expected_version,
                    )
                pid = loaded.snap.id
                assert pid is not None  # a stored problem has its id
                resolved = action_params(view, action, params, not self.rules.require_leader)
                resolved["files"] = len(uploads)
                if action in COUNTED_ACTIONS:
                    resolved["evidence"] = files_.count_for(conn, pid) + len(uploads)
                outcome = fire(action, loaded.snap, actor, loaded.stake, now, self.rules, **resolved)
                if uploads:
                    check_carries_files(action)
                    check_attach(actor, loaded.stake, code)
                    outcome.data = {**outcome.data, "attachments": [u.describe() for u in uploads]}
                (event_id,) = persist(conn, [(loaded, [outcome])], actor, now, view, rules=self.rules) or (None,)
                ids = self._file_rows(conn, uploads, actor.login, now, pid, event_id)
                warnings: tuple[str, ...] = ()
                if "deadline" in outcome.changes and not actor.is_system:
                    from service.campaigns import deadline_warnings

                    warnings = tuple(
                        deadline_warnings(conn, self.rules, pid, loaded.snap.created_at, outcome.changes["deadline"])
                    )
        except BaseException:
            if uploads:
                self.store.discard(self.engine, uploads)
            raise
        return ProblemState(
            outcome.after or loaded.snap,
            loaded.version + 1,
            event_id,
            attachment_ids=tuple(ids),
            warnings=warnings,
        )

    # -- reading ------------------------------------------------------------------------------------------

    def load(self, session: Session, code: str) -> Loaded:
        code = normalize_code(code)
        row = session.execute(select_loaded().where(PROBLEM.c.code == code)).first()
        if row is None:
            raise NotFound(f"问题编号「{code}」不存在", field="code", value=code)
        return loaded_from_row(row)

    def get(self, code: str) -> ProblemState:
        code = normalize_code(code)
        with open_session(self.engine) as session:
            row = session.execute(
                select_loaded().add_columns(PROBLEM.c.rating, PROBLEM.c.progress).where(PROBLEM.c.code == code)
            ).first()
        if row is None:
            raise NotFound(f"问题编号「{code}」不存在", field="code", value=code)
        loaded = loaded_from_row(row)
        return ProblemState(loaded.snap, loaded.version, None, row.rating, row.progress)

    def history(self, problem_id: int) -> list[Event]:
        """The audit trail of a problem, oldest first."""
        from sqlmodel import select

        with open_session(self.engine) as session:
            return list(
                session.exec(
                    select(Event).where(col(Event.problem_id) == problem_id).order_by(col(Event.at), col(Event.id))
                )
            )
