"""The inspection office's settings in the rules file: the 督办函 (``[letters]``), the monthly assessment
(``[assessment]``) and the campaigns (``[[campaigns]]``). Pure; ``workflow.rules`` calls the parsers with
its key-path-aware reader, so every error names the file, the key and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from workflow.calendar import Period, PeriodUnit, WorkCalendar
from workflow.errors import InvalidValue
from workflow.states import Rating, UnitKind

# -- the 督办函 -----------------------------------------------------------------------------------------

# What GB/T 9704 forbids in a 机关代字: it is followed by 〔year〕 and the serial, so no digits or brackets.
_PREFIX_FORBIDDEN = re.compile(r"[\s\d〔〕\[\]［］【】（）()第号]|[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class LetterSettings:
    """How the office writes its 督办函. Numbers are ``{prefix}〔{year}〕{serial}号`` (GB/T 9704: the year in
    六角括号, the serial from 1 each year, no leading zeros, no 第)."""

    prefix: str = "阳督函"  # 机关代字
    organ_mark: str = "阳城县人民政府督查室"  # 发文机关标志
    signatory: str = ""  # 署名; empty: the organ mark
    report_to: str = ""  # where the unit reports; empty: the signatory
    contact: str = ""  # 联系人 (附注)
    phone: str = ""  # 联系电话 (附注)
    copy_to: tuple[str, ...] = ()  # 抄送 units
    sign: bool = True  # an inspector signs (签发) each letter before it goes out
    sealed: bool = True  # 加盖印章: the dated signature leaves room for the seal


def parse_letters(t: Any) -> LetterSettings:
    t.only(("prefix", "organ_mark", "signatory", "report_to", "contact", "phone", "copy_to", "sign", "sealed"))
    d = LetterSettings()
    prefix = t.get("prefix", str, d.prefix).strip()
    if not prefix or _PREFIX_FORBIDDEN.search(prefix):
        raise t.fail(
            "prefix", f"的值「{prefix}」无效：机关代字不能为空，不能含空格、数字、括号或「第」「号」，如「阳督函」"
        )
    organ = t.get("organ_mark", str, d.organ_mark).strip()
    if not organ:
        raise t.fail("organ_mark", "不能为空：发文机关标志，如「阳城县人民政府督查室」")
    copy_to = t.get("copy_to", list, [], '单位名称数组，如 ["县委督查室"]')
    for i, unit in enumerate(copy_to):
        if not isinstance(unit, str) or not unit.strip():
            raise t.fail(f"copy_to[{i}]", "应为单位名称（抄送机关是单位，不是个人）")
    return LetterSettings(
        prefix=prefix,
        organ_mark=organ,
        signatory=t.get("signatory", str, "").strip(),
        report_to=t.get("report_to", str, "").strip(),
        contact=t.get("contact", str, "").strip(),
        phone=t.get("phone", str, "").strip(),
        copy_to=tuple(u.strip() for u in copy_to),
        sign=t.get("sign", bool, True),
        sealed=t.get("sealed", bool, True),
    )


def period_words(period: Period) -> str:
    """How a 督办函 words a period: "1日内", "3个工作日内", "1个月内"."""
    unit = {PeriodUnit.CALENDAR_DAYS: "日", PeriodUnit.WORKDAYS: "个工作日", PeriodUnit.MONTHS: "个月"}[period.unit]
    return f"{period.amount}{unit}内"


# -- the monthly assessment (考核) ------------------------------------------------------------------------

# key → (label, kind). A rate or an average scores its value on 0–100; a count scores 100 − penalty × count.
INDICATORS: dict[str, tuple[str, str]] = {
    "on_time_closure": ("按期办结率", "rate"),
    "feedback_timeliness": ("反馈及时率", "rate"),
    "closing_rating": ("销号评价", "average"),
    "escalations": ("超期升级次数", "count"),
    "overdue_days": ("超期工作日", "count"),
    "send_backs": ("销号退回次数", "count"),
}
_DEFAULT_WEIGHTS = {
    "on_time_closure": 30,
    "feedback_timeliness": 20,
    "closing_rating": 20,
    "escalations": 10,
    "overdue_days": 10,
    "send_backs": 10,
}
_DEFAULT_PENALTY = {"escalations": 25.0, "overdue_days": 5.0, "send_backs": 20.0}
_DEFAULT_RATINGS = {Rating.EXCELLENT: 100.0, Rating.GOOD: 85.0, Rating.PASS: 70.0, Rating.FAIL: 0.0}
_DEFAULT_GROUPS = {UnitKind.TOWN: "乡镇", UnitKind.ZONE: "开发区", UnitKind.DEPARTMENT: "县直部门"}


@dataclass(frozen=True)
class IndicatorRule:
    key: str
    weight: float
    penalty: float = 0.0  # points off 100 per counted item (counts only)

    @property
    def label(self) -> str:
        return INDICATORS[self.key][0]

    @property
    def kind(self) -> str:
        return INDICATORS[self.key][1]


def _default_indicators() -> tuple[IndicatorRule, ...]:
    return tuple(IndicatorRule(k, float(w), _DEFAULT_PENALTY.get(k, 0.0)) for k, w in _DEFAULT_WEIGHTS.items())


@dataclass(frozen=True)
class AssessmentRules:
    """The monthly 考核 of problem handling. The month ``YYYY-MM`` covers the days from ``day`` of the month
    before through the day before ``day`` of that month; it runs on ``day`` (moved to the next working day)
    at ``at``."""

    day: int = 25
    at: time = time(8, 0)
    total: float = 100.0  # the weights must add up to this
    bottom: int = 3  # how many places at the foot of each group the consequence names
    consequence: str = ""  # e.g. "由分管处级领导进行约谈"; empty: none
    groups: dict[str, str] = field(default_factory=lambda: {k.value: v for k, v in _DEFAULT_GROUPS.items()})
    indicators: tuple[IndicatorRule, ...] = field(default_factory=_default_indicators)
    ratings: dict[str, float] = field(default_factory=lambda: {k.value: v for k, v in _DEFAULT_RATINGS.items()})

    def group_of(self, unit_kind: str) -> str | None:
        """The group a unit of ``unit_kind`` is ranked in; None: not assessed."""
        return self.groups.get(unit_kind)


def _number(t: Any, key: str, default: float | None = None) -> float:
    if key not in t.data and default is not None:
        return default
    value = t.data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = "（缺失）" if key not in t.data else f"「{value}」"
        raise t.fail(key, f"的值{shown}不是数字，应为不小于 0 的数，如 30 或 12.5")
    if value < 0:
        raise t.fail(key, f"的值「{value}」不能小于 0")
    return float(value)


def parse_assessment(t: Any) -> AssessmentRules:
    t.only(("day", "at", "total", "bottom", "consequence", "groups", "indicators", "ratings"))
    d = AssessmentRules()
    day = t.get("day", int, d.day, "每月几号（1 到 28 的整数）")
    if not 1 <= day <= 28:
        raise t.fail("day", f"的值「{day}」无效，应为 1 到 28 之间的整数（每月几号）")
    bottom = t.get("bottom", int, d.bottom, "整数")
    if bottom < 0:
        raise t.fail("bottom", f"的值「{bottom}」不能小于 0")
    total = _number(t, "total", d.total)
    if total <= 0:
        raise t.fail("total", f"的值「{total:g}」必须大于 0")

    groups = dict(d.groups)
    if "groups" in t.data:
        g = t.table("groups")
        g.only(tuple(k.value for k in UnitKind))
        groups = {}
        for kind in UnitKind:
            name = g.get(kind.value, str, "").strip()
            if name:
                groups[kind.value] = name

    indicators = d.indicators
    if "indicators" in t.data:
        it = t.table("indicators")
        it.only(tuple(INDICATORS))
        out = []
        for key in INDICATORS:
            if key not in it.data:
                continue
            one = it.table(key)
            one.only(("weight", "penalty") if INDICATORS[key][1] == "count" else ("weight",))
            weight = _number(one, "weight")
            penalty = _number(one, "penalty", _DEFAULT_PENALTY.get(key, 0.0)) if INDICATORS[key][1] == "count" else 0.0
            out.append(IndicatorRule(key, weight, penalty))
        if not out:
            raise it.fail("", "至少要设置一个指标")
        indicators = tuple(out)
    weights = sum(i.weight for i in indicators)
    if abs(weights - total) > 1e-6:
        shown = "、".join(f"{i.key} {i.weight:g}" for i in indicators)
        raise t.fail("indicators", f"的权重之和为 {weights:g}（{shown}），应等于 total = {total:g}")

    ratings = dict(d.ratings)
    if "ratings" in t.data:
        r = t.table("ratings")
        r.only(tuple(x.value for x in Rating))
        ratings = {x.value: _number(r, x.value, d.ratings[x.value]) for x in Rating}
    return AssessmentRules(
        day=day,
        at=t.clock("at", "08:00"),
        total=total,
        bottom=bottom,
        consequence=t.get("consequence", str, "").strip(),
        groups=groups,
        indicators=indicators,
        ratings=ratings,
    )


# -- campaigns (专项行动) ------------------------------------------------------------------------------------

_TARGET_WORDS = ("全部", "全部解决", "力争全部解决", "all")


@dataclass(frozen=True)
class Campaign:
    """A campaign: problems logged from ``start`` through ``end`` (or included by hand) belong to it;
    ``target`` is the share of them to close by ``end``, in percent."""

    name: str
    start: date
    end: date
    target: int = 100
    source: str = "rules"  # "rules" (the rules file) or "database" (added later)

    @property
    def target_label(self) -> str:
        return "力争全部解决" if self.target == 100 else f"销号率达到{self.target}%"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def days_left(self, today: date) -> int:
        """Days from ``today`` to the end (0 on the last day and after it)."""
        return max((self.end - today).days, 0)

    def ended(self, today: date) -> bool:
        return today > self.end


def parse_target(value: object, field: str = "target") -> int:
    """A campaign's target: a percentage (``90``, ``"90%"``) or 全部解决 (100)."""
    text = str(value).strip().rstrip("%％")
    if text in _TARGET_WORDS:
        return 100
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 100:
        return int(text)
    raise InvalidValue(
        f"目标「{value}」无效，应为 1 到 100 的销号率（%），或「全部解决」", field=field, value=value, label="目标"
    )


def check_campaign(name: str, start: date, end: date) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise InvalidValue(f"行动名称「{name}」无效，应为 1 到 64 个字", field="name", value=name, label="行动名称")
    if end < start:
        raise InvalidValue(f"结束日期 {end} 早于开始日期 {start}", field="end", value=end.isoformat(), label="结束日期")
    return name


def parse_campaigns(top: Any) -> tuple[Campaign, ...]:
    out: list[Campaign] = []
    for i, item in enumerate(top.get("campaigns", list, [], "表数组（[[campaigns]]）")):
        if not isinstance(item, dict):
            raise top.fail(f"campaigns[{i}]", "应为一个表")
        c = type(top)(top.source, item, f"campaigns[{i}].")
        c.only(("name", "start", "end", "target"))
        start, end = _date(c, "start"), _date(c, "end")
        try:
            name = check_campaign(c.get("name", str), start, end)
            target = parse_target(c.data.get("target", 100))
        except InvalidValue as exc:
            raise c.fail(exc.field or "name", f"无效：{exc.message}") from None
        if any(o.name == name for o in out):
            raise c.fail("name", f"的值「{name}」与前面的行动重名")
        out.append(Campaign(name, start, end, target))
    return tuple(out)


def _date(t: Any, key: str) -> date:
    value = t.data.get(key)
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise t.fail(key, f"的值「{value}」不是日期，应为 YYYY-MM-DD，如 2023-11-01")
    return value


# -- the working-day rule for periodic work ------------------------------------------------------------------


def first_workday_from(calendar: WorkCalendar, year: int, month: int, day: int) -> date:
    """The first working day on or after ``year-month-day`` (the 1st of January is 元旦: the 2nd, or later)."""
    return calendar.next_workday(date(year, month, day)).date
