"""Application service: log problems and run actions on them, one transaction each.

Thin by design: it resolves names to rows, asks the pure workflow for an outcome, and persists it with
``service.persist``. Every error is raised before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.db import session as open_session
from models.guard import workflow_write
from models.tables import CodeCounter, Event, Problem, User
from service import directory
from service.persist import Loaded, loaded_from_row, persist, select_loaded, stake_fields
from workflow import deadlines as dl
from workflow.errors import InvalidValue, MissingField, NotFound
from workflow.machine import fire
from workflow.permissions import Stake, check
from workflow.rules import Rules
from workflow.states import Category, Light, Role, Severity, State

Clock = Callable[[], datetime]
CODE_RE = re.compile(r"^WT-\d{4}-\d{4,}$")
_CN_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９－／", "0123456789-/")


def parse_date(text: str, field: str) -> date:
    """ISO dates, 2024/2/19, 2024年2月19日 and full-width digits; a Chinese error otherwise."""
    raw = str(text or "").strip().translate(_FULLWIDTH)
    m = _CN_DATE.match(raw) or re.match(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$", raw)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        pass
    raise InvalidValue(f"{field}「{text}」不是有效日期，应为 YYYY-MM-DD，如 2024-02-19")


class ProblemService:
    def __init__(self, engine: Engine, rules: Rules, clock: Clock):
        self.engine, self.rules, self.clock = engine, rules, clock

    # -- logging -----------------------------------------------------------------------------------

    def log(
        self,
        actor_login: str,
        project: str,
        category: str,
        title: str,
        unit: str | None = None,
        description: str = "",
        severity: str = "general",
        county_level: bool = False,
    ) -> Problem:
        now = self.clock()
        title = (title or "").strip()
        if not title:
            raise MissingField("问题标题（--title）不能为空")
        if len(title) > 200:
            raise InvalidValue(f"问题标题（--title）过长：{len(title)} 字，最多 200 字；详情请写在 --description")
        if len(description or "") > 5000:
            raise InvalidValue(f"问题描述（--description）过长：{len(description)} 字，最多 5000 字")
        category_v = Category.parse(category, "问题类型（--category）").value
        severity_v = Severity.parse(severity or "general", "问题性质（--severity）").value
        with open_session(self.engine) as session, session.begin():
            actor = directory.actor_for(session, actor_login)
            check("log", actor, Stake())
            proj = directory.find_project(session, project)
            unit_row = directory.find_unit(session, unit) if unit else None
            code = self._next_code(session, now)
            snap = dl.Snapshot(state=State.DISCOVERED, created_at=now)
            with workflow_write():
                problem = Problem(
                    code=code,
                    project_id=proj.id,
                    title=title,
                    description=(description or "").strip(),
                    category=category_v,
                    severity=severity_v,
                    county_level=bool(county_level),
                    state=State.DISCOVERED,
                    level=self.rules.initial_level(severity_v, county_level),
                    light=Light.GREEN,
                    reporter_id=actor.user_id,
                    reporting_unit_id=actor.unit_id,
                    responsible_unit_id=unit_row.id if unit_row else proj.unit_id,
                    created_at=now,
                    updated_at=now,
                    next_check_at=dl.next_check(snap, now, self.rules),
                )
            session.add(problem)
            session.flush()
            session.add(
                Event(
                    problem_id=problem.id,
                    at=now,
                    actor=actor.login,
                    action="log",
                    from_state=None,
                    to_state=State.DISCOVERED,
                    from_level=None,
                    to_level=problem.level,
                    comment=title,
                    data={},
                )
            )
        return problem

    def _next_code(self, session: Session, now: datetime) -> str:
        year = dl.local_date(now, self.rules).year
        table = CodeCounter.__table__
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = (
            insert(table)
            .values(year=year, last=1)
            .on_conflict_do_update(index_elements=[table.c.year], set_={"last": table.c.last + 1})
            .returning(table.c.last)
        )
        number = session.execute(stmt).scalar_one()
        return f"WT-{year}-{number:04d}"

    # -- actions -----------------------------------------------------------------------------------

    def act(
        self, actor_login: str, code: str, action: str, expected_version: int | None = None, **params: Any
    ) -> Problem:
        """Run one workflow action (assign, ack, feedback, note, supervise, escalate, suspend, resume,
        resolve, close, send_back) and return the problem as stored afterwards."""
        now = self.clock()
        with open_session(self.engine) as session, session.begin():
            actor = directory.actor_for(session, actor_login)
            loaded = self.load(session, code)
            if expected_version is not None and expected_version != loaded.version:
                from workflow.errors import StaleVersion

                raise StaleVersion(
                    f"问题 {loaded.snap.code} 已被他人修改（你看到的是第 {expected_version} 版，"
                    f"当前是第 {loaded.version} 版），请刷新后重试"
                )
            if action == "assign":
                params = self._assign_params(session, params)
            elif params.get("deadline") and not isinstance(params["deadline"], date):
                params["deadline"] = parse_date(params["deadline"], "办结时限（--deadline）")
            outcome = fire(action, loaded.snap, actor, Stake(**stake_fields(loaded.parties)), now, self.rules, **params)
            persist(session, [(loaded, [outcome])], actor, now)
        return self.get(code)

    def _assign_params(self, session: Session, p: dict) -> dict:
        out = dict(p)
        if p.get("unit"):
            out["unit_id"] = directory.find_unit(session, p["unit"], "责任单位（--unit）").id
        if p.get("person"):
            person = directory.find_user(session, p["person"], "责任人（--person）")
            if out.get("unit_id") and person.unit_id != out["unit_id"]:
                raise InvalidValue(
                    f"责任人（--person）「{person.login}」不属于责任单位「{p['unit']}」，请选该单位的人员"
                )
            if not person.active:
                raise InvalidValue(f"责任人（--person）「{person.login}」已停用")
            out["person_id"] = person.id
        if p.get("leader"):
            out["leader_id"] = directory.find_user(session, p["leader"], "分管领导（--leader）").id
        elif out.get("unit_id"):
            head = session.exec(
                select(User)
                .where(User.unit_id == out["unit_id"], User.role == Role.UNIT_HEAD, User.active.is_(True))
                .order_by(User.id)
            ).first()
            out["leader_id"] = head.id if head else None
        if p.get("deadline"):
            out["deadline"] = (
                p["deadline"]
                if isinstance(p["deadline"], date)
                else parse_date(p["deadline"], "办结时限（--deadline）")
            )
        return out

    # -- reading -----------------------------------------------------------------------------------

    def load(self, session: Session, code: str) -> Loaded:
        code = normalize_code(code)
        row = session.execute(select_loaded().where(Problem.__table__.c.code == code)).first()
        if row is None:
            raise NotFound(f"问题编号「{code}」不存在；运行 duban list 查看全部问题")
        return loaded_from_row(row)

    def get(self, code: str) -> Problem:
        with open_session(self.engine) as session:
            problem = session.exec(select(Problem).where(Problem.code == normalize_code(code))).first()
            if problem is None:
                raise NotFound(f"问题编号「{code}」不存在")
            return problem

    def history(self, problem_id: int) -> list[Event]:
        with open_session(self.engine) as session:
            return list(
                session.exec(select(Event).where(Event.problem_id == problem_id).order_by(Event.at, Event.id)).all()
            )


def normalize_code(code: str) -> str:
    text = (code or "").strip().upper()
    if not CODE_RE.match(text):
        raise InvalidValue(f"问题编号「{code}」格式无效，应形如 WT-2024-0001")
    return text
