"""What one ledger row is: the problem columns read for it (one table, no joins) and the dict a page, the
API, the dashboard and the reports get from them, named from the directory. ``service.ledger`` decides
which rows; this module, what each one holds."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import col

from models.tables import Problem
from service.directory import DirectoryView

# The problem columns ``row_dict`` reads, as plain Core rows (attribute access by name): a page of 50 rows
# without building ORM objects.
_ROW_COLUMNS = (
    col(Problem.code),
    col(Problem.title),
    col(Problem.category),
    col(Problem.severity),
    col(Problem.county_level),
    col(Problem.state),
    col(Problem.level),
    col(Problem.light),
    col(Problem.responsible_section),
    col(Problem.deadline),
    col(Problem.deadline_provisional),
    col(Problem.version),
    # Named through the directory (``ledger_row``), not joined: see ``ledger_select``.
    col(Problem.project_id),
    col(Problem.responsible_unit_id),
    col(Problem.responsible_person_id),
    col(Problem.leader_id),
)


def ledger_select():
    """The ledger's row: the problem's columns ``row_dict`` reads, with the ids of its project, unit and
    people. One table: ``ledger_row`` names them from the directory every process keeps (``directory.view``),
    so a page is read without five joins (planning them cost PostgreSQL 2–4 ms per query)."""
    return _LEDGER_SELECT


# SQLAlchemy's select: SQLModel's typed overloads stop at four columns. Built once: a Select is immutable
# (``where``, ``order_by``… return new ones), and a dashboard view asks for it half a dozen times.
_LEDGER_SELECT = sa.select(*_ROW_COLUMNS)


def ledger_row(r, today: date, view: DirectoryView) -> dict:
    """A row of ``ledger_select`` as the ledger's dict (``service.queries.row_dict``), named from ``view``
    (the directory as of the caller's transaction)."""
    from service.queries import row_dict

    project = view.project_by_id(r.project_id)
    unit = view.unit_by_id(r.responsible_unit_id)
    person, leader = view.user_by_id(r.responsible_person_id), view.user_by_id(r.leader_id)
    contracting = view.user_by_id(project.leader_id) if project else None
    return row_dict(
        r,
        project.name if project else "",
        unit.name if unit else None,
        person.name if person else None,
        leader.name if leader else None,
        contracting.name if contracting else None,
        today=today,
    )
