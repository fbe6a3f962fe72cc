"""The rules loader (workflow/rules.py): the shipped file, lookups, and every kind of bad file.

Each bad case is a small mutation of the shipped ``escalation_rules.toml``; it is checked twice: through
``parse_rules(dict, "x.toml")`` and through ``load_rules(path)`` on the mutated file written to disk. Every
error must be a ``RulesError`` naming the file, the exact key path, and (in Chinese) what is wrong.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path

import pytest

from workflow.calendar import Period, PeriodUnit, WorkCalendar
from workflow.errors import RulesError
from workflow.rules import DEFAULT_RULES_PATH, NOTICE_KINDS, load_rules, parse_rules
from workflow.states import LADDER, Category, Level, Milestone, Recipient, Severity

WD, CD, MO = PeriodUnit.WORKDAYS, PeriodUnit.CALENDAR_DAYS, PeriodUnit.MONTHS
SHIPPED_TEXT = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
SHIPPED = tomllib.loads(SHIPPED_TEXT)
CJK = re.compile(r"[\u4e00-\u9fff]")


# -- a tiny TOML writer (enough for the rules file) ----------------------------------------------------


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (date, time)):  # datetime is a date
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):  # inline table, only inside a mixed array
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def dump_toml(data: dict, prefix: str = "") -> str:
    def is_table_array(v):
        return isinstance(v, list) and v and all(isinstance(x, dict) for x in v)

    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict) and not is_table_array(v)]
    for k, v in data.items():
        path = f"{prefix}{_key(k)}"
        if isinstance(v, dict):
            lines += ["", f"[{path}]", dump_toml(v, path + ".")]
        elif is_table_array(v):
            for item in v:
                lines += ["", f"[[{path}]]", dump_toml(item, path + ".")]
    return "\n".join(lines)


def test_toml_writer_round_trips_shipped_file():
    assert tomllib.loads(dump_toml(SHIPPED)) == SHIPPED


# -- helpers -------------------------------------------------------------------------------------------


def shipped() -> dict:
    return copy.deepcopy(SHIPPED)


def _walk(data, path: str):
    *parents, last = path.split(".")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data, (int(last) if isinstance(data, list) else last)


def set_(path: str, value):
    """A mutation: ``set_("overrides.0.category", "x")`` (list indices as numbers)."""

    def mutate(d):
        parent, key = _walk(d, path)
        parent[key] = value

    mutate.__name__ = f"{path}={value!r}"
    return mutate


def del_(path: str):
    def mutate(d):
        parent, key = _walk(d, path)
        del parent[key]

    mutate.__name__ = f"del {path}"
    return mutate


def both(*mutations):
    def mutate(d):
        for m in mutations:
            m(d)

    return mutate


def rename(path: str, new: str):
    def mutate(d):
        parent, key = _walk(d, path)
        parent[new] = parent.pop(key)

    return mutate


def mutated(*mutations) -> dict:
    d = shipped()
    for m in mutations:
        m(d)
    return d


def write(tmp_path: Path, text: str | bytes, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def rules():
    return load_rules()


# -- the shipped file ----------------------------------------------------------------------------------


def test_shipped_file_loads_by_default_and_by_path(rules):
    assert rules.source == str(DEFAULT_RULES_PATH)
    again = load_rules(DEFAULT_RULES_PATH)
    assert again.levels == rules.levels and again.overrides == rules.overrides
    assert load_rules(str(DEFAULT_RULES_PATH)).ladders == rules.ladders


def test_shipped_levels_and_ladders_by_severity(rules):
    assert list(rules.levels) == list(LADDER)
    assert rules.level("unit").label == "单位/乡镇内部专人负责"
    assert rules.level(Level.GOVERNMENT_MEETING).label == "县政府会议研究"
    general, major = rules.ladder("general"), rules.ladder(Severity.MAJOR)
    # 一般性问题限期解决；久拖不决的通过"13710"督促解决 — never the meeting.
    assert general.rungs == (Level.UNIT, Level.COUNTY_LEADER, Level.SUPERVISION_13710)
    assert [rules.next_rung("general", lv) for lv in LADDER] == [
        Level.COUNTY_LEADER,
        Level.SUPERVISION_13710,
        None,
        None,
    ]
    # 重大问题：through 13710 (one month) to the county government meeting.
    assert major.rungs == (Level.SUPERVISION_13710, Level.GOVERNMENT_MEETING)
    assert [rules.next_rung("major", lv) for lv in LADDER] == [
        Level.SUPERVISION_13710,
        Level.SUPERVISION_13710,
        Level.GOVERNMENT_MEETING,
        None,
    ]
    assert general.remind_every == major.remind_every == Period(5, WD)
    assert major.above("unit") == major.rungs and general.above("supervision_13710") == ()


@pytest.mark.parametrize(
    "level, time_limit, warn_before, remind_after",
    [
        ("unit", Period(10, WD), Period(2, WD), Period(2, WD)),
        ("county_leader", Period(10, WD), Period(2, WD), Period(2, WD)),
        ("supervision_13710", Period(7, CD), Period(1, WD), Period(1, WD)),
        ("government_meeting", Period(1, MO), Period(3, WD), Period(2, WD)),
    ],
)
def test_shipped_level_periods(rules, level, time_limit, warn_before, remind_after):
    rule = rules.level(level)
    assert (rule.time_limit, rule.warn_before, rule.remind_after) == (time_limit, warn_before, remind_after)


def test_shipped_13710_milestones(rules):
    assert rules.level("supervision_13710").milestones == {
        Milestone.DEPLOY: Period(1, CD),
        Milestone.FEEDBACK: Period(3, CD),
    }
    for level in ("unit", "county_leader", "government_meeting"):
        assert rules.level(level).milestones == {}


def test_shipped_notify_and_notices(rules):
    assert rules.level("unit").notify == (Recipient.RESPONSIBLE_PERSON, Recipient.UNIT_HEAD, Recipient.LEADER_IN_CHARGE)
    assert Recipient.INSPECTION_OFFICE in rules.level("supervision_13710").notify
    assert Recipient.CONTRACTING_LEADER in rules.level("county_leader").notify
    assert set(rules.notices) == set(NOTICE_KINDS)
    assert rules.notices["review"] == (Recipient.INSPECTION_OFFICE,)
    assert rules.notices["closed"] == (Recipient.RESPONSIBLE_PERSON, Recipient.UNIT_HEAD, Recipient.REPORTER)
    assert rules.discovered_notify == (Recipient.INSPECTION_OFFICE,)
    assert rules.assign_within == Period(2, WD)


@pytest.mark.parametrize("level", LADDER)
def test_shipped_recipients_per_rung(rules, level):
    # The inspection office hears every escalation and every problem past its grace, at every rung; the
    # leader in charge hears everything at every rung; the meeting's organiser at the meeting only.
    for kind in ("escalation", "stalled"):
        assert Recipient.INSPECTION_OFFICE in rules.recipients(kind, level)
    for kind in ("assignment", "warning", "reminder", "overdue", "escalation", "stalled"):
        who = rules.recipients(kind, level)
        assert Recipient.LEADER_IN_CHARGE in who and Recipient.RESPONSIBLE_PERSON in who
        assert (Recipient.ORGANISER in who) == (level == Level.GOVERNMENT_MEETING)
        assert len(who) == len(set(who))
    assert rules.recipients("review_overdue") == (Recipient.INSPECTION_OFFICE,)
    assert rules.recipients("recalculated") == (Recipient.RESPONSIBLE_PERSON,)


def test_shipped_organiser_assignment_and_review(rules):
    assert rules.organiser.unit == "xianzhengfuban" and rules.organiser.role is None
    assert rules.require_leader is True and rules.require_section is True
    assert rules.review_limit == Period(3, WD)


def test_recipients_per_rung_and_kind_are_configurable():
    data = mutated(
        set_("levels.unit.notices", {"overdue": ["contracting_leader"]}),
        set_("notices.warning", ["reporter"]),
        set_("organiser", {"role": "inspector"}),
        set_("assignment", {"require_leader": False, "require_section": False}),
        set_("review", {"time_limit": "2 calendar_days"}),
    )
    rules = parse_rules(data, "x.toml")
    assert Recipient.CONTRACTING_LEADER in rules.recipients("overdue", "unit")
    assert Recipient.CONTRACTING_LEADER not in rules.recipients("warning", "unit")
    assert Recipient.CONTRACTING_LEADER not in rules.recipients("overdue", "county_leader") or (
        Recipient.CONTRACTING_LEADER in rules.level("county_leader").notify
    )
    assert rules.recipients("warning", "unit")[0] == Recipient.REPORTER
    assert rules.organiser.role == "inspector" and rules.organiser.unit is None
    assert not rules.require_leader and not rules.require_section
    assert rules.review_limit == Period(2, CD)


def test_shipped_calendar_and_misc(rules):
    assert str(rules.timezone) == "Asia/Shanghai"
    assert isinstance(rules.calendar, WorkCalendar)
    assert rules.calendar.use_statutory is True
    assert not rules.calendar.extra_holidays and not rules.calendar.extra_workdays
    assert not rules.calendar.declared_years
    assert rules.red_sticky is True
    assert rules.sweep_minutes == 5


def test_shipped_overrides(rules):
    assert [(o.level, o.category, o.severity, o.time_limit) for o in rules.overrides] == [
        (Level.SUPERVISION_13710, None, Severity.MAJOR, Period(1, MO)),
        (Level.UNIT, Category.LAND, None, Period(20, WD)),
        (Level.UNIT, Category.DEMOLITION, None, Period(15, WD)),
    ]


@pytest.mark.parametrize(
    "level, category, severity, expected",
    [
        ("supervision_13710", "permit", "major", Period(1, MO)),  # 13710: major/complex → 1 month
        ("supervision_13710", "land", "major", Period(1, MO)),
        ("supervision_13710", "permit", "general", Period(7, CD)),
        ("supervision_13710", "land", "general", Period(7, CD)),  # land override is at unit only
        ("unit", "land", "general", Period(20, WD)),
        ("unit", "land", "major", Period(20, WD)),
        ("unit", "demolition", "general", Period(15, WD)),
        ("unit", "permit", "general", Period(10, WD)),
        ("unit", "funding", "major", Period(10, WD)),  # major override is at 13710 only
        ("county_leader", "land", "major", Period(10, WD)),
        ("government_meeting", "land", "major", Period(1, MO)),
        (Level.UNIT, Category.LAND, Severity.GENERAL, Period(20, WD)),  # enums work as well as strings
    ],
)
def test_shipped_time_limit_lookup(rules, level, category, severity, expected):
    assert rules.time_limit(level, category, severity) == expected


@pytest.mark.parametrize("combined_first", [True, False])
@pytest.mark.parametrize(
    "category, severity, expected",
    [
        ("land", "major", Period(30, WD)),  # category+severity beats either alone
        ("land", "general", Period(20, WD)),  # category only
        ("permit", "major", Period(5, WD)),  # severity only
        ("permit", "general", Period(10, WD)),  # the level's own limit
    ],
)
def test_time_limit_most_specific_override_wins(combined_first, category, severity, expected):
    combined = {"level": "unit", "category": "land", "severity": "major", "time_limit": "30 workdays"}
    data = mutated(
        set_(
            "overrides",
            [
                {"level": "unit", "category": "land", "time_limit": "20 workdays"},
                {"level": "unit", "severity": "major", "time_limit": "5 workdays"},
            ],
        )
    )
    data["overrides"].insert(0 if combined_first else 2, combined)
    rules = parse_rules(data, "x.toml")
    assert rules.time_limit("unit", category, severity) == expected
    assert rules.time_limit("county_leader", category, severity) == Period(10, WD)


@pytest.mark.parametrize(
    "severity, county_level, level",
    [
        ("major", False, Level.SUPERVISION_13710),
        ("major", True, Level.SUPERVISION_13710),  # major beats county-level coordination
        ("general", True, Level.COUNTY_LEADER),
        ("general", False, Level.UNIT),
        (Severity.MAJOR, False, Level.SUPERVISION_13710),
        (Severity.GENERAL, True, Level.COUNTY_LEADER),
    ],
)
def test_initial_level_routing(rules, severity, county_level, level):
    assert rules.initial_level(severity, county_level) == level


def test_ladders_are_configurable():
    rules = parse_rules(
        mutated(
            set_("ladders.major.start", "government_meeting"),
            set_("ladders.general.rungs", ["county_leader", "supervision_13710", "government_meeting"]),
            set_("ladders.general.start", "county_leader"),
            set_("ladders.general.remind_every", "0 workdays"),
        )
    )
    assert rules.initial_level("major", False) == Level.GOVERNMENT_MEETING  # "directly when logged as major"
    assert rules.initial_level("general", False) == Level.COUNTY_LEADER
    assert rules.next_rung("general", "supervision_13710") == Level.GOVERNMENT_MEETING
    assert rules.ladder("general").remind_every == Period(0, WD)


def test_missing_ladders_take_the_plans_default():
    rules = parse_rules(mutated(del_("ladders")), "x.toml")
    assert rules.ladders == load_rules().ladders


# -- good variations -----------------------------------------------------------------------------------


def test_optional_sections_have_defaults():
    data = mutated(
        del_("lights"),
        del_("sweep"),
        del_("discovered"),
        del_("notices"),
        del_("overrides"),
        del_("calendar.timezone"),
        del_("calendar.statutory"),
        del_("levels.unit.label"),
        del_("levels.unit.warn_before"),
        del_("levels.unit.remind_after"),
        del_("organiser"),
        del_("assignment"),
        del_("review"),
    )
    rules = parse_rules(data, "x.toml")
    assert rules.red_sticky is True and rules.sweep_minutes == 5
    assert rules.assign_within == Period(2, WD)
    assert rules.discovered_notify == (Recipient.INSPECTION_OFFICE,)
    assert rules.notices == {k: () for k in NOTICE_KINDS}
    assert rules.overrides == ()
    assert str(rules.timezone) == "Asia/Shanghai" and rules.calendar.use_statutory is True
    unit = rules.level("unit")
    assert unit.label == Level.UNIT.label
    assert unit.warn_before == unit.remind_after == Period(0, WD)
    assert rules.organiser.unit == "xianzhengfuban" and rules.require_leader and rules.require_section
    assert rules.review_limit == Period(3, WD)


def test_calendar_settings_reach_the_work_calendar(tmp_path):
    text = SHIPPED_TEXT.replace("extra_holidays = []", 'extra_holidays = [2027-01-01, "2027-02-11"]')
    text = text.replace("extra_workdays = []", "extra_workdays = [2027-02-20]")
    text = text.replace("declared_years = []", "declared_years = [2027]")
    text = text.replace("statutory = true ", "statutory = false")
    text = text.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Urumqi"')
    cal = (rules := load_rules(write(tmp_path, text))).calendar
    assert str(rules.timezone) == "Asia/Urumqi"
    assert cal.extra_holidays == {date(2027, 1, 1), date(2027, 2, 11)}
    assert cal.extra_workdays == {date(2027, 2, 20)}
    assert cal.declared_years == {2027}
    assert cal.use_statutory is False
    assert cal.lookup(date(2027, 2, 20)) == (True, False)
    assert cal.lookup(date(2027, 1, 1)) == (False, False)


def test_chinese_period_spellings_in_file():
    data = mutated(
        set_("levels.unit.time_limit", "10个工作日"),
        set_("levels.government_meeting.time_limit", "1个月"),
        set_("levels.supervision_13710.milestones.deploy", "1天"),
    )
    rules = parse_rules(data, "x.toml")
    assert rules.level("unit").time_limit == Period(10, WD)
    assert rules.level("government_meeting").time_limit == Period(1, MO)
    assert rules.level("supervision_13710").milestones[Milestone.DEPLOY] == Period(1, CD)


def test_a_ladder_may_skip_a_rung():
    rules = parse_rules(
        mutated(
            set_("ladders.general.rungs", ["unit", "supervision_13710"]), del_("ladders.general.county_level_start")
        ),
        "x.toml",
    )
    assert rules.next_rung("general", "unit") == Level.SUPERVISION_13710
    # A problem standing on a level that is not a rung of its ladder goes to the first rung above it.
    assert rules.next_rung("general", "county_leader") == Level.SUPERVISION_13710


# -- files that cannot be read or parsed ---------------------------------------------------------------


def assert_rules_error(info, *fragments):
    message = str(info.value)
    assert info.value.code == "rules_error"
    assert CJK.search(message), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert_rules_error(info, str(path), "不存在")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path)
    assert_rules_error(info, str(tmp_path), "无法读取")


def test_not_utf8(tmp_path):
    path = write(tmp_path, SHIPPED_TEXT.encode("gbk"))  # what a Chinese Windows editor may save
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert_rules_error(info, str(path), "UTF-8")


@pytest.mark.parametrize(
    "old, new",
    [
        ("version = 1", "version = "),  # no value
        ('time_limit = "10 workdays"', 'time_limit = "10 workdays'),  # unclosed string
        ("[levels.county_leader]", "[levels.county_leader"),  # unclosed header
        ("[levels.county_leader]", "[levels.unit]"),  # duplicate table
        ("red_sticky = true", "red_sticky = yes"),  # bare word
        ("statutory = true", "statutory = 是"),  # non-ASCII bare word
    ],
)
def test_toml_syntax_error_names_file_and_line(tmp_path, old, new):
    line = next(i for i, text in enumerate(SHIPPED_TEXT.splitlines(), 1) if text.startswith(old))
    path = write(tmp_path, SHIPPED_TEXT.replace(old, new, 1))
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert_rules_error(info, str(path), "TOML 语法错误", f"line {line}")


def test_toml_syntax_error_unclosed_array(tmp_path):
    path = write(tmp_path, SHIPPED_TEXT.replace('notify = ["inspection_office"]', 'notify = ["inspection_office"', 1))
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert_rules_error(info, str(path), "TOML 语法错误", "Unclosed array")


# -- every kind of bad content -------------------------------------------------------------------------

LEVEL_NAMES = ("unit", "county_leader", "supervision_13710", "government_meeting")
UNITS = ("calendar_days", "workdays", "months")
RECIPIENTS = tuple(r.value for r in Recipient)

# (id, mutation, exact key path, fragments the message must contain besides the path and the file name)
BAD = [
    # unknown keys (typos)
    ("top-level typo", rename("levels", "levles"), "levles", ["不认识", "levels", "calendar", "overrides"]),
    ("top-level extra", set_("escalation", {"x": 1}), "escalation", ["不认识"]),
    ("calendar typo", rename("calendar.timezone", "timezon"), "calendar.timezon", ["不认识", "timezone"]),
    (
        "level key typo",
        rename("levels.unit.time_limit", "time_limt"),
        "levels.unit.time_limt",
        ["不认识", "time_limit", "warn_before"],
    ),
    (
        "milestone typo",
        set_("levels.supervision_13710.milestones.settle", "7 calendar_days"),
        "levels.supervision_13710.milestones.settle",
        ["不认识", "deploy", "feedback"],
    ),
    ("lights typo", rename("lights.red_sticky", "red_stiky"), "lights.red_stiky", ["不认识", "red_sticky"]),
    ("sweep typo", rename("sweep.interval_minutes", "interval"), "sweep.interval", ["不认识", "interval_minutes"]),
    (
        "ladder typo",
        set_("ladders.general.rung", ["unit"]),
        "ladders.general.rung",
        ["不认识", "rungs", "start", "remind_every"],
    ),
    ("ladders severity typo", set_("ladders.urgent", {"rungs": ["unit"]}), "ladders.urgent", ["不认识", "general"]),
    ("organiser typo", set_("organiser.units", "x"), "organiser.units", ["不认识", "unit", "role"]),
    ("assignment typo", set_("assignment.require_person", True), "assignment.require_person", ["不认识"]),
    ("level notices typo", set_("levels.unit.notices", {"review": []}), "levels.unit.notices.review", ["不认识"]),
    ("notices typo", set_("notices.reviewed", ["inspection_office"]), "notices.reviewed", ["不认识", "review"]),
    ("override typo", set_("overrides.0.days", 3), "overrides[0].days", ["不认识", "time_limit", "category"]),
    # version
    ("version 2", set_("version", 2), "version", ["「2」", "不受支持", "1"]),
    ("version 0", set_("version", 0), "version", ["「0」", "不受支持"]),
    ("version string", set_("version", "1"), "version", ['「"1"」', "类型错误", "整数"]),
    ("version missing", del_("version"), "version", ["缺失", "整数"]),
    # required tables
    ("missing levels.unit", del_("levels.unit"), "levels.unit", ["缺失", "表"]),
    ("missing levels.government_meeting", del_("levels.government_meeting"), "levels.government_meeting", ["缺失"]),
    ("missing levels", del_("levels"), "levels", ["缺失", "表"]),
    # the single ``next`` chain of older files: a clear word on what to write instead
    ("old routing", set_("routing", {"major": "government_meeting"}), "routing", ["不再使用", "ladders.general"]),
    ("old next", set_("levels.unit.next", "county_leader"), "levels.unit.next", ["不再使用", "rungs"]),
    ("missing calendar", del_("calendar"), "calendar", ["缺失", "表"]),
    ("levels.unit not a table", set_("levels.unit", "10 workdays"), "levels.unit", ["应为一个表", "10 workdays"]),
    (
        "milestones not a table",
        set_("levels.supervision_13710.milestones", "1 calendar_days"),
        "levels.supervision_13710.milestones",
        ["应为一个表"],
    ),
    # level names
    (
        "unknown level",
        set_("levels.city_leader", dict(SHIPPED["levels"]["unit"])),
        "levels.city_leader",
        ["不认识", *LEVEL_NAMES],
    ),
    (
        "ladder unknown level",
        set_("ladders.major.rungs", ["supervision_13710", "mayor_office"]),
        "ladders.major.rungs[1]",
        ["mayor_office", "无效", "可选", *LEVEL_NAMES],
    ),
    ("override unknown level", set_("overrides.1.level", "town"), "overrides[1].level", ["town", "无效", *LEVEL_NAMES]),
    ("override missing level", del_("overrides.2.level"), "overrides[2].level", ["缺失"]),
    # periods
    (
        "period not a period",
        set_("levels.unit.time_limit", "ten workdays"),
        "levels.unit.time_limit",
        ["ten workdays", "格式无效", *UNITS],
    ),
    ("period without unit", set_("levels.unit.time_limit", "10"), "levels.unit.time_limit", ["「10」", *UNITS]),
    (
        "period bad unit",
        set_("levels.unit.time_limit", "2 weeks"),
        "levels.unit.time_limit",
        ["2 weeks", "weeks", "单位", *UNITS],
    ),
    (
        "period decimal",
        set_("levels.county_leader.time_limit", "1.5 months"),
        "levels.county_leader.time_limit",
        ["1.5 months", *UNITS],
    ),
    ("period as number", set_("levels.unit.time_limit", 10), "levels.unit.time_limit", ["10", "类型错误", "期限"]),
    ("time_limit missing", del_("levels.unit.time_limit"), "levels.unit.time_limit", ["缺失", "期限"]),
    ("override time_limit missing", del_("overrides.1.time_limit"), "overrides[1].time_limit", ["缺失", "期限"]),
    (
        "time_limit zero",
        set_("levels.unit.time_limit", "0 workdays"),
        "levels.unit.time_limit",
        ["0 workdays", "大于 0"],
    ),
    (
        "time_limit zero months",
        set_("levels.government_meeting.time_limit", "0个月"),
        "levels.government_meeting.time_limit",
        ["0 months", "大于 0"],
    ),
    (
        "time_limit negative",
        set_("levels.unit.time_limit", "-5 workdays"),
        "levels.unit.time_limit",
        ["-5 workdays", *UNITS],
    ),
    ("warn_before bad", set_("levels.unit.warn_before", "2 hours"), "levels.unit.warn_before", ["2 hours", *UNITS]),
    (
        "remind_after bad",
        set_("levels.county_leader.remind_after", "两天"),
        "levels.county_leader.remind_after",
        ["两天", *UNITS],
    ),
    (
        "milestone bad",
        set_("levels.supervision_13710.milestones.feedback", "3 fortnights"),
        "levels.supervision_13710.milestones.feedback",
        ["3 fortnights", *UNITS],
    ),
    ("assign_within bad", set_("discovered.assign_within", "soon"), "discovered.assign_within", ["soon", *UNITS]),
    ("override time_limit bad", set_("overrides.1.time_limit", "20 wd"), "overrides[1].time_limit", ["20 wd", *UNITS]),
    (
        "override time_limit zero",
        set_("overrides.1.time_limit", "0 workdays"),
        "overrides[1].time_limit",
        ["0 workdays", "大于 0"],
    ),
    # ladders
    (
        "rungs down",
        set_("ladders.general.rungs", ["county_leader", "unit"]),
        "ladders.general.rungs",
        ["从低到高", "unit → county_leader → supervision_13710 → government_meeting"],
    ),
    ("rungs twice", set_("ladders.major.rungs", ["unit", "unit"]), "ladders.major.rungs", ["不重复"]),
    ("rungs empty", set_("ladders.major.rungs", []), "ladders.major.rungs", ["不能为空"]),
    ("rungs missing", del_("ladders.general.rungs"), "ladders.general.rungs", ["缺失", "数组"]),
    ("rungs not a list", set_("ladders.general.rungs", "unit"), "ladders.general.rungs", ["类型错误", "数组"]),
    (
        "start off the ladder",
        set_("ladders.major.start", "unit"),
        "ladders.major.start",
        ["「unit」", "不在", "supervision_13710、government_meeting"],
    ),
    (
        "county start below start",
        both(set_("ladders.general.start", "county_leader"), set_("ladders.general.county_level_start", "unit")),
        "ladders.general.county_level_start",
        ["「unit」", "不能低于"],
    ),
    ("remind_every bad", set_("ladders.general.remind_every", "weekly"), "ladders.general.remind_every", ["weekly"]),
    # organiser, assignment, review
    (
        "organiser both",
        set_("organiser", {"unit": "xianzhengfuban", "role": "inspector"}),
        "organiser.role",
        ["只能写一个"],
    ),
    ("organiser bad role", set_("organiser", {"role": "mayor"}), "organiser.role", ["mayor", "无效", "inspector"]),
    ("organiser empty", set_("organiser.unit", " "), "organiser.unit", ["不能为空"]),
    (
        "require_leader not bool",
        set_("assignment.require_leader", "yes"),
        "assignment.require_leader",
        ["类型错误", "true 或 false"],
    ),
    ("review zero", set_("review.time_limit", "0 workdays"), "review.time_limit", ["大于 0"]),
    # notify
    (
        "notify unknown role",
        set_("levels.unit.notify", ["responsible_person", "boss"]),
        "levels.unit.notify[1]",
        ["boss", "无效", "可选", *RECIPIENTS],
    ),
    (
        "notify not a list",
        set_("levels.unit.notify", "unit_head"),
        "levels.unit.notify",
        ["unit_head", "类型错误", "数组"],
    ),
    ("notify missing", del_("levels.county_leader.notify"), "levels.county_leader.notify", ["缺失", "数组"]),
    (
        "notify item not a string",
        set_("levels.unit.notify", ["unit_head", 3]),
        "levels.unit.notify[1]",
        ["3", "字符串"],
    ),
    (
        "notices unknown role",
        set_("notices.closed", ["reporter", "mayor"]),
        "notices.closed[1]",
        ["mayor", "可选", "reporter"],
    ),
    ("notices not a list", set_("notices.review", "inspection_office"), "notices.review", ["数组"]),
    ("discovered notify unknown", set_("discovered.notify", ["督查室"]), "discovered.notify[0]", ["督查室", "可选"]),
    # calendar
    (
        "timezone unknown",
        set_("calendar.timezone", "Beijing"),
        "calendar.timezone",
        ["Beijing", "时区", "Asia/Shanghai"],
    ),
    ("timezone offset", set_("calendar.timezone", "UTC+8"), "calendar.timezone", ["UTC+8", "时区"]),
    ("timezone path", set_("calendar.timezone", "../etc/passwd"), "calendar.timezone", ["../etc/passwd", "时区"]),
    ("timezone empty", set_("calendar.timezone", ""), "calendar.timezone", ["「」", "时区"]),
    ("timezone not a string", set_("calendar.timezone", 8), "calendar.timezone", ["8", "类型错误", "字符串"]),
    (
        "holiday impossible date",
        set_("calendar.extra_holidays", ["2027-02-30"]),
        "calendar.extra_holidays[0]",
        ["2027-02-30", "不是日期", "YYYY-MM-DD"],
    ),
    (
        "holiday words",
        set_("calendar.extra_holidays", [date(2027, 1, 1), "春节"]),
        "calendar.extra_holidays[1]",
        ["春节", "YYYY-MM-DD"],
    ),
    (
        "holiday datetime",
        set_("calendar.extra_holidays", [datetime(2027, 1, 1, 8, 30)]),
        "calendar.extra_holidays[0]",
        ["2027", "YYYY-MM-DD"],
    ),
    ("holiday time", set_("calendar.extra_holidays", [time(8, 30)]), "calendar.extra_holidays[0]", ["YYYY-MM-DD"]),
    (
        "holiday number",
        set_("calendar.extra_holidays", [20270101]),
        "calendar.extra_holidays[0]",
        ["20270101", "YYYY-MM-DD"],
    ),
    (
        "holidays not a list",
        set_("calendar.extra_holidays", date(2027, 1, 1)),
        "calendar.extra_holidays",
        ["2027", "数组"],
    ),
    (
        "workday bad date",
        set_("calendar.extra_workdays", [date(2027, 2, 20), "2027/02/21"]),
        "calendar.extra_workdays[1]",
        ["2027/02/21", "YYYY-MM-DD"],
    ),
    (
        "same day both",
        both(
            set_("calendar.extra_holidays", [date(2027, 1, 1), date(2027, 2, 20)]),
            set_("calendar.extra_workdays", [date(2027, 2, 20)]),
        ),
        "calendar.extra_workdays",
        ["2027-02-20", "extra_holidays", "既是假日又是工作日"],
    ),
    (
        "same day both, string and date",
        both(set_("calendar.extra_holidays", ["2027-02-20"]), set_("calendar.extra_workdays", [date(2027, 2, 20)])),
        "calendar.extra_workdays",
        ["2027-02-20", "extra_holidays"],
    ),
    ("declared year string", set_("calendar.declared_years", ["2027"]), "calendar.declared_years[0]", ["2027", "年份"]),
    (
        "declared year short",
        set_("calendar.declared_years", [2027, 28]),
        "calendar.declared_years[1]",
        ["28", "四位年份"],
    ),
    ("declared year bool", set_("calendar.declared_years", [True]), "calendar.declared_years[0]", ["年份"]),
    (
        "declared year float",
        set_("calendar.declared_years", [2027.0]),
        "calendar.declared_years[0]",
        ["2027.0", "年份"],
    ),
    (
        "declared years not a list",
        set_("calendar.declared_years", 2027),
        "calendar.declared_years",
        ["2027", "年份数组"],
    ),
    ("statutory string", set_("calendar.statutory", "true"), "calendar.statutory", ['「"true"」', "true 或 false"]),
    ("statutory int", set_("calendar.statutory", 1), "calendar.statutory", ["1", "true 或 false"]),
    # overrides
    ("override neither", del_("overrides.0.severity"), "overrides[0].category", ["severity", "至少"]),
    (
        "override empty strings",
        both(set_("overrides.1.category", "")),
        "overrides[1].category",
        ["「」", "无效", "land"],
    ),
    (
        "override bad category",
        set_("overrides.1.category", "housing"),
        "overrides[1].category",
        ["housing", "无效", "可选", *(c.value for c in Category)],
    ),
    (
        "override chinese category",
        set_("overrides.2.category", "征拆"),
        "overrides[2].category",
        ["征拆", "可选", "demolition"],
    ),
    (
        "override bad severity",
        set_("overrides.0.severity", "urgent"),
        "overrides[0].severity",
        ["urgent", "可选", "general", "major"],
    ),
    (
        "override not a table",
        set_("overrides", [{"level": "unit", "category": "land", "time_limit": "5 workdays"}, "unit"]),
        "overrides[1]",
        ["表"],
    ),
    (
        "overrides a single table",
        set_("overrides", {"level": "unit", "category": "land", "time_limit": "5 workdays"}),
        "overrides",
        ["类型错误", "[[overrides]]"],
    ),
    # sweep
    ("sweep zero", set_("sweep.interval_minutes", 0), "sweep.interval_minutes", ["「0」", "1 到 1440"]),
    ("sweep negative", set_("sweep.interval_minutes", -5), "sweep.interval_minutes", ["「-5」", "1 到 1440"]),
    ("sweep too large", set_("sweep.interval_minutes", 1441), "sweep.interval_minutes", ["「1441」", "1 到 1440"]),
    ("sweep bool", set_("sweep.interval_minutes", True), "sweep.interval_minutes", ["「true」", "类型错误", "整数"]),
    ("sweep float", set_("sweep.interval_minutes", 5.0), "sweep.interval_minutes", ["5.0", "类型错误", "整数"]),
    ("sweep string", set_("sweep.interval_minutes", "5"), "sweep.interval_minutes", ['「"5"」', "类型错误", "整数"]),
    # other wrong types
    ("red_sticky string", set_("lights.red_sticky", "yes"), "lights.red_sticky", ["yes", "类型错误", "true 或 false"]),
    ("red_sticky int", set_("lights.red_sticky", 1), "lights.red_sticky", ["1", "类型错误", "true 或 false"]),
    ("version bool", set_("version", True), "version", ["「true」", "类型错误", "整数"]),
    ("label not a string", set_("levels.unit.label", 3), "levels.unit.label", ["3", "类型错误", "字符串"]),
    ("lights not a table", set_("lights", ["red_sticky"]), "lights", ["应为一个表"]),
]
BAD_IDS = [case[0] for case in BAD]
assert len(set(BAD_IDS)) == len(BAD_IDS)


@pytest.mark.parametrize("name, mutate, key, fragments", BAD, ids=BAD_IDS)
def test_bad_rules_dict(name, mutate, key, fragments):
    with pytest.raises(RulesError) as info:
        parse_rules(mutated(mutate), "x.toml")
    message = assert_rules_error(info, "x.toml", *fragments)
    assert message.startswith("x.toml: ")
    assert re.search(rf"(^|[\s:]){re.escape(key)}(\s|$)", message), f"key {key!r} not in {message!r}"


@pytest.mark.parametrize("name, mutate, key, fragments", BAD, ids=BAD_IDS)
def test_bad_rules_file(tmp_path, name, mutate, key, fragments):
    path = write(tmp_path, dump_toml(mutated(mutate)), "县里的规则.toml")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    message = assert_rules_error(info, str(path), *fragments)
    assert re.search(rf"(^|[\s:]){re.escape(key)}(\s|$)", message), f"key {key!r} not in {message!r}"


def test_parse_rules_default_source_is_named():
    with pytest.raises(RulesError) as info:
        parse_rules(mutated(set_("version", 2)))
    assert str(info.value).startswith("<rules>: ")
