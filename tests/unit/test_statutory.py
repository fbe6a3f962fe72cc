"""Statutory holidays computed from the law (workflow/statutory.py) against published schedules and known dates.

For the published years the expectation comes from ``chinese_calendar`` (the State Council's schedules as
released); for later years the dates are written here from almanacs, not from the code under test.
"""

from __future__ import annotations

from datetime import date

import chinese_calendar
import pytest
from lunar_python import Lunar, Solar

from workflow.errors import CalendarError
from workflow.statutory import is_statutory_holiday, statutory_holidays

pytestmark = pytest.mark.unit

D = date
# chinese_calendar's English names of the festivals, to check each day is given for the right one.
PUBLISHED_NAME = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Tomb-sweeping Day",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-autumn Festival",
    "国庆节": "National Day",
}


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_is_a_holiday_of_that_festival_in_the_published_schedule(year):
    days = statutory_holidays(year)
    assert len([n for n in days.values() if "补假" not in n]) == 13  # article 2: 13 days
    for day, name in days.items():
        assert day.year == year
        assert chinese_calendar.is_holiday(day) and not chinese_calendar.is_workday(day), (day, name)
        on_holiday, published = chinese_calendar.get_holiday_detail(day)
        festival = name.removesuffix("（补假）")
        if day.weekday() < 5:  # the package names weekday holidays; weekend days only sometimes
            assert published == PUBLISHED_NAME[festival], (day, name, published)


@pytest.mark.parametrize("year", [2025, 2026])
def test_make_up_days_are_owed_for_weekend_festival_days(year):
    days = statutory_holidays(year)
    weekend = [d for d, n in days.items() if "补假" not in n and d.weekday() >= 5]
    make_up = [d for d, n in days.items() if "补假" in n]
    assert len(make_up) == len(weekend) and all(d.weekday() < 5 for d in make_up)


def test_2026_make_up_days_are_the_published_ones():
    # 清明 on Sunday 04-05, 劳动节 02 on Saturday, 国庆 03 on Saturday: the first weekday after each.
    days = statutory_holidays(2026)
    assert {d for d, n in days.items() if "补假" in n} == {D(2026, 4, 6), D(2026, 5, 4), D(2026, 10, 5)}
    assert all(chinese_calendar.is_holiday(d) for d in (D(2026, 4, 6), D(2026, 5, 4), D(2026, 10, 5)))


def test_2027_from_known_dates():
    assert statutory_holidays(2027) == {
        D(2027, 1, 1): "元旦",
        D(2027, 2, 5): "春节",  # 除夕 (腊月廿九), Friday
        D(2027, 2, 6): "春节",  # 正月初一, Saturday
        D(2027, 2, 7): "春节",  # Sunday
        D(2027, 2, 8): "春节",  # 初三, Monday
        D(2027, 2, 9): "春节（补假）",
        D(2027, 2, 10): "春节（补假）",
        D(2027, 4, 5): "清明节",  # Monday
        D(2027, 5, 1): "劳动节",  # Saturday
        D(2027, 5, 2): "劳动节",  # Sunday
        D(2027, 5, 3): "劳动节（补假）",
        D(2027, 5, 4): "劳动节（补假）",
        D(2027, 6, 9): "端午节",  # Wednesday
        D(2027, 9, 15): "中秋节",  # Wednesday
        D(2027, 10, 1): "国庆节",  # Friday
        D(2027, 10, 2): "国庆节",
        D(2027, 10, 3): "国庆节",
        D(2027, 10, 4): "国庆节（补假）",
        D(2027, 10, 5): "国庆节（补假）",
    }


def test_new_year_eve_on_the_29th_of_the_twelfth_month():
    # 2027 has no 腊月三十: 除夕 is 廿九, Friday 2027-02-05, and 正月初一 is the next day.
    eve = Solar.fromYmd(2027, 2, 5).getLunar()
    assert (eve.getMonth(), eve.getDay()) == (12, 29)
    first = Solar.fromYmd(2027, 2, 6).getLunar()
    assert (first.getMonth(), first.getDay()) == (1, 1)
    days = statutory_holidays(2027)
    assert days[D(2027, 2, 5)] == "春节" and D(2027, 2, 4) not in days


def test_new_year_eve_on_the_30th_when_the_month_has_30_days():
    # 2030: 腊月 has 30 days, 除夕 is 腊月三十 = Saturday 2030-02-02 (正月初一 Sunday 02-03).
    eve = Solar.fromYmd(2030, 2, 2).getLunar()
    assert (eve.getMonth(), eve.getDay()) == (12, 30)
    days = statutory_holidays(2030)
    assert [d for d, n in days.items() if n == "春节"] == [D(2030, 2, 2), D(2030, 2, 3), D(2030, 2, 4), D(2030, 2, 5)]
    assert [d for d, n in days.items() if n == "春节（补假）"] == [D(2030, 2, 6), D(2030, 2, 7)]


def test_mid_autumn_on_national_day_is_given_back_2028():
    # 2028: 中秋 is Tuesday 10-03; 10-01 is a Sunday. 元旦 on Saturday is made up on Monday 01-03.
    days = statutory_holidays(2028)
    assert days[D(2028, 10, 3)] == "中秋节、国庆节"
    assert days[D(2028, 10, 4)] == days[D(2028, 10, 5)] == "国庆节（补假）"
    assert D(2028, 10, 6) not in days
    assert days[D(2028, 1, 1)] == "元旦" and days[D(2028, 1, 3)] == "元旦（补假）"
    assert len([n for n in days.values() if "补假" not in n]) == 12  # 13 festival days on 12 dates


def test_qingming_from_chinese_calendar_agrees_with_lunar_python_astronomy():
    for year in range(2025, 2100):
        table = Lunar.fromYmd(year, 3, 1).getJieQiTable()
        solar = table["清明"]
        expected = D(solar.getYear(), solar.getMonth(), solar.getDay())
        assert statutory_holidays(year)[expected].startswith("清明节"), year


@pytest.mark.parametrize("year", [2024, 2100, 1999, 0])
def test_years_outside_the_range_raise(year):
    with pytest.raises(CalendarError) as info:
        statutory_holidays(year)
    err = info.value
    assert err.field == "year" and err.value == str(year)
    assert f"「{year}」" in err.message and "2025" in err.message and "2099" in err.message


def test_result_is_a_fresh_dict_each_time():
    first = statutory_holidays(2027)
    first.clear()
    assert statutory_holidays(2027)[D(2027, 1, 1)] == "元旦"


def test_is_statutory_holiday():
    assert is_statutory_holiday(D(2027, 10, 5))
    assert not is_statutory_holiday(D(2027, 10, 6))
    with pytest.raises(CalendarError):
        is_statutory_holiday(D(2100, 1, 1))
