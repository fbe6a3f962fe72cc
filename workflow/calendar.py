"""Working-day and month arithmetic under China's holiday schedule (GUIDE §3). Pure: no I/O.

Counting follows the Civil Code, arts. 201–203: the starting day is not counted; a period whose last
day is not a working day ends on the next working day; "N months" ends on the same date N months later,
or that month's last day when the date does not exist.

``chinese_calendar`` knows the State Council schedule for a range of years and raises
``NotImplementedError`` outside it. For any other year a day is a working day iff it is Monday–Friday
and not one of the statutory holidays the law itself fixes (``workflow.statutory``: 元旦, 春节, 清明, …
with their make-up days), unless the rules file lists it as a holiday or make-up workday. The weekend
days the State Council will swap in (调休) are unknown until its yearly notice, so every result that
relied on this fallback is marked provisional, and nobody mistakes a guessed deadline for a certain one.
"""

from __future__ import annotations

import calendar as _stdcal
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from workflow.errors import CalendarError
from workflow.statutory import is_statutory_holiday


class PeriodUnit(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    WORKDAYS = "workdays"
    MONTHS = "months"

    @property
    def label(self) -> str:
        return {"calendar_days": "天", "workdays": "个工作日", "months": "个月"}[self.value]


# Accepted spellings of each unit, English and Chinese.
_UNIT_WORDS = {
    PeriodUnit.CALENDAR_DAYS: ("calendar_days", "calendar_day", "days", "day", "天", "日", "自然日", "个自然日"),
    PeriodUnit.WORKDAYS: ("workdays", "workday", "working_days", "工作日", "个工作日"),
    PeriodUnit.MONTHS: ("months", "month", "月", "个月"),
}
_PERIOD_RE = re.compile(r"^\s*(\d+)\s*([A-Za-z_\u4e00-\u9fff]+)\s*$")
_ALLOWED_UNITS = "calendar_days（天）、workdays（工作日）、months（月）"


@dataclass(frozen=True)
class Period:
    amount: int
    unit: PeriodUnit

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``"3 workdays"``, ``"3个工作日"``, ``"7 calendar_days"``, ``"7天"``, ``"1 months"``, ``"1个月"``."""
        match = _PERIOD_RE.match(str(text).translate(_FULLWIDTH_DIGITS))
        if not match:
            raise CalendarError(
                f"期限「{text}」格式无效，应为「数字 单位」，如「3 workdays」「7天」「1个月」；单位可选：{_ALLOWED_UNITS}"
            )
        amount, word = int(match.group(1)), match.group(2)
        for unit, words in _UNIT_WORDS.items():
            if word in words:
                return cls(amount, unit)
        raise CalendarError(f"期限「{text}」的单位「{word}」无效，可选：{_ALLOWED_UNITS}")

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"

    @property
    def label(self) -> str:
        return f"{self.amount}{self.unit.label}"


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass(frozen=True)
class DueDate:
    """A computed date and whether it relied on the Monday–Friday fallback for an unknown year."""

    date: date
    provisional: bool = False


class WorkCalendar:
    """Answers "is this a working day?" and does period arithmetic.

    ``extra_holidays`` / ``extra_workdays`` override everything (local days off, a schedule published
    after the package was released). ``declared_years`` are years whose schedule the configuration lists
    in full, so results in them are not provisional even where the package does not know them.
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        declared_years: Iterable[int] = (),
        use_statutory: bool = True,
    ):
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self.declared_years = frozenset(declared_years)
        self.use_statutory = use_statutory
        self._cache: dict[date, tuple[bool, bool]] = {}
        # Period arithmetic is pure, and a sweep asks the same few questions thousands of times.
        self._steps: dict[tuple[date, int, int], DueDate] = {}
        self._next: dict[date, DueDate] = {}
        self.fingerprint = _fingerprint(self)

    # -- identity ----------------------------------------------------------------------------------
    # ``fingerprint``: 16 hex digits naming everything that decides whether a day is a working day (the
    # configured days and years, the statutory setting, the chinese-calendar release and this module's
    # fallback rules). A deadline stores the fingerprint it was computed with; when the rules file declares
    # a year, or the package is upgraded, the fingerprint changes and the sweep computes those deadlines
    # again (``service.recalc``).

    # -- single days -------------------------------------------------------------------------------

    def lookup(self, day: date) -> tuple[bool, bool]:
        """Return ``(is_workday, provisional)`` for one day."""
        hit = self._cache.get(day)
        if hit is None:
            hit = self._cache[day] = self._lookup(day)
        return hit

    def _lookup(self, day: date) -> tuple[bool, bool]:
        if day in self.extra_holidays:
            return False, False
        if day in self.extra_workdays:
            return True, False
        declared = day.year in self.declared_years
        if self.use_statutory and not declared:
            try:
                import chinese_calendar

                return bool(chinese_calendar.is_workday(day)), False
            except NotImplementedError:
                pass
            # Fallback: what the law fixes (statutory holidays and their make-up days); the swapped
            # weekend workdays of the year's notice are unknown, so the answer stays provisional.
            return day.weekday() < 5 and not _statutory_day_off(day), True
        # A declared year lists its holidays in full; without the package, Monday–Friday is the setting.
        return day.weekday() < 5, False

    def is_workday(self, day: date) -> bool:
        return self.lookup(day)[0]

    def is_known(self, day: date) -> bool:
        return not self.lookup(day)[1]

    def roll_forward(self, day: date) -> tuple[DueDate, bool]:
        """Civil Code art. 203: a deadline ends on a working day. ``day`` itself if it is one, else the
        next; the flag says whether it moved."""
        due = self.next_workday(day)
        return due, due.date != day

    # -- periods -----------------------------------------------------------------------------------

    def next_workday(self, day: date) -> DueDate:
        """``day`` itself if it is a working day, else the first working day after it."""
        hit = self._next.get(day)
        if hit is None:
            hit = self._next[day] = self._next_workday(day)
        return hit

    def _next_workday(self, day: date) -> DueDate:
        provisional = False
        for _ in range(400):
            workday, guessed = self.lookup(day)
            provisional |= guessed
            if workday:
                return DueDate(day, provisional)
            day += timedelta(days=1)
        raise CalendarError(f"{day} 之后一年内没有工作日，请检查日历配置中的节假日")

    def add(self, start: date, period: Period) -> DueDate:
        """The last day of ``period`` counted from ``start`` (the starting day itself is not counted)."""
        if period.amount < 0:
            raise CalendarError(f"期限「{period}」不能为负数")
        if period.unit is PeriodUnit.WORKDAYS:
            return self._step_workdays(start, period.amount, +1)
        try:
            if period.unit is PeriodUnit.CALENDAR_DAYS:
                end = start + timedelta(days=period.amount)
            else:
                end = add_months(start, period.amount)
        except (OverflowError, ValueError):
            raise CalendarError(f"期限「{period}」过长，超出可计算的日期范围") from None
        if period.amount == 0:
            return DueDate(start, not self.is_known(start))
        return self.next_workday(end)

    def before(self, end: date, period: Period) -> DueDate:
        """The day ``period`` before ``end`` (used for warning windows); not moved off holidays."""
        if period.amount < 0:
            raise CalendarError(f"期限「{period}」不能为负数")
        if period.unit is PeriodUnit.WORKDAYS:
            return self._step_workdays(end, period.amount, -1)
        try:
            if period.unit is PeriodUnit.CALENDAR_DAYS:
                day = end - timedelta(days=period.amount)
            else:
                day = add_months(end, -period.amount)
        except (OverflowError, ValueError):
            raise CalendarError(f"期限「{period}」过长，超出可计算的日期范围") from None
        return DueDate(day, not (self.is_known(day) and self.is_known(end)))

    def _step_workdays(self, day: date, count: int, direction: int) -> DueDate:
        key = (day, count, direction)
        hit = self._steps.get(key)
        if hit is None:
            hit = self._steps[key] = self._walk_workdays(day, count, direction)
        return hit

    def _walk_workdays(self, day: date, count: int, direction: int) -> DueDate:
        provisional = False
        remaining = count
        guard = 0
        while remaining > 0:
            day += timedelta(days=direction)
            workday, guessed = self.lookup(day)
            provisional |= guessed
            if workday:
                remaining -= 1
            guard += 1
            if guard > 366 * 10:
                raise CalendarError("工作日计算超出十年范围，请检查日历配置")
        if count == 0:
            provisional = not self.is_known(day)
        return DueDate(day, provisional)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


# Raise when the fallback for unpublished years changes what it answers (workflow.statutory), so deadlines
# computed with the old answers are computed again.
FALLBACK_RULES = "law-2024.1"


def _fingerprint(cal: WorkCalendar) -> str:
    try:
        import chinese_calendar

        package = getattr(chinese_calendar, "__version__", "?") if cal.use_statutory else "-"
    except ImportError:  # pragma: no cover - a declared dependency
        package = "none"
    parts = (
        FALLBACK_RULES,
        package,
        "statutory" if cal.use_statutory else "plain",
        ",".join(sorted(d.isoformat() for d in cal.extra_holidays)),
        ",".join(sorted(d.isoformat() for d in cal.extra_workdays)),
        ",".join(str(y) for y in sorted(cal.declared_years)),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _statutory_day_off(day: date) -> bool:
    """A statutory holiday or make-up day in a year the law's rules cover; False outside them."""
    try:
        return is_statutory_holiday(day)
    except CalendarError:
        return False


def add_months(day: date, months: int) -> date:
    """Same date ``months`` later (or earlier); the month's last day when that date does not exist."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = _stdcal.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))
