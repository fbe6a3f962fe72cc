"""Working-day and month arithmetic (workflow/calendar.py) against the real State Council schedule.

Pure unit tests: the real ``chinese_calendar`` package (it knows 2004–2026), no I/O. Dates are written
with their weekday and status so that a failure can be checked against the published schedule.
"""

from __future__ import annotations

import bisect
import re
from datetime import date, timedelta

import chinese_calendar
import pytest

from workflow.calendar import DueDate, Period, PeriodUnit, WorkCalendar, add_months
from workflow.errors import CalendarError, InvalidValue

D = date
WD, CD, MO = PeriodUnit.WORKDAYS, PeriodUnit.CALENDAR_DAYS, PeriodUnit.MONTHS


def P(text: str) -> Period:
    return Period.parse(text)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


# -- single days: the package's schedule, make-up weekends included ------------------------------------


@pytest.mark.parametrize(
    "day, workday",
    [
        (D(2024, 2, 4), True),  # Sunday, make-up workday before the Spring Festival
        (D(2024, 2, 8), True),  # Thursday
        (D(2024, 2, 9), True),  # Friday (除夕 was a workday in 2024)
        (D(2024, 2, 10), False),  # Saturday, Spring Festival
        (D(2024, 2, 12), False),  # Monday, Spring Festival
        (D(2024, 2, 16), False),  # Friday, Spring Festival
        (D(2024, 2, 17), False),  # Saturday, Spring Festival
        (D(2024, 2, 18), True),  # Sunday, make-up workday
        (D(2024, 9, 28), False),  # Saturday, ordinary weekend
        (D(2024, 9, 29), True),  # Sunday, make-up workday before National Day
        (D(2024, 10, 1), False),  # Tuesday, National Day
        (D(2024, 10, 7), False),  # Monday, National Day
        (D(2024, 10, 12), True),  # Saturday, make-up workday
        (D(2025, 9, 28), True),  # Sunday, make-up workday
        (D(2025, 10, 8), False),  # Wednesday, National Day + Mid-Autumn
        (D(2025, 10, 11), True),  # Saturday, make-up workday
    ],
)
def test_is_workday_follows_state_council_schedule(cal, day, workday):
    assert cal.is_workday(day) is workday
    assert cal.is_known(day)


def test_make_up_weekend_days_count_unlike_include_weekends_false(cal):
    """The mistake GUIDE §3 warns about: get_workdays(include_weekends=False) drops make-up weekends."""
    mistaken = chinese_calendar.get_workdays(D(2024, 2, 1), D(2024, 2, 29), include_weekends=False)
    assert D(2024, 2, 4) not in mistaken and D(2024, 2, 18) not in mistaken
    assert cal.is_workday(D(2024, 2, 4)) and cal.is_workday(D(2024, 2, 18))
    # One working day after Friday 2024-10-11 is the make-up Saturday, not Monday the 14th.
    assert cal.add(D(2024, 10, 11), P("1 workdays")) == DueDate(D(2024, 10, 12))
    # Two working days after Thursday 2024-02-08 end on the make-up Sunday 02-18.
    assert cal.add(D(2024, 2, 8), P("2 workdays")) == DueDate(D(2024, 2, 18))


def test_add_workdays_agrees_with_package_including_weekends(cal):
    """Cross-check every start day of 2024: the n-th working day after it, per the package."""
    workdays = chinese_calendar.get_workdays(D(2024, 1, 1), D(2025, 3, 31))  # include_weekends=True
    start = D(2024, 1, 1)
    while start.year == 2024:
        after = bisect.bisect_right(workdays, start)
        for n in (1, 2, 3, 5, 10, 20):
            assert cal.add(start, Period(n, WD)) == DueDate(workdays[after + n - 1]), (start, n)
        start += timedelta(days=1)


# -- GUIDE example and the two National Days -----------------------------------------------------------


def test_guide_example_spring_festival_2024(cal):
    # 02-09 workday (1), 02-10..17 holiday, Sunday 02-18 make-up (2), Monday 02-19 (3).
    assert cal.add(D(2024, 2, 8), P("3 workdays")) == DueDate(D(2024, 2, 19), provisional=False)
    assert cal.add(D(2024, 2, 8), P("3个工作日")).date == D(2024, 2, 19)


@pytest.mark.parametrize(
    "start, period, end",
    [
        (D(2024, 9, 28), "7 calendar_days", D(2024, 10, 8)),  # lands on 10-05 (holiday) → next workday
        (D(2024, 9, 26), "7天", D(2024, 10, 8)),  # 10-03 holiday
        (D(2024, 10, 1), "7 calendar_days", D(2024, 10, 8)),  # lands on 10-08 itself
        (D(2024, 9, 30), "1 workdays", D(2024, 10, 8)),
        (D(2024, 9, 27), "1 workdays", D(2024, 9, 29)),  # make-up Sunday
        (D(2024, 9, 27), "3 workdays", D(2024, 10, 8)),  # 09-29, 09-30, 10-08
        (D(2024, 9, 27), "7 workdays", D(2024, 10, 12)),  # …10-09, 10-10, 10-11, make-up Sat 10-12
        (D(2024, 10, 2), "1 workdays", D(2024, 10, 8)),  # starting inside the holiday
        # 2025: National Day + Mid-Autumn 10-01..10-08; make-up Sunday 09-28 and Saturday 10-11.
        (D(2025, 9, 26), "1 workdays", D(2025, 9, 28)),
        (D(2025, 9, 26), "2 workdays", D(2025, 9, 29)),
        (D(2025, 9, 30), "1 workdays", D(2025, 10, 9)),
        (D(2025, 9, 30), "3 workdays", D(2025, 10, 11)),
        (D(2025, 10, 10), "1 workdays", D(2025, 10, 11)),
        (D(2025, 9, 30), "7 calendar_days", D(2025, 10, 9)),  # 10-07 holiday → 10-09
        (D(2025, 9, 27), "1 calendar_days", D(2025, 9, 28)),  # the make-up Sunday is a valid last day
    ],
)
def test_add_across_national_day(cal, start, period, end):
    assert cal.add(start, P(period)) == DueDate(end, provisional=False)


@pytest.mark.parametrize(
    "start, end, count",
    [
        (D(2024, 9, 30), D(2024, 10, 8), 1),
        (D(2024, 9, 27), D(2024, 10, 12), 7),
        (D(2024, 9, 30), D(2024, 10, 7), 0),
        (D(2025, 9, 26), D(2025, 10, 12), 6),  # 09-28, 09-29, 09-30, 10-09, 10-10, 10-11
        (D(2024, 2, 8), D(2024, 2, 19), 3),
        (D(2024, 3, 4), D(2024, 3, 4), 0),
        (D(2024, 3, 8), D(2024, 3, 4), 0),  # end before start
        (D(2024, 3, 4), D(2024, 3, 5), 1),  # start not counted, end counted
    ],
)
def test_workdays_between(cal, start, end, count):
    assert cal.workdays_between(start, end) == count


def test_workdays_between_inverts_add(cal):
    for start in (D(2024, 2, 1), D(2024, 9, 25), D(2025, 9, 25), D(2026, 12, 20)):
        for n in (1, 3, 10):
            assert cal.workdays_between(start, cal.add(start, Period(n, WD)).date) == n


# -- Civil Code arts. 201–203 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, period, end",
    [
        (D(2024, 3, 4), "1 calendar_days", D(2024, 3, 5)),  # Monday → Tuesday: start day not counted
        (D(2024, 3, 4), "1 workdays", D(2024, 3, 5)),
        (D(2024, 3, 4), "7 calendar_days", D(2024, 3, 11)),
        (D(2024, 3, 4), "5 workdays", D(2024, 3, 11)),
        (D(2024, 3, 9), "1 workdays", D(2024, 3, 11)),  # from a Saturday
    ],
)
def test_start_day_not_counted(cal, start, period, end):
    assert cal.add(start, P(period)).date == end


@pytest.mark.parametrize("text", ["0 workdays", "0 calendar_days", "0 months"])
@pytest.mark.parametrize("start", [D(2024, 3, 4), D(2024, 2, 12)])  # a workday, a holiday
def test_zero_period_is_the_start_day(cal, text, start):
    assert cal.add(start, P(text)) == DueDate(start, provisional=False)
    assert cal.before(start, P(text)) == DueDate(start, provisional=False)


@pytest.mark.parametrize(
    "start, months, end",
    [
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2024, 3, 31), 1, D(2024, 4, 30)),
        (D(2024, 1, 15), 1, D(2024, 2, 15)),
        (D(2024, 12, 31), 2, D(2025, 2, 28)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 1, 31), 13, D(2025, 2, 28)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2024, 1, 15), -1, D(2023, 12, 15)),
        (D(2024, 5, 31), -3, D(2024, 2, 29)),
        (D(2023, 3, 31), -13, D(2022, 2, 28)),
        (D(2024, 1, 1), -12, D(2023, 1, 1)),
        (D(2024, 7, 31), 0, D(2024, 7, 31)),
    ],
)
def test_add_months(start, months, end):
    assert add_months(start, months) == end


@pytest.mark.parametrize(
    "start, period, end",
    [
        (D(2024, 1, 31), "1 months", D(2024, 2, 29)),  # Thursday, workday
        (D(2023, 1, 31), "1个月", D(2023, 2, 28)),  # Tuesday, workday
        (D(2024, 3, 31), "1 months", D(2024, 4, 30)),  # Tuesday, workday
        (D(2024, 9, 1), "1 months", D(2024, 10, 8)),  # 10-01 National Day → 10-08
        (D(2024, 3, 4), "1 months", D(2024, 4, 7)),  # 04-04 Qingming → make-up Sunday 04-07
        (D(2024, 8, 31), "1 months", D(2024, 9, 30)),  # Monday, workday
        (D(2024, 4, 30), "1 months", D(2024, 5, 30)),
    ],
)
def test_add_months_period_moves_off_holidays(cal, start, period, end):
    assert cal.add(start, P(period)) == DueDate(end, provisional=False)


@pytest.mark.parametrize(
    "start, period, end",
    [
        (D(2024, 2, 3), "7 calendar_days", D(2024, 2, 18)),  # 02-10 holiday → make-up Sunday 02-18
        (D(2024, 3, 2), "7 calendar_days", D(2024, 3, 11)),  # Saturday 03-09 → Monday
        (D(2024, 3, 3), "6 calendar_days", D(2024, 3, 11)),  # Saturday 03-09 → Monday
        (D(2024, 3, 4), "4 calendar_days", D(2024, 3, 8)),  # Friday: not moved
    ],
)
def test_end_on_a_holiday_moves_forward(cal, start, period, end):
    assert cal.add(start, P(period)).date == end


def test_next_workday(cal):
    assert cal.next_workday(D(2024, 3, 4)) == DueDate(D(2024, 3, 4))
    assert cal.next_workday(D(2024, 2, 10)) == DueDate(D(2024, 2, 18))
    assert cal.next_workday(D(2025, 10, 1)) == DueDate(D(2025, 10, 9))


# -- before(): warning windows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "end, period, start",
    [
        (D(2024, 2, 19), "3 workdays", D(2024, 2, 8)),  # inverse of the GUIDE example
        (D(2024, 2, 19), "1 workdays", D(2024, 2, 18)),  # make-up Sunday
        (D(2024, 2, 19), "2 workdays", D(2024, 2, 9)),  # skips the Spring Festival
        (D(2024, 10, 8), "1 workdays", D(2024, 9, 30)),
        (D(2024, 10, 8), "2 workdays", D(2024, 9, 29)),  # make-up Sunday
        (D(2024, 10, 14), "2 workdays", D(2024, 10, 11)),  # make-up Saturday 10-12 counts
        (D(2025, 10, 9), "1 workdays", D(2025, 9, 30)),
        (D(2024, 10, 8), "3 calendar_days", D(2024, 10, 5)),  # not moved off the holiday
        (D(2024, 3, 11), "2 calendar_days", D(2024, 3, 9)),  # a Saturday, not moved
        (D(2024, 3, 31), "1 months", D(2024, 2, 29)),
        (D(2024, 10, 8), "1 months", D(2024, 9, 8)),  # a Sunday, not moved
    ],
)
def test_before_for_warning_windows(cal, end, period, start):
    assert cal.before(end, P(period)) == DueDate(start, provisional=False)


# -- years the package does not know (2027+) ---------------------------------------------------------


def test_package_really_does_not_know_2027():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))


@pytest.mark.parametrize(
    "day, workday",
    [
        (D(2027, 1, 1), False),  # Friday, 元旦: a statutory holiday whatever the schedule will say
        (D(2027, 1, 2), False),
        (D(2027, 1, 3), False),
        (D(2027, 1, 4), True),
        (D(2027, 2, 5), False),  # Friday, 除夕 (腊月廿九)
        (D(2027, 2, 9), False),  # Tuesday, make-up day for 春节 days on the weekend (art. 6)
        (D(2027, 2, 11), True),  # Thursday: the notice may bridge it, but nothing in the law does
        (D(2027, 10, 1), False),  # Friday, 国庆
        (D(2027, 10, 4), False),  # Monday, make-up day for 10-02 and 10-03
        (D(2030, 6, 15), False),
    ],
)
def test_unknown_year_falls_back_to_monday_friday_less_statutory_holidays_provisionally(cal, day, workday):
    assert cal.is_workday(day) is workday
    assert cal.lookup(day) == (workday, True)
    assert not cal.is_known(day)


@pytest.mark.parametrize(
    "start, period, end",
    [
        (D(2026, 12, 30), "3 workdays", D(2027, 1, 5)),  # 12-31, (01-01 元旦), Mon 01-04, Tue 01-05
        (D(2026, 12, 28), "7 calendar_days", D(2027, 1, 4)),
        (D(2026, 12, 26), "7 calendar_days", D(2027, 1, 4)),  # Saturday 01-02 → Monday
        (D(2026, 12, 15), "1 months", D(2027, 1, 15)),
        (D(2027, 3, 1), "10 workdays", D(2027, 3, 15)),
        (D(2027, 3, 1), "1 months", D(2027, 4, 1)),
    ],
)
def test_deadline_in_2027_is_provisional(cal, start, period, end):
    assert cal.add(start, P(period)) == DueDate(end, provisional=True)


def test_deadline_inside_known_years_is_not_provisional(cal):
    assert cal.add(D(2026, 12, 24), P("3 workdays")) == DueDate(D(2026, 12, 29), provisional=False)
    assert cal.add(D(2026, 12, 20), P("7 calendar_days")) == DueDate(D(2026, 12, 28), provisional=False)


def test_before_and_between_in_2027_do_not_crash(cal):
    assert cal.before(D(2027, 1, 8), P("3 workdays")) == DueDate(D(2027, 1, 5), provisional=True)
    assert cal.before(D(2027, 1, 8), P("10 calendar_days")) == DueDate(D(2026, 12, 29), provisional=True)
    assert cal.before(D(2027, 2, 28), P("1 months")) == DueDate(D(2027, 1, 28), provisional=True)
    assert cal.workdays_between(D(2026, 12, 30), D(2027, 1, 8)) == 1 + 5  # 12-31; 01-04..01-08 (not 元旦)


def test_extra_days_apply_in_unknown_year_but_rest_stays_provisional():
    cal = WorkCalendar(extra_holidays=[D(2027, 1, 1)], extra_workdays=[D(2027, 2, 20)])
    assert cal.lookup(D(2027, 1, 1)) == (False, False)  # listed: certain
    assert cal.lookup(D(2027, 2, 20)) == (True, False)  # listed Saturday make-up: certain
    assert cal.lookup(D(2027, 1, 4)) == (True, True)  # not listed: guessed
    # 12-31, (01-01 holiday), 01-04, 01-05
    assert cal.add(D(2026, 12, 30), P("3 workdays")) == DueDate(D(2027, 1, 5), provisional=True)
    assert cal.add(D(2027, 2, 19), P("1 workdays")) == DueDate(D(2027, 2, 20), provisional=False)
    # A calendar-day period ending on the listed holiday moves on to a guessed day.
    assert cal.add(D(2026, 12, 25), P("7 calendar_days")) == DueDate(D(2027, 1, 4), provisional=True)


def test_declared_year_is_not_provisional():
    cal = WorkCalendar(extra_holidays=[D(2027, 1, 1)], extra_workdays=[D(2027, 2, 20)], declared_years=[2027])
    assert cal.is_known(D(2027, 1, 4)) and cal.is_known(D(2027, 6, 5))
    assert cal.is_workday(D(2027, 1, 4)) and not cal.is_workday(D(2027, 6, 5))
    assert cal.add(D(2026, 12, 30), P("3 workdays")) == DueDate(D(2027, 1, 5), provisional=False)
    assert cal.add(D(2027, 2, 19), P("1 workdays")) == DueDate(D(2027, 2, 20), provisional=False)
    assert cal.add(D(2027, 3, 1), P("1 months")) == DueDate(D(2027, 4, 1), provisional=False)
    assert cal.before(D(2027, 1, 8), P("3 workdays")) == DueDate(D(2027, 1, 5), provisional=False)
    # Other unknown years stay provisional.
    assert cal.add(D(2027, 12, 30), P("3 workdays")).provisional is True


@pytest.mark.parametrize(
    "holidays, workdays, day, workday",
    [
        ([D(2024, 3, 4)], [], D(2024, 3, 4), False),  # local day off on a Monday
        ([], [D(2024, 2, 12)], D(2024, 2, 12), True),  # a Spring Festival day made a workday
        ([], [D(2024, 3, 2)], D(2024, 3, 2), True),  # an ordinary Saturday made a workday
        ([D(2024, 2, 18)], [], D(2024, 2, 18), False),  # a make-up Sunday cancelled
    ],
)
def test_extra_days_override_the_package_in_known_years(holidays, workdays, day, workday):
    cal = WorkCalendar(extra_holidays=holidays, extra_workdays=workdays)
    assert cal.lookup(day) == (workday, False)


def test_extra_holiday_shifts_deadline_in_known_year():
    cal = WorkCalendar(extra_holidays=[D(2024, 3, 4)])
    assert cal.add(D(2024, 3, 1), P("1 workdays")).date == D(2024, 3, 5)
    assert cal.add(D(2024, 2, 26), P("7 calendar_days")).date == D(2024, 3, 5)
    assert WorkCalendar().add(D(2024, 3, 1), P("1 workdays")).date == D(2024, 3, 4)


@pytest.mark.parametrize(
    "day, workday",
    [
        (D(2024, 10, 1), True),  # National Day is a plain Tuesday without the package
        (D(2024, 10, 12), False),  # the make-up Saturday is a plain Saturday
        (D(2024, 2, 18), False),
        (D(2027, 1, 4), True),
        (D(2027, 1, 2), False),
    ],
)
def test_use_statutory_false_is_monday_friday_and_certain(day, workday):
    cal = WorkCalendar(use_statutory=False)
    assert cal.lookup(day) == (workday, False)


def test_use_statutory_false_still_applies_extra_days():
    cal = WorkCalendar(extra_holidays=[D(2024, 10, 1)], extra_workdays=[D(2024, 10, 12)], use_statutory=False)
    assert not cal.is_workday(D(2024, 10, 1))
    assert cal.is_workday(D(2024, 10, 12))
    assert cal.add(D(2024, 9, 30), P("1 workdays")) == DueDate(D(2024, 10, 2), provisional=False)


def test_far_future_never_crashes(cal):
    due = cal.add(D(2035, 12, 28), P("20 workdays"))
    assert due.provisional and due.date.year == 2036


def test_ten_workdays_from_2026_12_28_skip_new_year_2027(cal):
    """The 2026 part from the package's published schedule; 2027-01-01 (元旦) written here, not guessed."""
    counted = [
        d for d in chinese_calendar.get_dates(D(2026, 12, 29), D(2026, 12, 31)) if chinese_calendar.is_workday(d)
    ]
    day = D(2026, 12, 31)
    while len(counted) < 10:
        day += timedelta(days=1)
        if day.weekday() < 5 and day != D(2027, 1, 1):
            counted.append(day)
    assert D(2027, 1, 1) not in counted
    assert cal.add(D(2026, 12, 28), P("10 workdays")) == DueDate(counted[-1], provisional=True)
    assert cal.lookup(D(2027, 1, 1)) == (False, True)


def test_declared_year_does_not_use_the_statutory_guess():
    # A declared year lists its schedule in full: a guessed make-up day it does not list is a workday.
    cal = WorkCalendar(extra_holidays=[D(2027, 2, 5), D(2027, 2, 8)], declared_years=[2027])
    assert cal.lookup(D(2027, 2, 9)) == (True, False)
    assert cal.lookup(D(2027, 2, 8)) == (False, False)


def test_extra_workday_overrides_the_statutory_guess():
    cal = WorkCalendar(extra_workdays=[D(2027, 10, 4)])
    assert cal.lookup(D(2027, 10, 4)) == (True, False)
    assert cal.lookup(D(2027, 10, 5)) == (False, True)


def test_years_past_the_statutory_range_are_monday_friday(cal):
    assert cal.lookup(D(2100, 1, 1)) == (True, True)  # a Friday: no holiday computed past 2099
    assert cal.lookup(D(2100, 1, 2)) == (False, True)


def test_use_statutory_false_ignores_the_law_too():
    assert WorkCalendar(use_statutory=False).lookup(D(2027, 1, 1)) == (True, False)


@pytest.mark.parametrize(
    "day, rolled_to, rolled, provisional",
    [
        (D(2024, 10, 3), D(2024, 10, 8), True, False),  # National Day → first working day after it
        (D(2024, 10, 8), D(2024, 10, 8), False, False),
        (D(2024, 10, 12), D(2024, 10, 12), False, False),  # make-up Saturday is a working day
        (D(2024, 3, 9), D(2024, 3, 11), True, False),  # Saturday → Monday
        (D(2027, 1, 1), D(2027, 1, 4), True, True),  # 元旦 2027, guessed calendar
    ],
)
def test_roll_forward_ends_a_deadline_on_a_working_day(cal, day, rolled_to, rolled, provisional):
    assert cal.roll_forward(day) == (DueDate(rolled_to, provisional), rolled)


# -- bad periods in arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize("unit", list(PeriodUnit))
def test_add_rejects_negative_period(cal, unit):
    with pytest.raises(CalendarError, match="负数"):
        cal.add(D(2024, 3, 4), Period(-1, unit))


@pytest.mark.parametrize("unit", list(PeriodUnit))
def test_before_rejects_negative_period_like_add(cal, unit):
    # A negative warning window would silently put the "warning" day after the deadline.
    with pytest.raises(CalendarError, match="负数"):
        cal.before(D(2024, 3, 4), Period(-1, unit))


@pytest.mark.parametrize("text", ["99999999 calendar_days", "999999 months", "9999999 workdays"])
def test_absurd_period_raises_calendar_error_not_a_crash(cal, text):
    with pytest.raises(CalendarError):
        cal.add(D(2024, 3, 4), P(text))


# -- Period.parse -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, amount, unit",
    [
        ("3 workdays", 3, WD),
        ("3 workday", 3, WD),
        ("3 working_days", 3, WD),
        ("3工作日", 3, WD),
        ("3个工作日", 3, WD),
        ("3 个工作日", 3, WD),
        ("３个工作日", 3, WD),  # full-width digit
        ("１０ workdays", 10, WD),  # full-width digits
        ("10workdays", 10, WD),
        ("  3 workdays  ", 3, WD),
        ("0 workdays", 0, WD),
        ("7 calendar_days", 7, CD),
        ("7 calendar_day", 7, CD),
        ("7 days", 7, CD),
        ("1 day", 1, CD),
        ("7天", 7, CD),
        ("7日", 7, CD),
        ("7自然日", 7, CD),
        ("7个自然日", 7, CD),
        ("1 months", 1, MO),
        ("1 month", 1, MO),
        ("1月", 1, MO),
        ("1个月", 1, MO),
        ("12 months", 12, MO),
    ],
)
def test_period_parse_accepts(text, amount, unit):
    assert Period.parse(text) == Period(amount, unit)


@pytest.mark.parametrize(
    "period, text, label",
    [
        (Period(3, WD), "3 workdays", "3个工作日"),
        (Period(7, CD), "7 calendar_days", "7天"),
        (Period(1, MO), "1 months", "1个月"),
    ],
)
def test_period_str_round_trips_and_label_is_chinese(period, text, label):
    assert str(period) == text
    assert Period.parse(str(period)) == period
    assert Period.parse(period.label) == period
    assert period.label == label


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "workdays",
        "3",
        "3 weeks",
        "3 hours",
        "-1 days",
        "3.5 days",
        "3 work days",
        "三个工作日",
        "3 Workdays",
        "1 year",
    ],
)
def test_period_parse_rejects_with_chinese_message(text):
    with pytest.raises(CalendarError) as info:
        Period.parse(text)
    message = str(info.value)
    assert info.value.message == message
    assert isinstance(info.value, InvalidValue) and info.value.code == "calendar_error"
    assert re.search(r"[\u4e00-\u9fff]", message)
    assert f"「{text}」" in message  # names the bad text
    for allowed in ("calendar_days", "workdays", "months", "天", "工作日", "月"):
        assert allowed in message  # and the allowed units
