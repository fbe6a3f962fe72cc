"""Export the ledger (问题台账) as a formatted Excel workbook or a UTF-8 CSV that Excel opens.

One Core query (no ORM objects, so 100k rows stream quickly) with the same filters as ``duban list``;
the workbook is written in openpyxl's write-only mode: a title row, a frozen bold header with an
autofilter, column widths, wrapped long text, real date cells, and the warning light as a coloured fill.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from copy import copy
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

from models.tables import Event, Problem, Project, Unit, User, table_of
from reports.columns import COLUMNS, HEADERS, col_letter, yes_no
from service import directory, ledger
from service.ledger import LedgerQuery
from workflow.actions import label as action_label
from workflow.dates import BACKDATE_TOLERANCE, is_backdated
from workflow.deadlines import is_overdue
from workflow.errors import InvalidValue
from workflow.permissions import Manage, require
from workflow.rules import Rules
from workflow.states import OPEN_STATES, Category, Level, Light, Rating, Severity, State

LIGHT_FILLS = {"red": ("FFC00000", "FFFFFFFF"), "yellow": ("FFFFD966", "FF000000"), "blue": ("FF9BC2E6", "FF000000")}
DATE_FORMAT = "yyyy-mm-dd"


def _query():
    """The export's columns (``service.ledger.batches`` filters and orders them by the ledger query)."""
    p, proj = table_of(Problem), table_of(Project)
    unit = table_of(Unit).alias("ru")
    q = sa.select(
        p.c.id,
        p.c.code,
        proj.c.name,
        p.c.title,
        p.c.category,
        p.c.severity,
        p.c.county_level,
        p.c.description,
        unit.c.name,
        p.c.responsible_person_id,
        p.c.leader_id,
        proj.c.leader_id,
        p.c.responsible_section,
        p.c.created_at,
        p.c.assigned_at,
        p.c.deadline,
        p.c.deadline_provisional,
        p.c.level,
        p.c.level_started_at,
        p.c.state,
        p.c.light,
        p.c.progress,
        p.c.suspended_at,
        p.c.resolution,
        p.c.resolved_at,
        p.c.closed_at,
        p.c.rating,
    ).select_from(p.join(proj, proj.c.id == p.c.project_id).outerjoin(unit, unit.c.id == p.c.responsible_unit_id))
    return q


_WIDTH = 27  # the columns of ``_query``; the keyset columns ``batches`` adds follow them


def person_labels(session) -> dict[int, str]:
    """User id → what the ledger shows: the name, or "name（login）" when two people share that name."""
    users = session.execute(sa.select(table_of(User).c.id, table_of(User).c.name, table_of(User).c.login)).all()
    seen = Counter(name for _, name, _ in users)
    return {uid: (name if seen[name] == 1 else f"{name}（{login}）") for uid, name, login in users}


def ledger_rows(session, rules: Rules, today: date, lq: LedgerQuery) -> Iterator[dict]:
    """The ledger as dicts keyed by column key; dates are ``date`` objects, enums are Chinese labels.
    ``lq`` must be validated (``LedgerQuery.validated``), so a bad filter is refused before any file opens.
    Rows are read in keyset batches (``service.ledger.batches``): flat memory however long the ledger."""
    return _rows(session, ledger.batches(session, _query(), lq, today), rules, today)


def backdated_notes(session, tz) -> dict[int, str]:
    """Problem id → its audit entries whose business time is not when they were written (a simulated
    "now"): "交办（记为 2024-02-08 09:00，实际录入 2026-12-09 14:03）". Usually none, so one filtered scan."""
    e: sa.Table = table_of(Event)
    skew: sa.ColumnElement
    if session.get_bind().dialect.name == "postgresql":
        skew = sa.func.abs(sa.extract("epoch", e.c.recorded_at - e.c.at))
    else:
        skew = sa.func.abs(sa.func.julianday(e.c.recorded_at) - sa.func.julianday(e.c.at)) * 86400
    rows = session.execute(
        sa.select(e.c.problem_id, e.c.action, e.c.at, e.c.recorded_at)
        .where(e.c.recorded_at.is_not(None), skew > BACKDATE_TOLERANCE.total_seconds())
        .order_by(e.c.problem_id, e.c.at, e.c.id)
    )
    notes: dict[int, list[str]] = {}
    for pid, action, at, recorded in rows:
        if not is_backdated(at, recorded):
            continue
        notes.setdefault(pid, []).append(
            f"{action_label(action)}（记为 {at.astimezone(tz):%Y-%m-%d %H:%M}，"
            f"实际录入 {recorded.astimezone(tz):%Y-%m-%d %H:%M}）"
        )
    return {pid: "；".join(parts) for pid, parts in notes.items()}


def _rows(session, result, rules: Rules, today: date) -> Iterator[dict]:
    people = person_labels(session)
    tz = rules.timezone
    backdated = backdated_notes(session, tz)

    def day(moment: datetime | None) -> date | None:
        return moment.astimezone(tz).date() if moment else None

    for seq, r in enumerate(result, start=1):
        (
            problem_id,
            code,
            project,
            title,
            category,
            severity,
            county_level,
            description,
            unit,
            person_id,
            leader_id,
            project_leader_id,
            section,
            created,
            assigned,
            deadline,
            provisional,
            level,
            level_started,
            state,
            light,
            progress,
            suspended,
            resolution,
            resolved,
            closed,
            rating,
        ) = r[:_WIDTH]
        routed = rules.initial_level(severity, county_level)
        closed_day, resolved_day = day(closed), day(resolved)
        rating_label = Rating(rating).label if rating else ""
        closing = ""
        if state == State.CLOSED:
            closing = f"{closed_day:%Y-%m-%d} 销号" + (f"，评价{rating_label}" if rating_label else "")
        elif state == State.REVIEW:
            closing = f"{resolved_day:%Y-%m-%d} 申请销号，待督查室审核"
        yield {
            "seq": seq,
            "code": code,
            "project": project,
            "title": title,
            "category": Category(category).label,
            "severity": Severity(severity).label,
            "county_level": yes_no(county_level),
            "description": description,
            "unit": unit or "",
            "person": people.get(person_id, ""),
            "leader": people.get(leader_id, ""),
            "project_leader": people.get(project_leader_id, ""),
            "section": section,
            "created": day(created),
            "assigned": day(assigned),
            "deadline": deadline,
            "provisional": "暂定" if provisional and deadline else "",
            "level": Level(level).label,
            "level_started": day(level_started) if level != routed and state != State.DISCOVERED else None,
            "state": State(state).label,
            "light": Light(light).label,
            "progress": progress,
            "suspended": day(suspended) if state == State.SUSPENDED else None,
            "resolution": resolution if state in (State.REVIEW, State.CLOSED) else "",
            "resolved": resolved_day if state in (State.REVIEW, State.CLOSED) else None,
            "closed": closed_day if state == State.CLOSED else None,
            "rating": rating_label if state == State.CLOSED else "",
            "closing": closing,
            "backdated": backdated.get(problem_id, ""),
            "_light": light,
            "_overdue": is_overdue(state, deadline, today),
            "_open": state in OPEN_STATES,
        }


def export_ledger(
    engine, rules: Rules, now: datetime, path: Path, lq: LedgerQuery, actor_login: str | None, progress=None
) -> int:
    """Write the ledger (filtered by ``lq``) to ``path`` (.xlsx or .csv); returns the number of problems.
    Any active user may export what they may read."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidValue(f"导出文件「{path.name}」的扩展名应为 .xlsx 或 .csv", field="path", value=path.name)
    if not path.parent.exists():
        raise InvalidValue(f"导出目录「{path.parent}」不存在", field="path", value=str(path.parent))
    today = now.astimezone(rules.timezone).date()
    from models.db import reader
    from models.db import session as open_session

    tmp = path.with_name(f".{path.name}.part")
    try:
        with open_session(reader(engine)) as session:  # a read transaction: writers are not held up
            view = directory.view(session)
            require(Manage.READ_LEDGER, view.actor(actor_login))
            lq = lq.validated(view)
            if progress:
                total = session.execute(
                    sa.select(sa.func.count()).select_from(Problem).where(*ledger.where(lq, today))
                ).scalar_one()
                progress(0, total)
            rows = ledger_rows(session, rules, today, lq)
            if suffix == ".csv":
                count = _write_csv(tmp, rows, progress)
            else:
                count = _write_xlsx(tmp, rows, now, rules, lq.describe(view), progress)
        tmp.replace(path)  # never leave a half-written file under the real name
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _write_csv(path: Path, rows, progress) -> int:
    from reports.cells import csv_cell

    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # the BOM makes Excel read UTF-8
        writer = csv.writer(f)
        writer.writerow([csv_cell(h) for h in HEADERS])
        keys = [c.key for c in COLUMNS]
        for row in rows:
            # Every cell through csv_cell: a title such as "=HYPERLINK(…)" must stay text (reports/cells.py).
            writer.writerow(
                [
                    "" if row[k] is None else csv_cell(row[k].isoformat() if isinstance(row[k], date) else str(row[k]))
                    for k in keys
                ]
            )
            count += 1
            if progress and count % 1000 == 0:
                progress(1000, None)
    return count


TITLE = "阳城县项目建设问题台账"


def _write_xlsx(path: Path, rows, now: datetime, rules: Rules, filters: str, progress) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.properties import PageSetupProperties

    from reports.cells import xlsx_cell, xlsx_text

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("问题台账")
    ncol = len(COLUMNS)
    for i, c in enumerate(COLUMNS):
        ws.column_dimensions[col_letter(i)].width = c.width
    ws.freeze_panes = "D3"  # the title and header rows, and 序号/编号/项目, stay in view
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "8"  # A3
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0

    local = now.astimezone(rules.timezone)
    subtitle = f"（截至 {local:%Y年%m月%d日 %H:%M}" + (f"；{filters}" if filters else "") + "）"
    title = xlsx_text(ws, TITLE + subtitle)
    title.font = Font(bold=True, size=14)
    ws.append([title])

    thin = Side(style="thin", color="FF999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="FFD9E1F2")
    header = []
    for c in COLUMNS:
        cell = xlsx_text(ws, c.header)
        cell.font, cell.fill, cell.border = Font(bold=True), head_fill, border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        header.append(cell)
    ws.append(header)

    # Styling a cell registers its font, fill, border and alignment in the workbook: most of openpyxl's
    # cost. So each distinct style is built once on a template cell and its style array copied to each cell.
    wrap = Alignment(vertical="top", wrap_text=True)
    top = Alignment(vertical="top")
    light_fill = {
        k: (PatternFill("solid", fgColor=bg), Font(bold=True, color=fg)) for k, (bg, fg) in LIGHT_FILLS.items()
    }
    overdue_font = Font(color="FFC00000", bold=True)

    def style(kind: str, font=None, fill=None):
        cell = WriteOnlyCell(ws)
        cell.border = border
        cell.alignment = wrap if kind == "wrap" else top
        if kind == "date":
            cell.number_format = DATE_FORMAT
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        return cell._style

    plain = [style(c.kind) for c in COLUMNS]
    late_deadline = style("date", overdue_font)
    lights = {k: style("text", font, fill) for k, (fill, font) in light_fill.items()}
    keys = [c.key for c in COLUMNS]
    deadline_at, light_at = keys.index("deadline"), keys.index("light")
    count = 0
    for row in rows:
        out = []
        for i, key in enumerate(keys):
            cell = xlsx_cell(ws, row[key])  # strings as text, never formulas (reports/cells.py)
            cell._style = copy(plain[i])
            out.append(cell)
        if row["_overdue"]:
            out[deadline_at]._style = copy(late_deadline)
        if row["_light"] in lights:
            out[light_at]._style = copy(lights[row["_light"]])
        ws.append(out)
        count += 1
        if progress and count % 1000 == 0:
            progress(1000, None)
    ws.auto_filter.ref = f"A2:{col_letter(ncol - 1)}{count + 2}"
    wb.save(path)
    return count
