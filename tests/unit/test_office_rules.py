"""The rules file's office sections ([letters], [assessment], [[campaigns]]), the working-day rule for the
half-monthly dispatch and the monthly assessment, and the 督办函's facts — pure, no database."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from workflow.assessment import Month, period_text
from workflow.errors import InvalidValue, RulesError
from workflow.letters import addressee, letter_facts, letter_number
from workflow.office_rules import first_workday_from, parse_target, period_words
from workflow.rules import DEFAULT_RULES_PATH, load_rules, parse_rules

pytestmark = pytest.mark.unit
SH = ZoneInfo("Asia/Shanghai")
SHIPPED = tomllib.loads(DEFAULT_RULES_PATH.read_text("utf-8"))


def with_section(name: str, value) -> dict:
    data = {k: v for k, v in SHIPPED.items()}
    data[name] = value
    return data


def test_the_shipped_file_sets_the_office_sections():
    r = load_rules()
    assert r.letters.prefix == "阳督函" and r.letters.sign is True
    assert r.letters.copy_to == ("县委督查室", "县政府办公室")  # units, not people
    assert r.assessment.day == 25 and r.assessment.consequence == ""  # no consequence by default
    assert sum(i.weight for i in r.assessment.indicators) == r.assessment.total == 100
    (winter,) = r.campaigns
    assert (winter.name, winter.start, winter.end, winter.target) == (
        "冬季行动",
        date(2023, 11, 1),
        date(2024, 2, 20),
        100,
    )
    assert winter.target_label == "力争全部解决"
    assert "decision" in r.notices and r.notices["decision"]


def test_a_file_without_the_sections_gets_defaults():
    data = {k: v for k, v in SHIPPED.items() if k not in ("letters", "assessment", "campaigns")}
    r = parse_rules(data, "x.toml")
    assert r.letters.prefix == "阳督函" and r.campaigns == ()
    assert [i.key for i in r.assessment.indicators][0] == "on_time_closure"


@pytest.mark.parametrize(
    "indicators, words",
    [
        ({"on_time_closure": {"weight": "thirty"}}, "on_time_closure.weight 的值「thirty」不是数字"),
        ({"on_time_closure": {"weight": True}}, "不是数字"),
        ({"on_time_closure": {}}, "weight 的值（缺失）不是数字"),
        ({"on_time_closure": {"weight": -5}}, "不能小于 0"),
        (
            {"on_time_closure": {"weight": 60}, "send_backs": {"weight": 30}},
            "权重之和为 90（on_time_closure 60、send_backs 30），应等于 total = 100",
        ),
        ({"speed": {"weight": 100}}, "键 assessment.indicators.speed 不认识"),
        ({"on_time_closure": {"weight": 100, "penalty": 5}}, "on_time_closure.penalty 不认识"),
    ],
)
def test_bad_indicator_weights_are_refused_naming_the_key(indicators, words):
    section = {k: v for k, v in SHIPPED["assessment"].items()}
    section["indicators"] = indicators
    with pytest.raises(RulesError) as exc:
        parse_rules(with_section("assessment", section), "规则.toml")
    assert exc.value.message.startswith("规则.toml: 键 assessment.")
    assert words in exc.value.message


def test_weights_must_sum_as_the_file_says():
    section = {**SHIPPED["assessment"], "total": 10}
    with pytest.raises(RulesError, match="权重之和为 100.*应等于 total = 10"):
        parse_rules(with_section("assessment", section), "x.toml")
    ok = {"total": 1, "indicators": {"on_time_closure": {"weight": 0.5}, "send_backs": {"weight": 0.5, "penalty": 10}}}
    r = parse_rules(with_section("assessment", ok), "x.toml")
    assert [(i.key, i.weight, i.penalty) for i in r.assessment.indicators] == [
        ("on_time_closure", 0.5, 0.0),
        ("send_backs", 0.5, 10.0),
    ]


@pytest.mark.parametrize(
    "letters, words",
    [
        ({"prefix": "阳督函2"}, "prefix 的值「阳督函2」无效"),
        ({"prefix": "阳〔督〕函"}, "不能含空格、数字、括号"),
        ({"organ_mark": " "}, "organ_mark 不能为空"),
        ({"copy_to": ["县委督查室", ""]}, "copy_to[1] 应为单位名称"),
        ({"sign": "yes"}, 'sign 的值「"yes"」类型错误'),
        ({"seal": True}, "键 letters.seal 不认识"),
    ],
)
def test_bad_letter_settings_are_refused(letters, words):
    with pytest.raises(RulesError) as exc:
        parse_rules(with_section("letters", {**SHIPPED["letters"], **letters}), "x.toml")
    assert words in exc.value.message


@pytest.mark.parametrize(
    "campaign, words",
    [
        (
            {"name": "冬季行动", "start": date(2024, 2, 21), "end": date(2024, 2, 20)},
            "结束日期 2024-02-20 早于开始日期",
        ),
        ({"name": "冬季行动", "start": "2023-11-01", "end": "明年"}, "end 的值「明年」不是日期"),
        ({"name": "冬季行动", "start": date(2023, 11, 1), "end": date(2024, 2, 20), "target": 120}, "目标「120」无效"),
    ],
)
def test_bad_campaigns_are_refused(campaign, words):
    with pytest.raises(RulesError) as exc:
        parse_rules(with_section("campaigns", [campaign]), "x.toml")
    assert words in exc.value.message and "campaigns[0]." in exc.value.message


def test_campaign_targets():
    assert parse_target("90%") == 90 and parse_target(75) == 75 and parse_target("全部解决") == 100
    with pytest.raises(InvalidValue, match="目标「0」无效"):
        parse_target("0")


def test_periods_as_a_letter_words_them():
    from workflow.calendar import Period

    assert [period_words(Period.parse(t)) for t in ("1 calendar_days", "3 workdays", "1 months")] == [
        "1日内",
        "3个工作日内",
        "1个月内",
    ]
    assert letter_number("阳督函", 2024, 3) == "阳督函〔2024〕3号"


def test_the_addressee_is_a_unit_as_county_letters_name_it():
    assert addressee("自然资源局", ("县自然资源局", "阳城县自然资源局")) == "县自然资源局"
    assert addressee("町店镇", ("町店镇人民政府",)) == "町店镇人民政府"
    assert addressee("开发区", ("阳城经济技术开发区", "开发区管委会")) == "开发区管委会"
    assert addressee("阳泰集团") == "阳泰集团"


def test_letter_facts_come_from_the_rules_and_hold_no_system_state():
    r = load_rules()
    facts = letter_facts(
        r,
        unit="县自然资源局",
        project="化工园区基础设施建设",
        title="用地缺补充耕地指标",
        description="需占用耕地约42亩。",
        category="land",
        severity="major",
        issued=date(2024, 1, 14),
        deploy_due=date(2024, 1, 15),
        feedback_due=date(2024, 1, 17),
        settle_due=date(2024, 2, 14),
        assigned=date(2024, 1, 3),
        from_level="county_leader",
    )
    # 13710 periods from the rules file: 1 and 3 days, and for a major problem the override's 1 month.
    assert [(m["action"], m["due"], m["period"]) for m in facts["milestones"]] == [
        ("研究部署", "2024-01-15", "1日内"),
        ("反馈办理情况", "2024-01-17", "3日内"),
        ("落实到位", "2024-02-14", "1个月内"),
    ]
    assert facts["topic"] == "用地" and facts["major"] is True
    assert facts["background"] == "该问题于2024年1月3日交办，经项目包联县级领导牵头协调"
    assert (facts["contact"], facts["phone"], facts["copy_to"]) == (
        "张晓明",
        "0356-4222222",
        ["县委督查室", "县政府办公室"],
    )
    shown = repr(facts)
    for system in ("supervision_13710", "红灯", "WT-", "county_leader'", "light"):
        assert system not in shown.replace("'from_level'", "")
    given = letter_facts(
        r,
        unit="u",
        project="p",
        title="t",
        description="",
        category="other",
        severity="general",
        issued=date(2024, 1, 14),
        deploy_due=date(2024, 1, 15),
        feedback_due=date(2024, 1, 17),
        settle_due=date(2024, 1, 30),
        deadline_given=True,
    )
    assert given["milestones"][2]["period"] == "" and given["topic"] == "" and given["description"] == "t"


# -- working days for periodic work ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2024, 1, 1), date(2024, 1, 2)),  # 元旦 (Monday)
        (date(2023, 12, 16), date(2023, 12, 18)),  # a Saturday
        (date(2024, 2, 16), date(2024, 2, 18)),  # 春节 holiday; Sunday 18 Feb is a make-up working day
        (date(2024, 2, 1), date(2024, 2, 1)),  # a Thursday
        (date(2024, 10, 1), date(2024, 10, 8)),  # 国庆
    ],
)
def test_first_working_day_on_or_after(day, expected):
    assert first_workday_from(load_rules().calendar, day.year, day.month, day.day) == expected


@pytest.mark.parametrize(
    "moment, period",
    [
        ("2023-12-31T12:00", "2023-12/16"),
        ("2024-01-01T12:00", "2023-12/16"),  # 元旦: the 1 January dispatch waits
        ("2024-01-02T08:59", "2023-12/16"),
        ("2024-01-02T09:00", "2024-01/01"),
        ("2024-02-16T09:00", "2024-02/01"),  # in 春节
        ("2024-02-17T23:00", "2024-02/01"),
        ("2024-02-18T09:00", "2024-02/16"),  # the make-up Sunday
        ("2023-12-16T09:00", "2023-12/01"),  # Saturday
        ("2023-12-18T09:30", "2023-12/16"),
    ],
)
def test_dispatch_periods_begin_on_working_days(moment, period):
    from service.digests import dispatch_period

    now = datetime.fromisoformat(moment).replace(tzinfo=SH).astimezone(UTC)
    assert dispatch_period(load_rules(), now) == period


def test_assessment_months():
    r = load_rules()
    m = Month.parse("2024年1月")
    assert (m.slug, m.label, m.period(25)) == ("2024-01", "2024年1月", (date(2023, 12, 25), date(2024, 1, 25)))
    assert period_text(*m.period(25)) == "2023年12月25日至2024年1月24日"
    assert m.run_day(r) == date(2024, 1, 25)  # a Thursday
    assert Month(2024, 2).run_day(r) == date(2024, 2, 26)  # Sunday 25 Feb → Monday
    assert Month(2023, 12).next() == Month(2024, 1)
    with pytest.raises(InvalidValue, match="考核月份「2024-13」无效"):
        Month.parse("2024-13")
