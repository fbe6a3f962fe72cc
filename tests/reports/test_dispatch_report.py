"""The dispatch report's figures for the sample ledger replayed through a simulated January 2024, checked
against a table computed by hand (the reasoning for every figure is in the comments).

The sample is loaded at Tuesday 2024-01-02 09:00, so each sample problem's history is dated relative to
that moment (see models/seed/sample.toml). Then the sweep runs every day at 08:00 from 3 to 31 January,
and people act at the times below. Calendar: 30 Dec – 1 Jan is the New Year holiday; January has no other
holiday. Unit-level limit 10 workdays (land 20, demolition 15); county_leader 10 workdays; 13710 7 days
(deploy 1, feedback 3); government meeting 1 month; grace (remind_after) 2 workdays, 1 at 13710.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from openpyxl import load_workbook

from models.db import create_schema, make_engine, session
from reports.dispatch import Period, build
from reports.dispatch_render import write_dispatch
from service import directory_admin
from service.problems import ProblemService
from service.sample import load_sample
from service.sweep import run_sweep
from tests import backends
from tests.conftest import Clock, at

# Sample order → responsible unit (sample.toml): 1 开发区 (the project's unit; assigned below), 2 町店镇,
# 3 北留镇, 4 自然资源局, 5 自然资源局, 6 凤城镇, 7 自然资源局, 8 林业局, 9 自然资源局, 10 自然资源局.
ACTIONS = {
    # 1 (other, logged 1 Jan): assigned 3 Jan → deadline 10 workdays = 17 Jan; resolved 10 Jan, closed 11 Jan.
    "2024-01-03T10:00": [
        (1, "zhang.dcs", "assign", dict(unit="kaifaqu", person="xu.kfq", leader="wang.fxz", section="项目服务科"))
    ],
    # 8 (in review since 30 Dec; land, assigned 15 Dec → deadline 15 Jan): closed 4 Jan.
    "2024-01-04T09:00": [(8, "chen.dcs", "close", dict(rating="excellent"))],
    "2024-01-10T09:00": [(1, "xu.kfq", "resolve", dict(resolution="佐证资料已补齐，已入统"))],
    "2024-01-11T09:00": [(1, "zhang.dcs", "close", dict(rating="good"))],
    # 3 (demolition, assigned Sun 31 Dec → 15 workdays = 22 Jan): overdue 23 Jan, auto-escalated 25 Jan;
    # then resolved 26 Jan and closed 29 Jan — closed, but late.
    "2024-01-26T09:00": [(3, "lin.bl", "resolve", dict(resolution="5户已全部签约"))],
    "2024-01-29T09:00": [(3, "zhang.dcs", "close", dict(rating="pass"))],
    # 4: resolved 30 Jan at 13710, sent back 31 Jan (its deadline moves by the day spent in review).
    "2024-01-30T10:00": [(4, "sun.zrzy", "resolve", dict(resolution="已组卷上报"))],
    "2024-01-31T10:00": [(4, "zhang.dcs", "send_back", dict(reason="缺上报回执"))],
}


@pytest.fixture(scope="module", params=backends.BACKENDS)
def winter(request, tmp_path_factory, rules):
    engine = make_engine(backends.new_database_url(request.param, tmp_path_factory.mktemp("winter")))
    create_schema(engine)
    with session(engine) as s, s.begin():
        directory_admin.load_units(s)
        directory_admin.create_user(s, "admin", "系统管理员", "duchashi", "admin", None, at("2023-11-01"))
    codes = load_sample(engine, rules, at("2024-01-02T09:00"))["problems"]
    clock = Clock(at("2024-01-02T09:00"))
    svc = ProblemService(engine, rules, clock)
    timeline = {f"{date(2024, 1, d):%Y-%m-%d}T08:00": "sweep" for d in range(3, 32)}
    timeline.update(ACTIONS)
    # 11: a new major problem (funding) logged 8 Jan, assigned 9 Jan → straight to the government meeting.
    timeline["2024-01-08T09:00"] = "log-11"
    timeline["2024-01-09T09:00"] = [
        (
            11,
            "zhang.dcs",
            "assign",
            dict(unit="nongyenongcun", person="han.nync", leader="li.fxz", section="产业发展股"),
        )
    ]
    for moment in sorted(timeline):
        clock.set(moment)
        step = timeline[moment]
        if step == "sweep":
            run_sweep(engine, rules, clock.now)
        elif step == "log-11":
            codes.append(
                svc.log(
                    "han.nync", "阳羊洋2万只肉羊繁育基地", "funding", "二期圈舍建设资金缺口3000万元", severity="major"
                ).code
            )
        else:
            for number, actor, action, params in step:
                svc.act(actor, codes[number - 1], action, **params)
    yield engine, codes
    engine.dispose()


# Per unit for January 2024 (end: 1 Feb 00:00):
#  (new, closed, on_time, open, overdue, red, to_13710, to_meeting, avg_days)
EXPECTED = {
    # 1: assigned 3 Jan (new); closed 11 Jan, resolved 10 Jan ≤ 17 Jan, never overdue → on time; 8 days.
    "开发区": (1, 1, 1, 0, 0, 0, 0, 0, 8.0),
    # 8: closed 4 Jan, resolved 30 Dec ≤ 15 Jan → on time; 4 Jan − 15 Dec = 20 days.
    "林业局": (0, 1, 1, 0, 0, 0, 0, 0, 20.0),
    # 11: assigned 9 Jan (new); a major problem starts at 13710 (its ladder's first rung): no escalation.
    "农业农村局": (1, 0, 0, 1, 0, 0, 0, 0, None),
    # 6: county_leader, deadline 11 Jan → overdue 12 Jan, escalated to 13710 on 16 Jan (deadline 23 Jan),
    # overdue 24 Jan and stays there: a general problem's ladder ends at 13710. Red (sticky).
    "凤城镇": (0, 0, 0, 1, 1, 1, 1, 0, None),
    # 2: unit, deadline 9 Jan → escalated 12 Jan to county_leader (deadline 26 Jan) → escalated 31 Jan to
    # 13710 (deadline 7 Feb). Red (sticky).
    "町店镇": (0, 0, 0, 1, 0, 1, 1, 0, None),
    # 3: closed 29 Jan but went overdue (23 Jan) and was auto-escalated (25 Jan) → late; 29 Jan − 31 Dec = 29.
    "北留镇": (0, 1, 0, 0, 0, 0, 0, 0, 29.0),
    # 4: land unit deadline 4 Jan → escalated 9 Jan (deadline 23 Jan) → 13710 on 26 Jan (deadline 2 Feb,
    #    4 Feb after the send-back) — open, red, one to 13710.
    # 5: 13710 deadline 3 Jan → auto-escalated to the meeting 5 Jan (deadline 5 Feb) — open, red, to meeting.
    # 7: meeting, deadline 25 Dec — open, overdue, red (stalled at the top).
    # 10: suspended — open, not on the clock. 9: closed in December.
    "自然资源局": (0, 0, 0, 4, 1, 3, 1, 1, None),
}
# Ranking: fewer overdue, fewer closed late, more on time, fewer to 13710; ties share the rank.
RANKS = {"开发区": 1, "林业局": 1, "农业农村局": 3, "町店镇": 4, "北留镇": 5, "凤城镇": 6, "自然资源局": 6}


def _figures(u):
    return (u.new, u.closed, u.on_time, u.open, u.overdue, u.red, u.to_13710, u.to_meeting, u.avg_days)


def test_january_figures_by_hand(winter, rules):
    engine, codes = winter
    r = build(engine, rules, Period.parse("2024-01"), at("2024-02-02T09:00"), "admin")
    assert r.complete and r.end == at("2024-02-01T00:00")
    assert {u.unit: _figures(u) for u in r.units} == EXPECTED
    assert {u.unit: u.rank for u in r.units} == RANKS
    # No 约谈 on raw counts: the plan attaches "排名末3位" to the monthly assessment, not to this report.
    assert not any("bottom" in u.as_dict() or "bottom3" in u.as_dict() for u in r.units)
    assert [u.unit for u in r.units] == ["开发区", "林业局", "农业农村局", "町店镇", "北留镇", "凤城镇", "自然资源局"]
    t = r.total
    assert _figures(t) == (2, 3, 2, 7, 2, 5, 3, 1, 19.0)  # avg (8 + 20 + 29) / 3
    assert t.on_time_rate == pytest.approx(2 / 3)
    assert r.discovered_open == 0
    # Red items by days overdue at 31 Jan, most first (5: 28 days, 6: 8 days), then the sticky reds by code.
    assert [(x.code, x.days_overdue) for x in r.red] == [(codes[4], 28), (codes[5], 8)] + sorted(
        (codes[i - 1], 0) for i in (2, 4, 7)
    )
    five = r.red[0]
    assert (five.person, five.leader, five.project_leader, five.unit) == ("周鹏", "赵国强", "王建国", "自然资源局")
    # Open problems at the end of each day, and closings in the period so far.
    daily = {d.day: (o, c) for d, o, c in r.daily}
    assert len(r.daily) == 31
    assert daily[1] == (9, 0)  # 10 sample problems logged; 9 closed 28 Dec
    assert daily[4] == (8, 1)  # 8 closed
    assert daily[8] == (9, 1)  # 11 logged
    assert daily[11] == (8, 2)  # 1 closed
    assert daily[31] == (7, 3)  # 3 closed 29 Jan


def test_first_half_of_january(winter, rules):
    engine, codes = winter
    r = build(engine, rules, Period.parse("2024年1月", "1"), at("2024-02-02T09:00"), "admin")
    assert r.end == at("2024-01-16T00:00") and r.period.label == "2024年1月上半月（1–15日）"
    t = r.total
    # New: 1 and 11. Closed: 8 and 1, both on time. Overdue at 16 Jan 00:00: 7 (25 Dec) and 6 (11 Jan; its
    # escalation comes with the 16 Jan sweep). To the meeting: 5 (5 Jan); 11 starts at 13710 as a major problem.
    assert (t.new, t.closed, t.on_time, t.overdue, t.to_13710, t.to_meeting) == (2, 2, 2, 2, 0, 1)
    assert {u.unit: u.overdue for u in r.units if u.overdue} == {"自然资源局": 1, "凤城镇": 1}
    # Red at 16 Jan 00:00: 2, 4 and 5 (auto-escalated, sticky), 6 (grace over at 16 Jan 00:00), 7.
    assert sorted(x.code for x in r.red) == sorted(codes[i - 1] for i in (2, 4, 5, 6, 7))


def test_a_period_in_progress_and_errors(winter, rules):
    from workflow.errors import InvalidValue

    engine, _ = winter
    r = build(engine, rules, Period.parse("2024-01", "2"), at("2024-01-20T12:00"), "admin")
    assert not r.complete and r.end == at("2024-01-20T12:00") and len(r.daily) == 5
    with pytest.raises(InvalidValue, match="尚未开始"):
        build(engine, rules, Period.parse("2024-03"), at("2024-02-02"), "admin")
    for text, half in (("2024-13", None), ("January", None), ("2024-01", "3")):
        with pytest.raises(InvalidValue):
            Period.parse(text, half)
    assert Period.parse("２０２４年２月", "2").after == date(2024, 3, 1)


def test_written_files(winter, rules, tmp_path):
    engine, codes = winter
    r = build(engine, rules, Period.parse("2024-01"), at("2024-02-02T09:00"), "admin")
    html_path, xlsx_path = write_dispatch(r, rules, tmp_path, at("2024-02-02T09:00"))
    html = html_path.read_text("utf-8")
    assert "阳城县项目建设问题调度通报" in html and "2024年01月31日 24:00" in html
    assert 'class="bottom3"' not in html and "排名末3位" not in html  # no 约谈 on raw counts
    assert html.count("<svg") == 2 and "在办与本期累计销号" in html and codes[6] in html
    assert "本期新交办问题 <b>2</b> 个，办结销号 <b>3</b> 个，其中按期销号 <b>2</b> 个、按期率 <b>66.7%</b>" in html
    wb = load_workbook(xlsx_path)
    assert wb.sheetnames == ["排名", "红灯事项", "每日走势", "超期分布"]
    ws = wb["排名"]
    rows = {row[1]: row for row in ws.iter_rows(min_row=3, values_only=True) if row[1]}
    assert rows["自然资源局"][:13] == (
        6,
        "自然资源局",
        0,
        0,
        0,
        None,
        4,
        1,
        3,
        1,
        1,
        None,
        0,
    )  # 调度记录: none recorded in this sample
    assert rows["开发区"][5] == 1 and ws["F3"].number_format == "0.0%"
    assert rows["全县合计"][2:12] == (2, 3, 2, pytest.approx(2 / 3), 7, 2, 5, 3, 1, 19.0)
    assert len(wb["每日走势"]._charts) == 1 and len(wb["超期分布"]._charts) == 1
    assert wb["红灯事项"].max_row == 6
    assert json.dumps(r.as_dict(), ensure_ascii=False, default=str)


def test_figures_come_from_the_audit_log_as_of_the_end(winter, rules, tmp_path):
    """Acting after the period changes nothing in its report."""
    from tests.backends import copy_database

    engine, codes = winter
    before = build(engine, rules, Period.parse("2024-01"), at("2024-02-02T09:00"), "admin").as_dict()
    engine.dispose()  # PostgreSQL copies from a template with no open connections
    later = make_engine(copy_database(engine.url.render_as_string(hide_password=False), tmp_path))
    svc = ProblemService(later, rules, lambda: at("2024-02-05T09:00"))
    svc.act("sun.zrzy", codes[6], "resolve", resolution="已取得批复")
    svc.act("zhang.dcs", codes[6], "close", rating="good")
    run_sweep(later, rules, at("2024-02-06T08:00"))
    after = build(later, rules, Period.parse("2024-01"), at("2024-02-06T09:00"), "admin").as_dict()
    later.dispose()
    assert after == before
