"""Check every row of a ledger before anything is written: parse each cell, resolve every name, find
duplicates and rows already in the database, and work out when each step of each row happened.

``plan_rows`` never raises for a bad row: it collects an ``Issue`` (row, column, cell, value, what is
allowed) for every problem and turns each good row into a ``RowPlan``. ``reports.ledger_write`` then
creates and replays the plans through the workflow, where a refused transition is one more issue;
``reports.importer`` runs both in one transaction and rolls it back on any issue. Rows already in the
database (same 问题编号, or same project and 问题名称 when the row has no code) are skipped, so importing
the same file twice changes nothing. See docs/reports.md for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa

from models.tables import Problem, table_of
from reports.columns import (
    BY_KEY,
    CellError,
    clean,
    parse_bool,
    parse_category,
    parse_date,
    parse_level,
    parse_rating,
    parse_severity,
    parse_state,
)
from reports.ledger_read import Issue, Sheet
from service import directory
from service.directory import DirectoryView, ProjectInfo, UserInfo
from service.problems import CODE_RE, check_assignee
from workflow.errors import DubanError
from workflow.rules import Rules
from workflow.states import LADDER, Level, Severity, State
from workflow.text import TextKind
from workflow.text import clean as clean_text

MAX_TITLE = TextKind.TITLE.max_length
MAX_CODE = len("WT-2024-") + 9
EVENT_HOUR = time(9, 0)  # a ledger date becomes an event at 09:00 local time (as ``--at 2024-02-19`` does)
ASSIGNED_OR_LATER = (State.ASSIGNED, State.SUPERVISED, State.SUSPENDED, State.REVIEW, State.CLOSED)


@dataclass
class RowPlan:
    """One valid ledger row, resolved to ids, with the moment of each step."""

    number: int
    code: str | None
    project_id: int
    project_leader_id: int | None
    title: str
    description: str
    category: str
    severity: str
    county_level: bool
    unit_id: int
    person_id: int | None
    leader_id: int | None
    section: str
    state: State
    level: Level
    routed: Level
    deadline: date | None
    progress: str
    resolution: str
    rating: str | None
    at: dict[str, datetime] = field(default_factory=dict)  # step name → moment (UTC)

    @property
    def escalated(self) -> bool:
        return self.level != self.routed


@dataclass
class Existing:
    code: str
    state: str
    level: str
    deadline: date | None
    unit_id: int | None


@dataclass
class Directory:
    """Everything a check needs from the database, loaded once: the directory (``service.directory``) and
    the problems already in the ledger."""

    view: DirectoryView
    users_by_name: dict[str, list[UserInfo]]
    by_code: dict[str, Existing]
    by_title: dict[tuple[int, str], Existing]

    @classmethod
    def load(cls, session) -> Directory:
        view = directory.view(session)
        by_name: dict[str, list[UserInfo]] = {}
        for user in view.users:
            by_name.setdefault(user.name, []).append(user)
        p = table_of(Problem)
        by_code, by_title = {}, {}
        for code, project_id, title, state, level, deadline, unit_id in session.execute(
            sa.select(p.c.code, p.c.project_id, p.c.title, p.c.state, p.c.level, p.c.deadline, p.c.responsible_unit_id)
        ):
            ex = Existing(code, state, level, deadline, unit_id)
            by_code[code] = ex
            by_title.setdefault((project_id, title), ex)
        return cls(view, by_name, by_code, by_title)


@dataclass
class Check:
    """The result of checking a sheet."""

    plans: list[RowPlan] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, code) already in the database
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


class _Row:
    """Typed access to one sheet row that records issues instead of raising."""

    def __init__(self, sheet: Sheet, number: int, values: tuple, issues: list[Issue]):
        self.sheet, self.number, self.values, self.issues = sheet, number, values, issues
        self.ok = True

    def raw(self, key: str) -> Any:
        index = self.sheet.columns.get(key)
        return None if index is None else self.values[index]

    def text(self, key: str) -> str:
        return clean(self.raw(key))

    def gated(self, key: str, kind: TextKind) -> str | None:
        """A free-text column through the one text gate (workflow/text.py), as the service would store it;
        None (and an issue) when the gate refuses it. Clean text passes unchanged, so exports round-trip."""
        try:
            return clean_text(_as_text(self.raw(key)), field=key, label=BY_KEY[key].header, kind=kind)
        except DubanError as exc:
            self.fail(key, exc.message)
            return None

    def fail(self, key: str | None, message: str, value: Any = None) -> None:
        self.ok = False
        shown = clean(value if value is not None else (self.raw(key) if key else ""))
        if isinstance(value, (date, datetime)):
            shown = value.isoformat()
        self.issues.append(
            Issue(
                self.number,
                BY_KEY[key].header if key else None,
                self.sheet.cell(key, self.number) if key else None,
                shown[:60],
                message,
            )
        )

    def parse(self, key: str, parser, default=None):
        raw = self.raw(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return default
        try:
            return parser(raw)
        except CellError as exc:
            self.fail(key, exc.message)
            return default


def _as_text(value: Any) -> str:
    """A cell as text for the gate: numbers without ".0", nothing trimmed here (the gate trims only spaces, so a
    control character at either end is refused rather than hidden)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def event_moment(day: date, now: datetime, rules: Rules) -> datetime:
    moment = datetime.combine(day, EVENT_HOUR, tzinfo=rules.timezone).astimezone(UTC)
    return min(moment, now)


def plan_rows(sheet: Sheet, d: Directory, rules: Rules, now: datetime, tick=None) -> Check:
    """Check every row of ``sheet``; valid rows become ``RowPlan``s, fired later by ``ledger_write``.
    ``tick(n)`` is called every 1,000 rows."""
    check = Check(issues=list(sheet.issues))
    today = now.astimezone(rules.timezone).date()
    seen_codes: dict[str, int] = {}
    seen_titles: dict[tuple[int, str], int] = {}
    for i, (number, values) in enumerate(sheet.rows, start=1):
        if tick and i % 1000 == 0:
            tick(1000)
        row = _Row(sheet, number, values, check.issues)
        plan = _plan_row(row, d, rules, now, today)
        if plan is None:
            if row.ok:  # never drop a row silently
                row.fail(None, "无法识别本行，请检查各列的值")
            continue
        if plan.code:
            if plan.code in seen_codes:
                row.fail("code", f"问题编号与第 {seen_codes[plan.code]} 行重复")
                continue
            seen_codes[plan.code] = number
        key = (plan.project_id, plan.title)
        if key in seen_titles:
            row.fail("title", f"同一项目下的问题名称与第 {seen_titles[key]} 行重复；同名问题请改写名称以便区分")
            continue
        seen_titles[key] = number
        existing = d.by_code.get(plan.code) if plan.code else d.by_title.get(key)
        if existing is not None:
            check.skipped.append((number, existing.code))
            _compare(row, plan, existing, d, check.warnings)
            continue
        other = d.by_title.get(key)
        if plan.code and other is not None:
            row.fail(
                "code",
                f"系统中该项目下已有同名问题 {other.code}（编号不同）；如是同一问题，请把编号改为 "
                f"{other.code}，否则请改写问题名称",
            )
            continue
        check.plans.append(plan)
    return check


def _compare(row: _Row, plan: RowPlan, ex: Existing, d: Directory, warnings: list[Issue]) -> None:
    diffs = []
    if ex.state != plan.state:
        diffs.append(f"状态为「{State(ex.state).label}」")
    if ex.level != plan.level:
        diffs.append(f"层级为「{Level(ex.level).label}」")
    if plan.deadline and ex.deadline != plan.deadline:
        diffs.append(f"办结时限为 {ex.deadline}")
    if ex.unit_id != plan.unit_id:
        diffs.append(f"责任单位为「{d.view.unit_name(ex.unit_id)}」")
    if diffs:
        warnings.append(
            Issue(
                row.number,
                None,
                None,
                ex.code,
                f"已在系统中，本行跳过；系统中{'，'.join(diffs)}，与本行不同——以系统为准，请用 duban 命令办理",
            )
        )


def _plan_row(row: _Row, d: Directory, rules: Rules, now: datetime, today: date) -> RowPlan | None:
    code = row.text("code").upper() or None
    if code and (not CODE_RE.match(code) or len(code) > MAX_CODE):  # the counter is a 32-bit integer
        row.fail("code", "格式无效，应形如 WT-2024-0001（序号最多 9 位）；其他系统的编号请清空此列，导入时自动编号")
    project = None
    project_text = row.text("project")
    if not project_text:
        row.fail("project", "不能为空")
    else:
        try:
            project = d.view.project(project_text)
        except DubanError:
            row.fail("project", "项目不存在；请先在项目管理中登记该项目")
    description = row.gated("description", TextKind.TEXT)
    if "title" in row.sheet.columns:
        title = row.gated("title", TextKind.TITLE)
    elif description and len(description) > MAX_TITLE:
        title = None
        row.fail(
            "description",
            f"没有「问题名称」列时以问题描述作名称，但描述有 {len(description)} 字，超过 {MAX_TITLE} 字；"
            f"请增加「问题名称」列",
        )
    else:  # the description doubles as the title, so it must pass as one
        title = row.gated("description", TextKind.TITLE) if description else ""
    if title == "":
        row.fail("title", "问题名称不能为空")
    category = row.parse("category", parse_category)
    if category is None and not row.text("category"):
        row.fail("category", "不能为空，可选：土地、征拆、手续、资金、要素保障、其他")
    severity = row.parse("severity", parse_severity, Severity.GENERAL)
    county_level = row.parse("county_level", parse_bool, False)
    state = row.parse("state", parse_state)

    unit_id = _unit(row, d, project)
    person_id = _person(row, d, unit_id)
    if state is None and not row.text("state"):
        state = State.ASSIGNED if person_id else State.DISCOVERED
    leader_id = _leader(row, d, unit_id, person_id)
    section = row.gated("section", TextKind.SECTION)
    dates = {
        key: row.parse(key, parse_date)
        for key in ("created", "assigned", "deadline", "level_started", "suspended", "resolved", "closed")
    }
    progress, resolution = row.gated("progress", TextKind.TEXT), row.gated("resolution", TextKind.TEXT)
    rating = row.parse("rating", parse_rating)
    if not row.ok or state is None or severity is None or category is None or project is None:
        return None

    routed = rules.initial_level(severity.value, county_level)
    level = row.parse("level", parse_level, routed)
    if not row.ok:
        return None
    plan = RowPlan(
        row.number,
        code,
        project.id,
        project.leader_id,
        title or "",  # not None: a refused text has made the row not ok
        description or "",
        category.value,
        severity.value,
        county_level,
        unit_id,
        person_id,
        leader_id,
        section or "",
        state,
        level,
        routed,
        dates["deadline"],
        progress or "",
        resolution or "",
        rating.value if rating else None,
    )
    _check_state_fields(row, plan, dates)
    _schedule(row, plan, dates, now, today, rules)
    return plan if row.ok else None


def _unit(row: _Row, d: Directory, project: ProjectInfo | None) -> int | None:
    text = row.text("unit")
    if not text:
        return project.unit_id if project else None
    try:
        return d.view.unit(text).id
    except DubanError:
        row.fail("unit", "单位不存在；可填单位名称、代码或别名")
        return None


def _user(row: _Row, d: Directory, key: str, unit_id: int | None) -> UserInfo | None:
    """The user a cell names, by login or by name (a name shared by several needs the login)."""
    text = row.text(key)
    if not text:
        return None
    login = None
    if text.endswith("）") and "（" in text:  # "孙丽（sun.zrzy）", as the export writes shared names
        text, login = text[:-1].split("（", 1)
    found = next((u for u in d.view.users if u.login == (login or text)), None)
    if found is None and not login:
        candidates = d.users_by_name.get(text, [])
        if key == "person" and unit_id is not None and len(candidates) > 1:
            candidates = [c for c in candidates if c.unit_id == unit_id] or candidates
        if len(candidates) > 1:
            logins = "、".join(c.login for c in candidates)
            row.fail(key, f"有 {len(candidates)} 个同名用户（{logins}），请改填登录名")
            return None
        found = candidates[0] if candidates else None
    if found is None:
        row.fail(key, "用户不存在；可填姓名或登录名，或先在用户管理中添加")
    return found


def _assignee(row: _Row, d: Directory, key: str, unit_id: int | None) -> int | None:
    """A person or leader in charge, checked by the same rule as an assignment (``check_assignee``)."""
    user = _user(row, d, key, unit_id)
    if user is None:
        return None
    unit = d.view.unit_by_id(unit_id)
    try:
        check_assignee(key, user, unit)
    except DubanError as exc:
        row.fail(key, exc.message)
        return None
    return user.id


def _person(row: _Row, d: Directory, unit_id: int | None) -> int | None:
    return _assignee(row, d, "person", unit_id)


def _leader(row: _Row, d: Directory, unit_id: int | None, person_id: int | None) -> int | None:
    if row.text("leader"):
        return _assignee(row, d, "leader", unit_id)
    default = d.view.default_leader(unit_id) if unit_id is not None and person_id else None
    return default.id if default else None


def _check_state_fields(row: _Row, plan: RowPlan, dates: dict) -> None:
    s, label = plan.state, plan.state.label
    if s == State.DISCOVERED:
        for key in ("person", "leader", "section", "progress"):
            if row.text(key):
                row.fail(
                    key, f"状态为「{label}」（未交办）的问题不能有{BY_KEY[key].header}；已交办的请把状态改为「交办」"
                )
        for key in ("assigned", "deadline", "level_started"):
            if dates[key]:
                row.fail(key, f"状态为「{label}」（未交办）的问题不能有{BY_KEY[key].header}")
        if plan.escalated:
            row.fail("level", f"未交办的问题层级应为「{plan.routed.label}」（按问题性质和是否需县级协调确定）")
    elif plan.person_id is None and not row.text("person"):
        row.fail("person", f"状态为「{label}」的问题已交办，必须有责任人（姓名或登录名）")
    if LADDER.index(plan.level) < LADDER.index(plan.routed):
        why = "重大问题" if plan.severity == "major" else "需县级协调的问题"
        row.fail("level", f"{why}交办即进入「{plan.routed.label}」，层级不能低于它")
    if plan.escalated and s == State.ASSIGNED:
        row.fail(
            "state",
            f"层级「{plan.level.label}」高于交办时的层级「{plan.routed.label}」，说明已升级督办，"
            f"状态应为督办、挂起、待审核或销号，不能是交办",
        )
    if dates["level_started"] and not plan.escalated:
        row.fail("level_started", f"层级「{plan.level.label}」就是交办时的层级，没有升级，升级日期应为空")
    if s in (State.REVIEW, State.CLOSED):
        if not plan.resolution:
            row.fail("resolution", f"状态为「{label}」的问题必须填写办结情况（申请销号时提交的内容）")
    elif plan.resolution:
        row.fail("resolution", f"只有待审核或销号的问题才有办结情况；状态为「{label}」的进展请写在「进展情况」")
    if plan.rating and s != State.CLOSED:
        row.fail("rating", f"只有销号的问题才有评价等级，本行状态为「{label}」")
    elif s == State.CLOSED and not plan.rating:
        row.fail("rating", "状态为「销号」的问题必须填写评价等级（优秀、良好、合格；不合格的问题应为督办）")
    for key, states in (
        ("suspended", (State.SUSPENDED,)),
        ("resolved", (State.REVIEW, State.CLOSED)),
        ("closed", (State.CLOSED,)),
    ):
        if dates[key] and s not in states:
            row.fail(key, f"状态为「{label}」的问题不能有{BY_KEY[key].header}")


_ORDER = ("created", "assigned", "level_started", "suspended", "resolved", "closed")


def _schedule(row: _Row, plan: RowPlan, dates: dict, now: datetime, today: date, rules: Rules) -> None:
    """The date of each step: given, or else the previous step's; they must not go back in time."""
    given = {k: dates[k] for k in _ORDER if dates[k]}
    for key, day in given.items():
        if day > today:
            row.fail(key, f"晚于今天（{today}）", day)
    first = min(given.values(), default=today)
    chain: dict[str, date] = {}
    previous, previous_key = dates["created"] or first, "created"
    chain["created"] = previous
    for key in _ORDER[1:]:
        day = dates[key]
        if day is None:
            day = previous
        elif day < previous:
            row.fail(key, f"早于{BY_KEY[previous_key].header}（{previous}）", day)
        else:
            previous, previous_key = day, key
        chain[key] = day
    level_day = chain["level_started"] if plan.escalated else chain["assigned"]
    if plan.deadline and plan.state != State.DISCOVERED and plan.deadline < level_day:
        which = "升级日期" if plan.escalated else "交办日期"
        row.fail("deadline", f"早于{which}（{level_day}）", plan.deadline)
    plan.at = {key: event_moment(day, now, rules) for key, day in chain.items()}
