"""``duban import-ledger``: read → check every row → (unless --dry-run or any error) write, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from models.db import session as open_session
from reports import ledger_write
from reports.ledger_import import Directory, plan_rows
from reports.ledger_read import Issue, read_ledger
from reports.read_limits import ReadLimits
from service import directory
from workflow.permissions import Manage, require
from workflow.rules import Rules


@dataclass
class ImportReport:
    source: str
    sheet: str = ""
    rows: int = 0
    blank_rows: int = 0
    created: int = 0
    events: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    dry_run: bool = False
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict:
        return {
            "file": self.source,
            "sheet": self.sheet,
            "rows": self.rows,
            "blank_rows": self.blank_rows,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "created": self.created,
            "events": self.events,
            "by_state": self.by_state,
            "skipped": [{"row": r, "code": c} for r, c in self.skipped],
            "errors": [i.as_dict() for i in self.issues],
            "warnings": [w.as_dict() for w in self.warnings],
        }


Progress = Callable[[str, int, int], None]  # (phase, advance, total)


def import_ledger(
    engine,
    rules: Rules,
    now: datetime,
    login: str,
    path: Path,
    dry_run: bool = False,
    progress: Progress | None = None,
    limits: ReadLimits | None = None,
) -> ImportReport:
    """``limits`` bound what the file may hold (size, rows, columns …); None: ``ReadLimits()``'s defaults."""
    tick = progress or (lambda phase, advance, total: None)
    sheet = read_ledger(path, lambda n: tick("read", n, None), limits)
    report = ImportReport(path.name, sheet.sheet, len(sheet.rows), sheet.blank_rows, dry_run=dry_run)
    with open_session(engine) as session, session.begin():
        actor = directory.view(session).actor(login)
        require(Manage.IMPORT_LEDGER, actor)
        d = Directory.load(session)
        check = plan_rows(sheet, d, rules, now, lambda n: tick("check", n, len(sheet.rows)))
        # The write itself is the last check: every transition is fired as the importing user. A dry run,
        # or any error anywhere, rolls the whole transaction back.
        events, refused = ledger_write.write(
            session, check.plans, actor, rules, now, path.name, lambda n: tick("write", n, len(check.plans))
        )
        report.issues = sorted(check.issues + refused, key=lambda i: i.row or 0)
        report.warnings, report.skipped = check.warnings, check.skipped
        failed = {i.row for i in refused}
        for plan in check.plans:
            if plan.number not in failed:
                report.by_state[plan.state.value] = report.by_state.get(plan.state.value, 0) + 1
        if report.issues or dry_run:
            session.rollback()
            return report
        report.created, report.events = sum(report.by_state.values()), events
    return report
