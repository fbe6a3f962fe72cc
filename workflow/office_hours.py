"""Office hours for delivery: notices go out only inside a send window on working days.

Pure: a ``SendWindow`` answers "may a notice go out at this moment?" and "when does the window open next?"
from the working-day calendar of the rules file; ``DeliveryRules`` adds the notice kinds marked urgent
(they bypass the window). The ``[delivery]`` table of the rules file is parsed here::

    [delivery]
    window = "08:30-18:00"   # local time (the calendar's time zone); the end is exclusive
    workdays_only = true     # false: every day of the week
    urgent = []              # notice kinds delivered at any hour, e.g. ["escalation"]

The sweep keeps its business timestamps; only delivery waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflow.calendar import WorkCalendar
from workflow.errors import RulesError

# Every kind of notice the workflow and the periodic jobs record (``notifications.kinds`` has their labels;
# a unit test keeps the two lists equal).
NOTICE_KINDS = (
    "assignment",
    "warning",
    "reminder",
    "overdue",
    "escalation",
    "review",
    "sent_back",
    "closed",
    "suspended",
    "resumed",
    "unassigned",
    "review_overdue",
    "recalculated",
    "reclassified",
    "digest",
    "dispatch",
    "letter",
    "letter_overdue",
    "decision",
    "assessment",
    "campaign",
)
DEFAULT_START = time(8, 30)
DEFAULT_END = time(18, 0)
_SEARCH_DAYS = 400  # a window that never opens within a year is a configuration error


@dataclass(frozen=True)
class SendWindow:
    """``start``–``end`` (local, end exclusive) on working days of ``calendar`` (every day unless
    ``workdays_only``). ``end == time(0)`` means midnight at the end of the day."""

    calendar: WorkCalendar
    tz: ZoneInfo
    start: time = DEFAULT_START
    end: time = DEFAULT_END
    workdays_only: bool = True

    def _day_open(self, day: date) -> bool:
        return not self.workdays_only or self.calendar.is_workday(day)

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.start, self.tz)
        end = datetime.combine(day + timedelta(days=1) if self.end == time(0) else day, self.end, self.tz)
        return start, end

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        if not self._day_open(local.date()):
            return False
        start, end = self._bounds(local.date())
        return start <= local < end

    def opened_at(self, moment: datetime) -> datetime | None:
        """When the window that is open at ``moment`` opened; None when it is closed."""
        if not self.is_open(moment):
            return None
        return self._bounds(moment.astimezone(self.tz).date())[0]

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself when the window is open, else the moment it next opens."""
        if self.is_open(moment):
            return moment
        day = moment.astimezone(self.tz).date()
        for _ in range(_SEARCH_DAYS):
            if self._day_open(day):
                start, _ = self._bounds(day)
                if start > moment:
                    return start
            day += timedelta(days=1)
        raise RulesError("发送时段在一年内都不会开启，请检查规则文件 [delivery] 与节假日设置")

    def label(self) -> str:
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        days = "工作日" if self.workdays_only else "每天"
        return f"{days} {self.start:%H:%M}–{end}"


@dataclass(frozen=True)
class DeliveryRules:
    """The send window and the kinds that bypass it."""

    window: SendWindow
    urgent: frozenset[str] = field(default_factory=frozenset)

    def may_send(self, kind: str, moment: datetime) -> bool:
        return kind in self.urgent or self.window.is_open(moment)

    def held_since(self, moment: datetime) -> datetime | None:
        """Notices created before this moment waited for the window (None when the window is closed)."""
        return self.window.opened_at(moment)


def default_delivery(calendar: WorkCalendar, tz: ZoneInfo) -> DeliveryRules:
    return DeliveryRules(SendWindow(calendar, tz))


def parse_window(text: str) -> tuple[time, time]:
    """``"08:30-18:00"`` → (08:30, 18:00); ``24:00`` as the end means midnight. Raises ValueError."""
    start_text, sep, end_text = text.replace("–", "-").partition("-")
    if not sep:
        raise ValueError(text)
    start = _clock(start_text)
    end = time(0) if end_text.strip() == "24:00" else _clock(end_text)
    if start == time(0) and end == time(0):
        return start, end
    if end != time(0) and end <= start:
        raise ValueError(text)
    return start, end


def _clock(text: str) -> time:
    hour, minute = (int(x) for x in text.strip().split(":"))
    return time(hour, minute)


def parse_delivery(reader, calendar: WorkCalendar, tz: ZoneInfo) -> DeliveryRules:
    """The ``[delivery]`` table; ``reader`` is ``workflow.rules._Reader`` (errors name the file and key)."""
    reader.only(("window", "workdays_only", "urgent"))
    text = reader.get("window", str, "08:30-18:00", "时段字符串，如「08:30-18:00」")
    try:
        start, end = parse_window(text)
    except ValueError:
        raise reader.fail(
            "window", f"的值「{text}」无效，应为「开始-结束」的 HH:MM，如「08:30-18:00」，结束晚于开始"
        ) from None
    urgent = reader.get("urgent", list, [], '通知类型数组，如 ["escalation"]')
    for i, kind in enumerate(urgent):
        if kind not in NOTICE_KINDS:
            raise reader.fail(f"urgent[{i}]", f"的值「{kind}」无效，可选：{'、'.join(NOTICE_KINDS)}")
    window = SendWindow(calendar, tz, start, end, reader.get("workdays_only", bool, True))
    return DeliveryRules(window, frozenset(urgent))
