"""Keep ``Problem.state`` and ``Problem.level`` from being changed through the ORM (django-fsm's
``protected``), and audit events from being changed or deleted through it.

The product never writes those two columns through the ORM: ``service.persist`` applies a state machine
outcome with a Core UPDATE filtered on the version, and ``service.problems.create_problems`` inserts new
problems with Core. So any ORM code that sets either attribute is a shortcut around the machine and the
audit trail, and raises ``ProtectedField``. ``workflow_write()`` lifts the guard for code that builds rows by
hand on purpose: test fixtures and benchmarks. Loading rows from the database does not fire these listeners.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event

from models.tables import Attachment, Event, Inspection, Problem

_allowed: ContextVar[bool] = ContextVar("duban_workflow_write", default=False)


class ProtectedField(AttributeError):
    """Raised when code outside the workflow tries to change a problem's state or level."""


@contextmanager
def workflow_write():
    token = _allowed.set(True)
    try:
        yield
    finally:
        _allowed.reset(token)


def _refuse(target, value, oldvalue, initiator):
    if not _allowed.get():
        raise ProtectedField(f"Problem.{initiator.key} may only change through the workflow")
    return value


event.listen(Problem.state, "set", _refuse, retval=True)
event.listen(Problem.level, "set", _refuse, retval=True)


@event.listens_for(Event, "before_update")
def _events_are_append_only(mapper, connection, target):
    raise ProtectedField("audit events are append-only")


@event.listens_for(Event, "before_delete")
def _events_are_never_deleted(mapper, connection, target):
    raise ProtectedField("audit events are append-only")


def _evidence_is_append_only(mapper, connection, target):
    raise ProtectedField(f"{type(target).__tablename__} rows are part of the record: append-only")


# Evidence is part of the record: files and inspections are added, never changed or removed through the ORM.
for _table in (Attachment, Inspection):
    event.listen(_table, "before_update", _evidence_is_append_only)
    event.listen(_table, "before_delete", _evidence_is_append_only)
