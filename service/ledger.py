"""The ledger query — one definition of every filter, sort and page, used by ``duban list``, the web ledger,
``GET /api/v1/problems`` and both exports (the web download and ``duban export-ledger``).

``LedgerQuery`` holds what a person asked for (ids or Chinese labels, as typed); ``validated`` checks it and
resolves names to ids through the directory, raising InvalidValue/NotFound that name the field. ``where``
turns it into SQL conditions (text search through ``service.search``); ``page`` runs it with the ledger's
columns — numbered pages for the first ``MAX_PAGE`` pages, then keyset paging with an opaque cursor
(``service.paging``); ``batches`` walks every row by keyset (``duban list``, both exports), so memory and
the cost per batch stay flat on a ledger of millions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.tables import Problem
from service import paging, search, search_grams, write_stamp
from service.directory import DirectoryView
from service.ledger_rows import ledger_row, ledger_select
from workflow.errors import InvalidValue, NotFound
from workflow.permissions import Manage, require
from workflow.states import CLOCK_STATES, OPEN_STATES, Category, Level, Light, Severity, State

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
# Sort key → the Python kind of its values and whether it may be NULL (keyset cursors).
SORT_KINDS = {
    "code": ("str", False),
    "deadline": ("date", True),
    "updated": ("datetime", False),
    "light": ("int", False),
    "state": ("str", False),
    "level": ("str", False),
}
DEFAULT_SORT = "-code"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# Numbered pages (OFFSET) for the pages people click; deeper pages follow the cursor of 下一页.
MAX_PAGE = 100
MAX_SEARCH = search.MAX_CHARS
BATCH = 2000  # rows per keyset batch when walking a whole query (exports, duban list)


def overdue_condition(today: date):
    """SQL for ``workflow.deadlines.is_overdue``: the clock runs and the deadline has passed."""
    return sa.and_(col(Problem.state).in_([s.value for s in CLOCK_STATES]), col(Problem.deadline) < today)


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
    cursor: str = ""  # from a previous page's next_cursor / prev_cursor
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
            raise InvalidValue(
                f"页码应在 1–{MAX_PAGE} 之间；更后面的页请从第 {MAX_PAGE} 页起点「下一页」逐页翻（游标）",
                field="page",
                value=self.page,
            )
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidValue(f"每页条数应在 1–{MAX_PER_PAGE} 之间", field="per_page", value=self.per_page)
        if self.cursor and self.page != 1:
            raise InvalidValue("页码和翻页游标只能指定一个", field="page", value=self.page)
        q = " ".join(search.parse(self.q).terms)
        unit = self.unit.strip()
        project = self.project.strip()
        done = replace(
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
        if done.cursor:
            paging.decode(done.cursor, sort_keys(done), done.fingerprint())  # refuse a bad cursor now (400)
        return done

    def fingerprint(self) -> str:
        """What a cursor must have been made for: the filters, the search and the sort (not the page size)."""
        parts = asdict(self)
        for name in ("page", "per_page", "cursor", "unit", "project"):
            parts.pop(name)
        return paging.fingerprint(parts)

    @property
    def terms(self) -> search.Terms:
        return search.parse(self.q)

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
        # Fields read one by one: asdict() deep-copies, and a page builds a dozen of these links.
        data = {**{f.name: getattr(self, f.name) for f in fields(self)}, **changes}
        data.pop("unit_id", None)
        data.pop("project_id", None)
        if "page" in changes and "cursor" not in changes:
            data.pop("cursor", None)
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


def where(
    lq: LedgerQuery, today: date, hits: list[int] | None = None, common: Mapping[str, float] | None = None
) -> list:
    """The SQL conditions of a validated query; ``hits``: the search's matches, found already (``search_hits``);
    ``common``: the search's common pieces (``search_grams.common``), which make a PostgreSQL search cheaper."""
    out: list = []
    if lq.state:
        out.append(Problem.state == lq.state)
    elif lq.open_only:
        out.append(col(Problem.state).in_([s.value for s in OPEN_STATES]))
    if lq.level:
        out.append(col(Problem.level) == lq.level)
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
        out.append(col(Problem.id).in_(hits) if hits is not None else search.condition(lq.terms, common))
    return out


def search_hits(session: Session, lq: LedgerQuery) -> list[int] | None:
    """Every problem a search matches, read from the index once for both the page and its count (a common
    trigram makes each index read cost: 9 ms at a million problems on PostgreSQL). None without a search,
    or past COUNT_CAP matches: the page and the count then ask the index themselves."""
    if not lq.q:
        return None
    condition = search.condition(lq.terms, search_grams.common(session))
    found = session.execute(select(Problem.id).where(condition).limit(COUNT_CAP + 1))
    ids = list(found.scalars())
    return ids if len(ids) <= COUNT_CAP else None


def _common(session: Session, lq: LedgerQuery) -> Mapping[str, float] | None:
    return search_grams.common(session) if lq.q else None


def sort_keys(lq: LedgerQuery) -> list[paging.Key]:
    """The order of a query's rows: search rank first (when searching), the chosen sort, then the code."""
    name = lq.sort.lstrip("-")
    desc = lq.sort.startswith("-")
    keys = []
    if lq.q:
        keys.append(paging.Key("rank", search.rank(lq.terms), False, "int"))
    kind, nullable = SORT_KINDS[name]
    keys.append(paging.Key(name, SORTS[name], desc, kind, nullable))
    if name != "code":
        keys.append(paging.Key("code", Problem.code, desc, "str"))
    return keys


def order_by(lq: LedgerQuery) -> list:
    return paging.order(sort_keys(lq))


@dataclass
class LedgerPage:
    """One page of a query. ``next_cursor``/``prev_cursor`` lead to the neighbouring pages (None at an end);
    ``position`` is the page's number (approximate once rows come and go between requests). ``total`` is
    exact unless ``total_exact`` is False (a search matching more than COUNT_CAP problems). ``bounded``: the
    search had only short terms and scanned the most recent ``search.SHORT_SCAN`` problems only."""

    query: LedgerQuery
    rows: list[dict]
    total: int
    position: int = 1
    next_cursor: str | None = None
    prev_cursor: str | None = None
    total_exact: bool = True
    bounded: bool = False

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.query.per_page - 1) // self.query.per_page)


COUNT_CAP = 10_000  # a search counts its matches up to this many


def count(session: Session, lq: LedgerQuery, today: date, hits: list[int] | None = None) -> tuple[int, bool]:
    """How many problems match (and whether that is exact). State, level and light alone are answered from
    the dashboard's tally (``service.tally``) without reading the ledger; a search counts up to COUNT_CAP,
    from ``hits`` when the caller found them."""
    from service import tally

    if not (lq.unit_id or lq.project_id or lq.category or lq.severity or lq.overdue or lq.q):
        states = {lq.state} if lq.state else {s.value for s in OPEN_STATES} if lq.open_only else None
        return tally.count(session, states, lq.level or None, lq.light or None), True
    conditions = where(lq, today, hits, _common(session, lq))
    if hits is not None and len(conditions) == 1:
        return len(hits), True  # the search alone: its matches are the count
    if not lq.q:
        return session.execute(select(sa.func.count()).select_from(Problem).where(*conditions)).scalar_one(), True
    capped = select(Problem.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    n = session.execute(select(sa.func.count()).select_from(capped)).scalar_one()
    return min(n, COUNT_CAP), n <= COUNT_CAP


def page(session: Session, lq: LedgerQuery, today: date, view: DirectoryView) -> LedgerPage:
    """One page of a validated query: by number (OFFSET) or after/before a cursor (keyset)."""
    keys = sort_keys(lq)
    fp = lq.fingerprint()
    dialect = session.get_bind().dialect.name
    query = ledger_select().add_columns(
        col(Problem.id).label("_id"), *[k.expr.label(f"_k{i}") for i, k in enumerate(keys)]
    )
    hits = search_hits(session, lq)
    query = query.where(*where(lq, today, hits, _common(session, lq)))
    n = lq.per_page
    if lq.cursor:
        cur = paging.decode(lq.cursor, keys, fp)
        reverse = not cur.forward
        query = query.where(paging.after(keys, cur.values, dialect, reverse)).order_by(*paging.order(keys, reverse))
        found = list(session.execute(query.limit(n + 1)))
        more, found = len(found) > n, found[:n]
        if reverse:
            found.reverse()
        has_prev, has_next = (more, True) if reverse else (True, more)
        position = max(1, cur.position)
    else:
        found = list(session.execute(query.order_by(*paging.order(keys)).limit(n + 1).offset((lq.page - 1) * n)))
        has_next, found = len(found) > n, found[:n]
        has_prev, position = lq.page > 1, lq.page
    total, exact = count(session, lq, today, hits)

    def cursor_at(r, forward: bool) -> str:
        values = tuple(getattr(r, f"_k{i}") for i in range(len(keys)))
        return paging.encode(keys, values, forward, max(1, position + (1 if forward else -1)), fp)

    out = LedgerPage(lq, [ledger_row(r, today, view) for r in found], total, position, total_exact=exact)
    if found:
        out.next_cursor = cursor_at(found[-1], True) if has_next else None
        out.prev_cursor = cursor_at(found[0], False) if has_prev else None
    if lq.q:
        terms = lq.terms
        out.bounded = terms.bounded and search.more_than_short_scan(session)
        docs = search.documents(session, [r._id for r in found])
        for row, r in zip(out.rows, found):
            row["rank"] = ("code", "title", "text")[r._k0]
            row["title_marks"] = search.segments(row["title"], terms.terms)
            row["snippet"] = search.snippet(docs.get(r._id, ""), terms.terms) if row["rank"] == "text" else []
    return out


def batches(session: Session, query, lq: LedgerQuery, today: date, size: int | None = None):
    """Every row of ``query`` (a select of problem columns) filtered and ordered by ``lq``, fetched ``size``
    rows at a time by keyset, so each batch costs the same and memory stays flat on a ledger of millions.
    ``lq`` must be validated. The rows carry the key columns ``_k0``… after the query's own."""
    keys = sort_keys(lq)
    size = size or BATCH
    dialect = session.get_bind().dialect.name
    conditions = where(lq, today, common=_common(session, lq))
    query = query.add_columns(*[k.expr.label(f"_k{i}") for i, k in enumerate(keys)]).where(*conditions)
    query = query.order_by(*paging.order(keys)).limit(size)
    last = None
    while True:
        step = query if last is None else query.where(paging.after(keys, last, dialect))
        found = list(session.execute(step))
        yield from found
        if len(found) < size:
            return
        last = tuple(getattr(found[-1], f"_k{i}") for i in range(len(keys)))


def rows(session: Session, lq: LedgerQuery, today: date, view: DirectoryView, limit: int | None = None) -> list[dict]:
    """Every row of a validated query (``duban list``), in its order."""
    out: list[dict] = []
    size = min(BATCH, limit) if limit else None
    for r in batches(session, ledger_select(), lq, today, size):
        out.append(ledger_row(r, today, view))
        if limit and len(out) >= limit:
            break
    return out


def browse(engine, actor_login: str | None, lq: LedgerQuery, today: date) -> LedgerPage:
    """A page of the ledger for a person's query (validated here; a bad filter raises naming the field)."""
    from models.db import reader
    from models.db import session as open_session
    from service import directory

    with open_session(reader(engine)) as s:
        view = directory.view(s)
        require(Manage.READ_LEDGER, view.actor(actor_login))
        return page(s, lq.validated(view), today, view)


def listing(engine, actor_login: str | None, lq: LedgerQuery, today: date, limit: int | None = None) -> list[dict]:
    """Every row of a person's query, in its order (``duban list``)."""
    from models.db import reader
    from models.db import session as open_session
    from service import directory

    with open_session(reader(engine)) as s:
        view = directory.view(s)
        require(Manage.READ_LEDGER, view.actor(actor_login))
        return rows(s, lq.validated(view), today, view, limit)


def filter_choices(engine) -> dict:
    """The choices of the ledger's filter form: states, levels, categories, severities, lights, units,
    projects and sorts, each as (value, label). Kept for the directory's version (a county's thousand
    projects sorted on every page view cost more than the page's query)."""
    from models.db import reader
    from models.db import session as open_session
    from service import directory

    with open_session(reader(engine)) as s:
        view = directory.view(s)
        return _CHOICES.get_or_make(s, "choices", (view.version,), lambda: _choices(view))


def _choices(view: DirectoryView) -> dict:
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


_CHOICES = write_stamp.StampedCache(size=1)
