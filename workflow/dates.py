"""Dates as people type them, and the window every date entering duban must fall in. Pure."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from workflow.calendar import add_months
from workflow.errors import InvalidValue

_CN_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*$")
_NUMERIC = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９－／", "0123456789-/")

# Every date a person or a file gives duban — a deadline, a simulated "now", a report period, a meeting, an
# imported cell — lies in these years. Outside them the data is a typo (0024 for 2024), or an attack on the
# date arithmetic (9999-12-31 + 1 day overflows); the calendar knows holidays up to 2099.
MIN_YEAR, MAX_YEAR = 2000, 2099


def in_window(value: date | int) -> bool:
    year = value if isinstance(value, int) else value.year
    return MIN_YEAR <= year <= MAX_YEAR


def check_window(value: date, label: str, field: str | None = None, shown: object = None) -> date:
    """``value`` if its year is within MIN_YEAR–MAX_YEAR; an InvalidValue naming ``label`` otherwise. The one
    check every entry point applies (``datetime`` is a ``date`` too)."""
    if in_window(value):
        return value
    text = shown if shown is not None else (value.isoformat() if isinstance(value, date) else value)
    raise InvalidValue(
        f"{label}「{text}」超出允许范围：年份应在 {MIN_YEAR}–{MAX_YEAR} 年之间",
        field=field,
        value=text,
        label=label,
    )


def check_year(year: int, label: str, field: str | None = None, shown: object = None) -> int:
    """A bare year (a report period's) checked against the same window."""
    if in_window(year):
        return year
    raise InvalidValue(
        f"{label}「{shown if shown is not None else year}」超出允许范围：年份应在 {MIN_YEAR}–{MAX_YEAR} 年之间",
        field=field,
        value=shown if shown is not None else year,
        label=label,
    )


def parse_date(text: object, label: str, field: str | None = None) -> date:
    """ISO dates, 2024/2/19, 2024年2月19日 and full-width digits, within the window; a Chinese error naming
    ``label`` otherwise."""
    if isinstance(text, datetime):
        return check_window(text.date(), label, field)
    if isinstance(text, date):
        return check_window(text, label, field)
    raw = str(text or "").strip().translate(_FULLWIDTH)
    m = _CN_DATE.match(raw) or _NUMERIC.match(raw)
    try:
        if m:
            value = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return check_window(value, label, field, shown=text)
    except ValueError:
        pass
    raise InvalidValue(
        f"{label}「{str(text)[:40]}」不是有效日期，应为 YYYY-MM-DD，如 2024-02-19",
        field=field,
        value=text,
        label=label,
    )


def latest_deadline(today: date, months: int = 0, days: int = 0) -> date:
    """The latest deadline a person may set on ``today``: ``months`` and ``days`` ahead (``[limits]
    max_deadline_ahead`` in the rules file), and never past the window's last day."""
    last = date(MAX_YEAR, 12, 31)
    try:
        limit = add_months(today, months) + timedelta(days=days)
    except (OverflowError, ValueError):
        return last
    return min(limit, last)


# An audit event whose business time and wall-clock time differ by more than this was entered with a
# simulated "now" (``--at``): the problem page, ``show`` and the ledger export show both times.
BACKDATE_TOLERANCE = timedelta(minutes=1)


def is_backdated(at: datetime | None, recorded_at: datetime | None) -> bool:
    """Whether an event's business time ``at`` is not when it was really written (``recorded_at``)."""
    if at is None or recorded_at is None:
        return False
    return abs(recorded_at - at) > BACKDATE_TOLERANCE
