"""Statutory public holidays of a year the State Council has not yet scheduled (GUIDE §7). Pure: no I/O.

The law is 《全国年节及纪念日放假办法》 as amended by the State Council on 10 November 2024 (国务院令第795号,
in force from 1 January 2025). Its article 2 gives every citizen 13 days off:

- 元旦 1 day (1 January); 春节 4 days (农历除夕 and 正月初一 to 初三); 清明节 1 day (the 清明 solar-term day);
- 劳动节 2 days (1 and 2 May); 端午节 1 day (农历五月初五); 中秋节 1 day (农历八月十五);
- 国庆节 3 days (1 to 3 October).

Article 6 (current wording): "全体公民放假的假日，如果适逢周六、周日，应当在工作日补假。部分公民放假的假日，
如果适逢周六、周日，则不补假。" So a statutory day that falls on a Saturday or Sunday is owed a working day off.
The law does not say which one; the State Council nearly always gives it on the first working day(s) after
the holiday (2023-01-02 for 元旦 on a Sunday, 2025-06-02 for 端午 on a Saturday, 2026-04-06 for 清明 on a
Sunday), and so do we. Replaying this rule with the pre-2025 holidays over 2008–2024 puts 242 of 244 days
on a published holiday; the two misses are make-up days given elsewhere (2012: Friday 06-22 before 端午 on
Saturday 06-23; 2015: 中秋 on Sunday 09-27 made up with 国庆 on 10-06). Article 6 does not cover two festivals on one day, which happens when 中秋 falls on
1–3 October (2028, 2031, 2039, …); the State Council then gives the day back too (2020: 国庆 and 中秋 on
10-01, eight days off; its November 2024 notice: "国庆节放假如逢中秋节，则合并放假8天"), and so do we.

Article 7 (added in 2024) lets the State Council join holidays to weekends by swapping days (调休) so that
nobody works more than six days in a row around a holiday. Those swaps, and the bridging days they create,
are unknowable before the yearly notice (usually published in November), so they are not predicted here:
a calendar built on these days alone is a best guess and must stay marked provisional.

Lunar dates come from ``lunar-python`` (6tail, MIT). Compared with ``lunardate`` (LI Daobing):

- licence: lunar-python is MIT like duban; lunardate is GPL-3.0-or-later, which duban could not ship
  without taking on the GPL;
- range: lunardate is a table for lunar years 1900–2099 and raises outside it; lunar-python computes new
  moons and solar terms astronomically (the 寿星万年历 algorithm) with no hard upper year;
- upkeep: lunar-python has had ~75 releases (1.4.8, November 2025) and is one of a family of ports kept in
  step; lunardate has had 10 releases in 15 years (0.3.0, July 2026);
- correctness: both agree on every 春节/端午/中秋 of 1950–2099 except 中秋 1978, where lunar-python gives
  the official 1978-09-17 and lunardate 09-16; both match every published holiday of 2008–2026 in
  ``chinese_calendar``;
- cost: lunar-python needs ~15 ms per year (cached here), lunardate microseconds — irrelevant once cached.

清明 comes from ``chinese_calendar.get_solar_terms``, which covers 1900–2100 with the 寿星 formula and a
table of corrections. It agrees with lunar-python's astronomical 清明 for every year 2025–2099 and is wrong
for 2100 (the formula's 21st-century constants assume year % 100 > 0), hence the range 2025–2099.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from types import MappingProxyType

from workflow.errors import CalendarError

FIRST_YEAR, LAST_YEAR = 2025, 2099  # the 2024 amendment's first year; the last year 清明 is computed right

NEW_YEAR = "元旦"
SPRING_FESTIVAL = "春节"
QINGMING = "清明节"
LABOUR_DAY = "劳动节"
DRAGON_BOAT = "端午节"
MID_AUTUMN = "中秋节"
NATIONAL_DAY = "国庆节"
MAKE_UP = "（补假）"  # suffix of a day given back under article 6


def statutory_holidays(year: int) -> dict[date, str]:
    """Every statutory day off of ``year`` (2025–2099), make-up days (补假) included: date → name in Chinese.

    A day two festivals share is named after both (``"中秋节、国庆节"``); a make-up day after the festival
    it makes up for (``"端午节（补假）"``).
    """
    return dict(_holidays(year))


def is_statutory_holiday(day: date) -> bool:
    """Whether ``day`` is a statutory day off (or make-up day); CalendarError outside 2025–2099."""
    return day in _holidays(day.year)


@functools.cache
def _holidays(year: int) -> MappingProxyType[date, str]:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarError(
            f"年份「{year}」超出法定节假日推算范围，可推算 {FIRST_YEAR}–{LAST_YEAR} 年",
            field="year",
            value=year,
        )
    festivals = _festivals(year)
    owner: dict[date, list[str]] = {}
    for name, days in festivals:
        for day in days:
            owner.setdefault(day, []).append(name)
    table = {day: "、".join(names) for day, names in owner.items()}
    # Article 6: a festival day on a weekend, or on a day another festival already holds, is owed a
    # working day, given on the first free weekdays after that festival. Festivals ending first go first.
    for name, days in sorted(festivals, key=lambda item: item[1][-1]):
        owed = sum(1 for day in days if day.weekday() >= 5 or owner[day][0] != name)
        day = days[-1]
        while owed:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in table:
                table[day] = name + MAKE_UP
                owed -= 1
    return MappingProxyType(dict(sorted(table.items())))


def _festivals(year: int) -> list[tuple[str, list[date]]]:
    """Article 2's festivals of ``year`` in the article's order, each with its days in order."""
    new_year = _lunar(year, 1, 1)
    return [
        (NEW_YEAR, [date(year, 1, 1)]),
        (SPRING_FESTIVAL, [new_year + timedelta(days=n) for n in range(-1, 3)]),  # 除夕 is the eve of 初一
        (QINGMING, [_qingming(year)]),
        (LABOUR_DAY, [date(year, 5, 1), date(year, 5, 2)]),
        (DRAGON_BOAT, [_lunar(year, 5, 5)]),
        (MID_AUTUMN, [_lunar(year, 8, 15)]),
        (NATIONAL_DAY, [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]),
    ]


def _lunar(year: int, month: int, day: int) -> date:
    """The Gregorian date of a day of a (non-leap) lunar month of lunar year ``year``."""
    from lunar_python import Lunar  # ~50 ms to import: only when a year past the published ones is asked

    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    import chinese_calendar

    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
    return next(day for day, name in terms if name == "清明")
