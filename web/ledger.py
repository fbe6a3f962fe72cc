"""The ledger as pages see it: filters, text search, sorting and pagination over the read model.

Rows are ``service.queries.row_dict`` dicts (the same as ``duban list --json``). Each page is two
queries: a COUNT with the filters and the page itself, ordered by an indexed column by default, so a
page of a 100k ledger stays a few milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from models.tables import Problem, Project, Unit, User
from service.queries import row_dict
from workflow.errors import InvalidValue
from workflow.states import CLOCK_STATES, OPEN_STATES, Category, Level, Light, State

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
MAX_PER_PAGE = 200
MAX_PAGE = 100_000


@dataclass(frozen=True)
class LedgerQuery:
    state: str = ""
    level: str = ""
    unit: str = ""  # unit code, name or alias
    category: str = ""
    light: str = ""
    overdue: bool = False
    open_only: bool = False
    q: str = ""
    project: str = ""  # project id
    sort: str = "-code"
    page: int = 1
    per_page: int = 50

    def validated(self) -> LedgerQuery:
        """Normalise every filter to its id or raise InvalidValue naming the field."""
        state = State.parse(self.state, "状态（state）").value if self.state else ""
        level = Level.parse(self.level, "层级（level）").value if self.level else ""
        category = Category.parse(self.category, "问题类型（category）").value if self.category else ""
        light = Light.parse(self.light, "预警灯（light）").value if self.light else ""
        key = self.sort.lstrip("-")
        if key not in SORTS:
            allowed = "、".join(f"{k}（{v}）" for k, v in SORT_LABELS.items())
            raise InvalidValue(f"排序（sort）「{self.sort}」无效，可选：{allowed}，前加 - 为倒序")
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidValue(f"页码（page）应在 1–{MAX_PAGE} 之间")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidValue(f"每页条数（per_page）应在 1–{MAX_PER_PAGE} 之间")
        if len(self.q) > 100:
            raise InvalidValue("搜索词（q）过长：最多 100 字")
        if self.project and not self.project.isdigit():
            raise InvalidValue(f"项目（project）应为项目编号，「{self.project}」无效")
        return replace(
            self, state=state, level=level, category=category, light=light, q=self.q.strip(), unit=self.unit.strip()
        )

    def params(self, **changes) -> str:
        """The query string for this query with ``changes`` (for links: pages, sorting)."""
        data = {**asdict(self), **changes}
        out = {
            k: v
            for k, v in data.items()
            if v not in ("", False, None)
            and not (k == "per_page" and v == 50)
            and not (k == "page" and v == 1)
            and not (k == "sort" and v == "-code")
        }
        return urlencode({k: ("1" if v is True else v) for k, v in out.items()})


def _unit_id(session: Session, text: str) -> int:
    unit = session.exec(select(Unit.id).where((Unit.code == text) | (Unit.name == text))).first()
    if unit is not None:
        return unit
    for uid, aliases in session.exec(select(Unit.id, Unit.aliases)).all():
        if text in (aliases or []):
            return uid
    raise InvalidValue(f"责任单位（unit）「{text}」不存在")


def _filtered(session: Session, lq: LedgerQuery, today: date, query):
    if lq.state:
        query = query.where(Problem.state == lq.state)
    elif lq.open_only:
        query = query.where(Problem.state.in_([s.value for s in OPEN_STATES]))
    if lq.level:
        query = query.where(Problem.level == lq.level)
    if lq.category:
        query = query.where(Problem.category == lq.category)
    if lq.light:
        query = query.where(Problem.light == lq.light)
    if lq.unit:
        query = query.where(Problem.responsible_unit_id == _unit_id(session, lq.unit))
    if lq.project:
        query = query.where(Problem.project_id == int(lq.project))
    if lq.overdue:
        query = query.where(Problem.state.in_([s.value for s in CLOCK_STATES]), Problem.deadline < today)
    if lq.q:
        # Plain LIKE (no lower() per row): Chinese text has no case, codes are upper case.
        like = "%" + lq.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                Problem.code.like(like.upper(), escape="\\"),
                Problem.title.like(like, escape="\\"),
                Problem.description.like(like, escape="\\"),
            )
        )
    return query


def base_query():
    return (
        select(Problem, Project.name, RespUnit.name, Responsible.name, Leader.name, ProjectLeader.name)
        .join(Project, Project.id == Problem.project_id)
        .outerjoin(RespUnit, RespUnit.id == Problem.responsible_unit_id)
        .outerjoin(Responsible, Responsible.id == Problem.responsible_person_id)
        .outerjoin(Leader, Leader.id == Problem.leader_id)
        .outerjoin(ProjectLeader, ProjectLeader.id == Project.leader_id)
    )


# The problem columns ``service.queries.row_dict`` reads, as plain Core rows (attribute access by name):
# a page of 50 rows without building ORM objects.
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


def _page_query():
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


def page(session: Session, lq: LedgerQuery, today: date) -> LedgerPage:
    lq = lq.validated()
    count_q = _filtered(session, lq, today, select(sa.func.count()).select_from(Problem))
    total = session.exec(count_q).one()
    key = lq.sort.lstrip("-")
    column = SORTS[key]
    desc = lq.sort.startswith("-")
    order = [column.desc() if desc else column.asc()]
    if key != "code":
        order.append(Problem.code.desc() if desc else Problem.code.asc())
    query = _filtered(session, lq, today, _page_query()).order_by(*order)
    query = query.limit(lq.per_page).offset((lq.page - 1) * lq.per_page)
    rows = [
        row_dict(r, r.project_name, r.unit_name, r.person_name, r.leader_name, r.project_leader_name, today=today)
        for r in session.execute(query)
    ]
    return LedgerPage(lq, rows, total)


def options(session: Session) -> dict:
    """Choices for the filter form: units that have problems first, then all units; projects."""
    units = session.exec(select(Unit.code, Unit.name).order_by(Unit.id)).all()
    projects = session.exec(select(Project.id, Project.name).order_by(Project.name)).all()
    return {
        "states": [(s.value, s.label) for s in State],
        "levels": [(lv.value, lv.label) for lv in Level],
        "categories": [(c.value, c.label) for c in Category],
        "lights": [(li.value, li.label) for li in Light],
        "units": [(c, n) for c, n in units],
        "projects": [(str(i), n) for i, n in projects],
        "sorts": list(SORT_LABELS.items()),
    }
