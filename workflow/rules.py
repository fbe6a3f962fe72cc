"""The escalation rules: loaded from ``escalation_rules.toml``, validated, then immutable.

Pure apart from reading the one file. Every error names the file, the key and what is allowed, in
Chinese, because the person fixing it is the county IT officer editing that file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.calendar import Period, PeriodUnit, WorkCalendar
from workflow.errors import CalendarError, RulesError
from workflow.evidence import EvidenceRule
from workflow.ladders import (
    NOTICE_KINDS,
    RUNG_KINDS,
    Ladder,
    Organiser,
    old_format_error,
    parse_ladders,
    parse_level_notices,
    parse_notices,
    parse_organiser,
)
from workflow.office_hours import DeliveryRules, default_delivery, parse_delivery
from workflow.office_rules import (
    AssessmentRules,
    Campaign,
    LetterSettings,
    parse_assessment,
    parse_campaigns,
    parse_letters,
)
from workflow.states import LADDER, Category, Level, Milestone, Recipient, Severity

__all__ = ["NOTICE_KINDS", "RUNG_KINDS", "Ladder", "LevelRule", "Override", "Rules", "load_rules", "parse_rules"]


@dataclass(frozen=True)
class LevelRule:
    level: Level
    label: str
    time_limit: Period
    warn_before: Period
    remind_after: Period
    notify: tuple[Recipient, ...]
    milestones: dict[Milestone, Period] = field(default_factory=dict)
    notices: dict[str, tuple[Recipient, ...]] = field(default_factory=dict)  # kind → who else, at this rung


@dataclass(frozen=True)
class Override:
    level: Level
    category: Category | None
    severity: Severity | None
    time_limit: Period


@dataclass(frozen=True)
class Rules:
    source: str
    timezone: ZoneInfo
    calendar: WorkCalendar
    ladders: dict[Severity, Ladder]
    levels: dict[Level, LevelRule]
    overrides: tuple[Override, ...]
    red_sticky: bool
    assign_within: Period
    discovered_notify: tuple[Recipient, ...]
    notices: dict[str, tuple[Recipient, ...]]
    sweep_minutes: int
    digest_at: time = time(8, 30)
    dispatch_days: tuple[int, ...] = (1, 16)
    dispatch_at: time = time(9, 0)
    delivery: DeliveryRules | None = None  # office hours of delivery ([delivery]); always set by parse_rules
    evidence: EvidenceRule = field(default_factory=EvidenceRule)
    letters: LetterSettings = field(default_factory=LetterSettings)
    assessment: AssessmentRules = field(default_factory=AssessmentRules)
    campaigns: tuple[Campaign, ...] = ()
    # [limits] max_deadline_ahead: how far ahead a person may set a deadline (months or calendar days).
    max_deadline_ahead: Period = field(default_factory=lambda: Period(24, PeriodUnit.MONTHS))
    organiser: Organiser = Organiser(unit="xianzhengfuban")
    require_leader: bool = True
    require_section: bool = True
    review_limit: Period = Period.parse("3 workdays")
    # Memo for workflow.deadlines.thresholds: pure in (level, deadline, milestones) for these rules.
    memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def level(self, level: Level | str) -> LevelRule:
        return self.levels[Level(level)]

    def time_limit(self, level: Level | str, category: str, severity: str) -> Period:
        """The level's limit, replaced by the most specific matching override (category+severity wins)."""
        level = Level(level)
        best, best_score = self.levels[level].time_limit, -1
        for o in self.overrides:
            if o.level != level:
                continue
            if (o.category and o.category != category) or (o.severity and o.severity != severity):
                continue
            score = (o.category is not None) + (o.severity is not None)
            if score > best_score:
                best, best_score = o.time_limit, score
        return best

    def office_hours(self) -> DeliveryRules:
        """The send window and urgent kinds ([delivery]); the default window when the rules were built by hand."""
        return self.delivery or default_delivery(self.calendar, self.timezone)

    def ladder(self, severity: str) -> Ladder:
        return self.ladders[Severity(severity)]

    def initial_level(self, severity: str, county_level: bool) -> Level:
        """Where a problem starts (分层分级推进): its severity's ladder's start, or ``county_level_start``
        when it needs county-level coordination."""
        ladder = self.ladder(severity)
        return ladder.county_level_start if county_level else ladder.start

    def next_rung(self, severity: str, level: str) -> Level | None:
        """The rung a problem of ``severity`` at ``level`` escalates to; None at the top of its ladder."""
        return self.ladder(severity).next(level)

    def recipients(self, kind: str, level: Level | str | None = None) -> tuple[Recipient, ...]:
        """Who hears a notice of ``kind``: ``[notices]`` for the kind, plus — for what happens at a rung —
        the rung's ``notify`` and its own list for the kind. In order, each role once."""
        out = list(self.notices.get(kind, ()))
        if level is not None and kind in RUNG_KINDS:
            rule = self.level(level)
            out += [*rule.notify, *rule.notices.get(kind, ())]
        return tuple(dict.fromkeys(out))


DEFAULT_RULES_PATH = Path(__file__).resolve().parent.parent / "escalation_rules.toml"


def load_rules(path: str | Path | None = None) -> Rules:
    path = Path(path) if path else DEFAULT_RULES_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RulesError(f"规则文件 {path} 不存在") from None
    except OSError as exc:
        raise RulesError(f"无法读取规则文件 {path}：{exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # Notepad saves UTF-8 with a BOM
    except UnicodeDecodeError:
        raise RulesError(f"{path}: 文件不是 UTF-8 编码") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: TOML 语法错误：{exc}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a hostile file 100,000 levels deep
        # exhausts the stack. No rules file nests more than a few levels.
        raise RulesError(f"{path}: 嵌套层数过多（数组或内联表一层套一层），不是有效的规则文件") from None
    return parse_rules(data, str(path))


class _Reader:
    """Typed access to a TOML table that records the key path for error messages."""

    def __init__(self, source: str, data: dict, prefix: str = ""):
        self.source, self.data, self.prefix = source, data, prefix

    def fail(self, key: str, message: str) -> RulesError:
        return RulesError(f"{self.source}: 键 {self.prefix}{key} {message}")

    def only(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, f"不认识，此处可用的键：{'、'.join(allowed)}")

    def table(self, key: str, required: bool = True) -> _Reader:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "缺失，应为一个表（[...]）")
            value = {}
        if not isinstance(value, dict):
            raise self.fail(key, f"应为一个表（[...]），实际是「{_shown(value)}」")
        return _Reader(self.source, value, f"{self.prefix}{key}.")

    def get(self, key: str, kind: type, default: Any = ..., what: str = "") -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, f"缺失，应为{what or _KIND_NAMES[kind]}")
            return default
        value = self.data[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise self.fail(key, f"的值「{_shown(value)}」类型错误，应为{what or _KIND_NAMES[kind]}")
        return value

    def period(self, key: str, default: Any = ...) -> Period:
        text = self.get(key, str, default, "期限字符串，如「10 workdays」「7 calendar_days」「1 months」")
        try:
            period = Period.parse(text)
        except CalendarError as exc:
            raise self.fail(key, f"的值无效：{exc.message}") from None
        return period

    def clock(self, key: str, default: str) -> time:
        text = self.get(key, str, default, "时刻字符串，如「08:30」")
        try:
            hour, minute = (int(x) for x in text.split(":"))
            return time(hour, minute)
        except ValueError:
            raise self.fail(key, f"的值「{text}」不是有效时刻，应为 HH:MM，如「08:30」") from None

    def enum(self, key: str, enum: type, default: Any = ..., allow_empty: bool = False):
        text = self.get(key, str, default, "字符串")
        if text is None or (allow_empty and text == ""):
            return None
        return self._member(key, enum, text)

    def _member(self, key: str, enum: Any, text: str):
        try:
            return enum(text)
        except ValueError:
            allowed = "、".join(m.value for m in enum)
            raise self.fail(key, f"的值「{text}」无效，可选：{allowed}") from None

    def enum_list(self, key: str, enum: type, default: Any = ...) -> tuple:
        values = self.get(key, list, default, "字符串数组")
        return tuple(
            self._member(f"{key}[{i}]", enum, v)
            if isinstance(v, str)
            else _raise(self.fail(f"{key}[{i}]", f"的值「{_shown(v)}」应为字符串"))
            for i, v in enumerate(values)
        )

    def date_list(self, key: str) -> list[date]:
        values = self.get(key, list, [], "日期数组，如 [2027-01-01]")
        out = []
        for i, v in enumerate(values):
            if isinstance(v, str):
                try:
                    v = date.fromisoformat(v)
                except ValueError:
                    raise self.fail(f"{key}[{i}]", f"的值「{v}」不是日期，应为 YYYY-MM-DD") from None
            if not isinstance(v, date) or hasattr(v, "hour"):
                raise self.fail(f"{key}[{i}]", f"的值「{_shown(v)}」不是日期，应为 YYYY-MM-DD")
            out.append(v)
        return out


_KIND_NAMES = {str: "字符串", int: "整数", bool: " true 或 false", list: "数组", dict: "表"}


def _shown(value: Any) -> str:
    """A value as the person wrote it in the TOML file, not as Python spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _raise(exc: Exception):
    raise exc


def parse_rules(data: dict, source: str = "<rules>") -> Rules:
    top = _Reader(source, data)
    old_format_error(top)
    top.only(
        (
            "version",
            "calendar",
            "lights",
            "ladders",
            "organiser",
            "assignment",
            "review",
            "sweep",
            "digest",
            "dispatch",
            "discovered",
            "levels",
            "notices",
            "overrides",
            "delivery",
            "evidence",
            "letters",
            "assessment",
            "campaigns",
            "limits",
        )
    )
    version = top.get("version", int, what="整数 1")
    if version != 1:
        raise top.fail("version", f"的值「{version}」不受支持，目前只支持 1")

    cal = top.table("calendar")
    cal.only(("timezone", "statutory", "extra_holidays", "extra_workdays", "declared_years"))
    tz_name = cal.get("timezone", str, "Asia/Shanghai")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise cal.fail("timezone", f"的值「{tz_name}」不是有效的时区名，如「Asia/Shanghai」") from None
    years = cal.get("declared_years", list, [], "年份数组，如 [2027]")
    for i, y in enumerate(years):
        if not isinstance(y, int) or isinstance(y, bool) or not 1900 < y < 2200:
            raise cal.fail(f"declared_years[{i}]", f"的值「{_shown(y)}」应为四位年份")
    holidays, workdays = cal.date_list("extra_holidays"), cal.date_list("extra_workdays")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise cal.fail("extra_workdays", f"与 extra_holidays 重复：{both[0]}，同一天不能既是假日又是工作日")
    calendar = WorkCalendar(holidays, workdays, years, cal.get("statutory", bool, True))

    lights = top.table("lights", required=False)
    lights.only(("red_sticky",))
    sweep = top.table("sweep", required=False)
    sweep.only(("interval_minutes",))
    sweep_minutes = sweep.get("interval_minutes", int, 5)
    if not 1 <= sweep_minutes <= 1440:
        raise sweep.fail("interval_minutes", f"的值「{sweep_minutes}」超出范围，应为 1 到 1440 之间的整数")

    digest = top.table("digest", required=False)
    digest.only(("at",))
    dispatch = top.table("dispatch", required=False)
    dispatch.only(("days", "at"))
    days = dispatch.get("days", list, [1, 16], "日期数组，如 [1, 16]")
    for i, d in enumerate(days):
        if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 28:
            raise dispatch.fail(f"days[{i}]", f"的值「{_shown(d)}」无效，应为 1 到 28 之间的整数（每月几号）")
    if not days:
        raise dispatch.fail("days", "不能为空：重大问题每半月至少调度一次")

    ladders = parse_ladders(top)
    assignment = top.table("assignment", required=False)
    assignment.only(("require_leader", "require_section"))
    review = top.table("review", required=False)
    review.only(("time_limit",))
    review_limit = review.period("time_limit", "3 workdays")
    if review_limit.amount <= 0:
        raise review.fail("time_limit", f"的值「{review_limit}」必须大于 0")

    disc = top.table("discovered", required=False)
    disc.only(("assign_within", "notify"))

    levels = _parse_levels(top.table("levels"))

    notices = parse_notices(top)

    overrides = []
    for i, item in enumerate(top.get("overrides", list, [], "表数组（[[overrides]]）")):
        if not isinstance(item, dict):
            raise top.fail(f"overrides[{i}]", "应为一个表")
        o = _Reader(source, item, f"overrides[{i}].")
        o.only(("level", "category", "severity", "time_limit"))
        category = o.enum("category", Category, None)
        severity = o.enum("severity", Severity, None)
        if category is None and severity is None:
            raise o.fail(
                "category",
                "与 severity 至少要给出一个，否则这条覆盖规则对所有问题生效，应直接改 levels 中的 time_limit",
            )
        limit = o.period("time_limit")
        if limit.amount <= 0:
            raise o.fail("time_limit", f"的值「{limit}」必须大于 0")
        overrides.append(Override(o.enum("level", Level), category, severity, limit))

    return Rules(
        source=source,
        timezone=tz,
        calendar=calendar,
        ladders=ladders,
        levels=levels,
        overrides=tuple(overrides),
        red_sticky=lights.get("red_sticky", bool, True),
        assign_within=disc.period("assign_within", "2 workdays"),
        discovered_notify=disc.enum_list("notify", Recipient, ("inspection_office",)),
        notices=notices,
        sweep_minutes=sweep_minutes,
        digest_at=digest.clock("at", "08:30"),
        dispatch_days=tuple(sorted(set(days))),
        dispatch_at=dispatch.clock("at", "09:00"),
        delivery=parse_delivery(top.table("delivery", required=False), calendar, tz),
        evidence=_parse_evidence(top.table("evidence", required=False)),
        letters=parse_letters(top.table("letters", required=False)),
        assessment=parse_assessment(top.table("assessment", required=False)),
        campaigns=parse_campaigns(top),
        max_deadline_ahead=_deadline_limit(top.table("limits", required=False)),
        organiser=parse_organiser(top),
        require_leader=assignment.get("require_leader", bool, True),
        require_section=assignment.get("require_section", bool, True),
        review_limit=review_limit,
    )


def _parse_evidence(t: _Reader) -> EvidenceRule:
    """``[evidence]``: the categories whose application to close needs files, how many, and what is expected."""
    t.only(("resolve_requires", "min_files", "what"))
    default = EvidenceRule()
    categories = t.enum_list("resolve_requires", Category, tuple(sorted(default.resolve_requires)))
    min_files = t.get("min_files", int, default.min_files)
    if not 1 <= min_files <= 20:
        raise t.fail("min_files", f"的值「{min_files}」超出范围，应为 1 到 20 之间的整数")
    what_t = t.table("what", required=False)
    what_t.only(tuple(c.value for c in Category))
    what = {c.value: what_t.get(c.value, str) for c in Category if c.value in what_t.data}
    return EvidenceRule(frozenset(c.value for c in categories), min_files, what)


_YEARS = re.compile(r"^\s*(\d+)\s*(years|year|年)\s*$")


def _deadline_limit(limits: _Reader) -> Period:
    """``[limits] max_deadline_ahead``: "2 years" / "2年", "24 months" / "24个月" or "730 calendar_days";
    default two years. Working days are refused: the limit is a distance on the calendar, not a workload."""
    limits.only(("max_deadline_ahead",))
    text = limits.get(
        "max_deadline_ahead", str, "2 years", "期限字符串，如「2 years」「24 months」「730 calendar_days」"
    )
    years = _YEARS.match(text)
    if years:
        period = Period(int(years.group(1)) * 12, PeriodUnit.MONTHS)
    else:
        try:
            period = Period.parse(text)
        except CalendarError as exc:
            raise limits.fail("max_deadline_ahead", f"的值无效：{exc.message}；也可写「2 years」") from None
    if period.unit is PeriodUnit.WORKDAYS:
        raise limits.fail("max_deadline_ahead", f"的值「{text}」应以年、月或自然日计，如「2 years」「24 months」")
    months = period.amount if period.unit is PeriodUnit.MONTHS else period.amount / 30.4
    if not 1 <= months <= 100 * 12:
        raise limits.fail("max_deadline_ahead", f"的值「{text}」超出范围，应在 1 个月到 100 年之间")
    return period


def _parse_levels(levels_t: _Reader) -> dict[Level, LevelRule]:
    levels_t.only(tuple(level.value for level in LADDER))
    out: dict[Level, LevelRule] = {}
    for level in LADDER:
        t = levels_t.table(level.value)
        t.only(("label", "time_limit", "warn_before", "remind_after", "notify", "milestones", "notices"))
        milestones: dict[Milestone, Period] = {}
        if "milestones" in t.data:
            m = t.table("milestones")
            m.only(("deploy", "feedback"))
            milestones = {Milestone(k): m.period(k) for k in ("deploy", "feedback") if k in m.data}
        rule = LevelRule(
            level=level,
            label=t.get("label", str, level.label),
            time_limit=t.period("time_limit"),
            warn_before=t.period("warn_before", "0 workdays"),
            remind_after=t.period("remind_after", "0 workdays"),
            notify=t.enum_list("notify", Recipient),
            milestones=milestones,
            notices=parse_level_notices(t),
        )
        if rule.time_limit.amount <= 0:
            raise t.fail("time_limit", f"的值「{rule.time_limit}」必须大于 0")
        out[level] = rule
    return out
