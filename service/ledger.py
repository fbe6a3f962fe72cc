"""The ledger query — one definition of every filter, sort and page, used by ``duban list``, the web ledger,
``GET /api/v1/problems`` and both exports (the web download and ``duban export-ledger``).

``LedgerQuery`` holds what a person asked for (ids or Chinese labels, as typed); ``validated`` checks it and
resolves names to ids through the directory, raising InvalidValue/NotFound that name the field. ``where``
turns it into SQL conditions; ``page`` and ``rows`` run it with the ledger's columns; an export applies the
same ``where`` to its own columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from models.tables import Problem, Project, Unit, User
from service.directory import DirectoryView
from workflow.errors import InvalidValue, NotFound
from workflow.permissions import Manage, require
from workflow.states import CLOCK_STATES, OPEN_STATES, Category, Level, Light, Severity, State

Responsible = aliased(User)
Leader = aliased(User)
ProjectLeader = aliased(User)
RespUnit = aliased(Unit)

# Severity order: sorting by light descending ("-light") puts red first.
LIGHT_RANK = sa.case({"red": 3, "yellow": 2, "blue": 1, "green": 0}, value=Problem.light, else_=-1)
SORTS = {
    "code": Problem.code,
    "deadline": Problem.deadline,
    "updated": Problem.updated_at,
    "light": LIGHT_RANK,
    "state": Problem.state,
    "level": Problem.level,
}
SORT_LABELS = {
    "code": "编号",
    "deadline": "办结时限",
    "updated": "最近更新",
    "light": "预警灯",
    "state": "状态",
    "level": "层级",
}
DEFAULT_SORT = "-code"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 100_000
MAX_SEARCH = 100


def overdue_condition(today: date):
    """SQL for ``workflow.deadlines.is_overdue``: the clock runs and the deadline has passed."""
    return sa.and_(Problem.state.in_([s.value for s in CLOCK_STATES]), Problem.deadline < today)


@dataclass(frozen=True)
class LedgerQuery:
    state: str = ""
    level: str = ""
    unit: str = ""  # unit code, name or alias
    project: str = ""  # project name or number
    category: str = ""
    severity: str = ""
    light: str = ""
    overdue: bool = False
    open_only: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    # Filled by ``validated``.
    unit_id: int | None = None
    project_id: int | None = None

    def validated(self, view: DirectoryView) -> LedgerQuery:
        """Every filter normalised to its id; a bad one raises InvalidValue/NotFound naming the field."""

        def parse(enum, value: str, label: str, field: str) -> str:
            return enum.parse(value, label, field=field).value if value else ""

        key = self.sort.lstrip("-")
        if key not in SORTS:
            allowed = "、".join(f"{k}（{v}）" for k, v in SORT_LABELS.items())
            raise InvalidValue(
                f"排序「{self.sort}」无效，可选：{allowed}，前加 - 为倒序", field="sort", value=self.sort
            )
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidValue(f"页码应在 1–{MAX_PAGE} 之间", field="page", value=self.page)
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidValue(f"每页条数应在 1–{MAX_PER_PAGE} 之间", field="per_page", value=self.per_page)
        q = self.q.strip()
        if len(q) > MAX_SEARCH:
            raise InvalidValue(f"搜索词过长：最多 {MAX_SEARCH} 字", field="q", value=q)
        unit = self.unit.strip()
        project = self.project.strip()
        return replace(
            self,
            state=parse(State, self.state, "状态", "state"),
            level=parse(Level, self.level, "层级", "level"),
            category=parse(Category, self.category, "问题类型", "category"),
            severity=parse(Severity, self.severity, "问题性质", "severity"),
            light=parse(Light, self.light, "预警灯", "light"),
            q=q,
            unit=unit,
            project=project,
            unit_id=_known(view.unit, unit, "责任单位", "unit"),
            project_id=_known(view.project, project, "项目", "project"),
        )

    def describe(self, view: DirectoryView) -> str:
        """The filters in words (export subtitles): 状态：督办；责任单位：自然资源局 …"""
        parts = []
        for value, enum, label in (
            (self.state, State, "状态"),
            (self.level, Level, "层级"),
            (self.category, Category, "类型"),
            (self.severity, Severity, "性质"),
            (self.light, Light, "预警"),
        ):
            if value:
                parts.append(f"{label}：{enum(value).label}")
        if self.unit_id is not None:
            parts.append(f"责任单位：{view.unit_name(self.unit_id)}")
        if self.project_id is not None:
            found = view.project_by_id(self.project_id)
            parts.append(f"项目：{found.name if found else self.project}")
        if self.overdue:
            parts.append("仅超期")
        if self.open_only:
            parts.append("仅未销号")
        if self.q:
            parts.append(f"搜索：{self.q}")
        return "；".join(parts)

    def params(self, **changes) -> str:
        """The query string for this query with ``changes`` (links: pages, sorting); defaults left out."""
        data = {**asdict(self), **changes}
        data.pop("unit_id", None)
        data.pop("project_id", None)
        defaults = {"page": 1, "per_page": DEFAULT_PER_PAGE, "sort": DEFAULT_SORT}
        out = {k: v for k, v in data.items() if v not in ("", False, None) and defaults.get(k) != v}
        return urlencode({k: ("1" if v is True else v) for k, v in out.items()})


def _known(lookup, text: str, label: str, field: str) -> int | None:
    """A filter naming a unit or project that does not exist is bad input (400), not a missing page."""
    if not text:
        return None
    try:
        return lookup(text, label, field).id
    except NotFound as exc:
        raise InvalidValue(exc.message, field=field, value=text, label=label) from None


def where(lq: LedgerQuery, today: date) -> list:
    """The SQL conditions of a validated query."""
    out: list = []
    if lq.state:
        out.append(Problem.state == lq.state)
    elif lq.open_only:
        out.append(Problem.state.in_([s.value for s in OPEN_STATES]))
    if lq.level:
        out.append(Problem.level == lq.level)
    if lq.category:
        out.append(Problem.category == lq.category)
    if lq.severity:
        out.append(Problem.severity == lq.severity)
    if lq.light:
        out.append(Problem.light == lq.light)
    if lq.unit_id is not None:
        out.append(Problem.responsible_unit_id == lq.unit_id)
    if lq.project_id is not None:
        out.append(Problem.project_id == lq.project_id)
    if lq.overdue:
        out.append(overdue_condition(today))
    if lq.q:
        # Plain LIKE (no lower() per row): Chinese text has no case, codes are upper case.
        like = "%" + lq.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        out.append(
            sa.or_(
                Problem.code.like(like.upper(), escape="\\"),
                Problem.title.like(like, escape="\\"),
                Problem.description.like(like, escape="\\"),
            )
        )
    return out


def order_by(lq: LedgerQuery) -> list:
    key = lq.sort.lstrip("-")
    desc = lq.sort.startswith("-")
    column = SORTS[key]
    order = [column.desc() if desc else column.asc()]
    if key != "code":
        order.append(Problem.code.desc() if desc else Problem.code.asc())
    return order


# The problem columns ``row_dict`` reads, as plain Core rows (attribute access by name): a page of 50 rows
# without building ORM objects.
_ROW_COLUMNS = (
    Problem.code,
    Problem.title,
    Problem.category,
    Problem.severity,
    Problem.county_level,
    Problem.state,
    Problem.level,
    Problem.light,
    Problem.responsible_section,
    Problem.deadline,
    Problem.deadline_provisional,
    Problem.version,
)


def ledger_select():
    return (
        select(
            *_ROW_COLUMNS,
            Project.name.label("project_name"),
            RespUnit.name.label("unit_name"),
            Responsible.name.label("person_name"),
            Leader.name.label("leader_name"),
            ProjectLeader.name.label("project_leader_name"),
        )
        .join(Project, Project.id == Problem.project_id)
        .outerjoin(RespUnit, RespUnit.id == Problem.responsible_unit_id)
        .outerjoin(Responsible, Responsible.id == Problem.responsible_person_id)
        .outerjoin(Leader, Leader.id == Problem.leader_id)
        .outerjoin(ProjectLeader, ProjectLeader.id == Project.leader_id)
    )


@dataclass
class LedgerPage:
    query: LedgerQuery
    rows: list[dict]
    total: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.query.per_page - 1) // self.query.per_page)


def ledger_row(r, today: date) -> dict:
    """A row of ``ledger_select`` as the ledger's dict (``service.queries.row_dict``)."""
    from service.queries import row_dict

    return row_dict(r, r.project_name, r.unit_name, r.person_name, r.leader_name, r.project_leader_name, today=today)


def page(session: Session, lq: LedgerQuery, today: date) -> LedgerPage:
    """One page of a validated query and the total count (two queries)."""
    conditions = where(lq, today)
    total = session.execute(select(sa.func.count()).select_from(Problem).where(*conditions)).scalar_one()
    query = ledger_select().where(*conditions).order_by(*order_by(lq))
    query = query.limit(lq.per_page).offset((lq.page - 1) * lq.per_page)
    return LedgerPage(lq, [ledger_row(r, today) for r in session.execute(query)], total)


def rows(session: Session, lq: LedgerQuery, today: date, limit: int | None = None) -> list[dict]:
    """Every row of a validated query (``duban list``), in its order."""
    query = ledger_select().where(*where(lq, today)).order_by(*order_by(lq))
    if limit:
        query = query.limit(limit)
    return [ledger_row(r, today) for r in session.execute(query)]


def browse(engine, actor_login: str | None, lq: LedgerQuery, today: date) -> LedgerPage:
    """A page of the ledger for a person's query (validated here; a bad filter raises naming the field)."""
    from models.db import reader
    from models.db import session as open_session
    from service import directory

    with open_session(reader(engine)) as s:
        view = directory.view(s)
        require(Manage.READ_LEDGER, view.actor(actor_login))
        return page(s, lq.validated(view), today)


def listing(engine, actor_login: str | None, lq: LedgerQuery, today: date, limit: int | None = None) -> list[dict]:
    """Every row of a person's query, in its order (``duban list``)."""
    from models.db import reader
    from models.db import session as open_session
    from service import directory

    with open_session(reader(engine)) as s:
        view = directory.view(s)
        require(Manage.READ_LEDGER, view.actor(actor_login))
        return rows(s, lq.validated(view), today, limit)


def filter_choices(engine) -> dict:
    """The choices of the ledger's filter form: states, levels, categories, severities, lights, units,
    projects and sorts, each as (value, label)."""
    from models.db import reader
    from models.db import session as open_session
    from service import directory

    with open_session(reader(engine)) as s:
        view = directory.view(s)
    return {
        "states": [(x.value, x.label) for x in State],
        "levels": [(x.value, x.label) for x in Level],
        "categories": [(x.value, x.label) for x in Category],
        "severities": [(x.value, x.label) for x in Severity],
        "lights": [(x.value, x.label) for x in Light],
        "units": [(u.code, u.name) for u in view.units],
        "projects": [(str(p.id), p.name) for p in sorted(view.projects, key=lambda p: p.name)],
        "sorts": list(SORT_LABELS.items()),
    }
