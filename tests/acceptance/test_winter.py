"""A whole winter campaign through the command line: log, assign, let deadlines pass with --at, watch
reminders and escalations climb the ladder, resolve, send back, resolve again, close.

The ladder is the plan's (阳政办发〔2023〕84号): a general problem climbs unit → county leader → "13710" and
stays there, red, however long it lasts; only a major problem goes on to the county government meeting.
Before the ladder by severity this story took the general land problem to the meeting on 2024-01-05; now it
stops at 13710 until the inspection office reclassifies it as major, and reaches the meeting when the 13710
major period (one month) lapses."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.acceptance


def setup_county(duban):
    duban("init", at="2023-11-15")
    duban(
        "user",
        "add",
        "zhang.dcs",
        "--name",
        "张晓明",
        "--unit",
        "督查室",
        "--role",
        "inspector",
        "--email",
        "zhang@yc.example",
    )
    duban(
        "user",
        "add",
        "zhao.zrzy",
        "--name",
        "赵国强",
        "--unit",
        "自然资源局",
        "--role",
        "unit_head",
        "--email",
        "zhao@yc.example",
    )
    duban(
        "user",
        "add",
        "sun.zrzy",
        "--name",
        "孙丽",
        "--unit",
        "ziranziyuan",
        "--role",
        "staff",
        "--email",
        "sun@yc.example",
    )
    duban("user", "add", "xu.kfq", "--name", "徐海", "--unit", "开发区管委会", "--role", "staff")
    duban(
        "user",
        "add",
        "wang.fxz",
        "--name",
        "王建国",
        "--unit",
        "county_gov",
        "--role",
        "county_leader",
        "--email",
        "wang@yc.example",
    )
    duban("project", "add", "嘉润综合物流园区", "--unit", "kaifaqu", "--leader", "wang.fxz")


def log_land_problem(duban, title: str, at: str, *extra: str) -> str:
    """A land problem of 嘉润综合物流园区 for 自然资源局, logged by the 开发区 clerk; returns its code."""
    args = ["log", "--project", "嘉润综合物流园区", "--unit", "自然资源局", "--category", "土地", "--title", title]
    return duban(*args, *extra, at=at, user="xu.kfq").stdout.strip()


def test_a_whole_winter(duban):
    setup_county(duban)
    code = log_land_problem(
        duban, "二期冷链仓储用地预审未办结", "2023-11-20T10:00", "--description", "用地预审与选址意见书尚未取得"
    )
    assert code == "WT-2023-0001"

    out = duban(
        "assign",
        code,
        "--unit",
        "ziranziyuan",
        "--person",
        "sun.zrzy",
        "--leader",
        "zhao.zrzy",
        "--section",
        "耕地保护股",
        at="2023-11-21T09:00",
        user="zhang.dcs",
    ).stdout
    assert "交办" in out and "2023-12-19" in out  # land at unit level: 20 working days
    duban("ack", code, at="2023-11-21T15:00", user="sun.zrzy")
    duban("feedback", code, "--text", "已组卷，待市局审查", at="2023-11-28T10:00", user="sun.zrzy")

    # The warning window opens two working days before the deadline.
    swept = duban.json("sweep", at="2023-12-14T08:00")
    assert swept["actions"] == {}
    swept = duban.json("sweep", at="2023-12-15T08:00")
    assert swept["actions"] == {"warn": 1}
    assert duban.json("show", code)["light"] == "blue"

    # The day after the deadline: 催办, yellow. Twice at the same time: nothing new.
    swept = duban.json("sweep", at="2023-12-20T08:00")
    assert swept["actions"] == {"overdue": 1}
    assert duban.json("sweep", at="2023-12-20T08:00") == {**swept, "selected": 0, "actions": {}, "items": []}
    assert duban.json("list", "--overdue", at="2023-12-20T08:00")[0]["code"] == code

    # Grace over: escalated to the contracting county leader, with its own fresh time; red.
    swept = duban.json("sweep", at="2023-12-22T08:00")
    assert swept["actions"] == {"escalate": 1}
    shown = duban.json("show", code, at="2023-12-22T08:00")
    assert (shown["state"], shown["level"], shown["light"]) == ("supervised", "county_leader", "red")
    assert shown["deadline"] > "2023-12-22"

    # The inspection office issues a 13710 supervision letter by hand.
    out = duban(
        "escalate",
        code,
        "--to",
        "supervision_13710",
        "--reason",
        "久拖不决，发督办函",
        at="2023-12-25T09:00",
        user="zhang.dcs",
    ).stdout
    assert "13710" in out
    shown = duban.json("show", code)
    assert (shown["deploy_due"], shown["feedback_due"], shown["deadline"]) == ("2023-12-26", "2023-12-28", "2024-01-02")

    # Deploy milestone missed → 催办; then acknowledged and fed back.
    assert duban.json("sweep", at="2023-12-27T08:00")["actions"] == {"remind": 1}
    duban("ack", code, at="2023-12-27T09:00", user="zhao.zrzy")
    duban("feedback", code, "--text", "已报市局，待批复", at="2023-12-27T16:00", user="sun.zrzy")

    # Settle milestone (the level deadline 2024-01-02) missed, grace (1 working day) over: 13710 is the top
    # of a general problem's ladder, so it stays there, red, and everyone is told — the inspection office
    # included. (It used to go on to the county government meeting here.)
    swept = duban.json("sweep", at="2024-01-05T08:00")
    assert swept["actions"] == {"stall": 1}
    shown = duban.json("show", code)
    assert (shown["level"], shown["light"]) == ("supervision_13710", "red")
    assert "escalate" not in shown["actions"] and "reclassify" in shown["actions"]  # as admin sees the page
    stalled = {n["recipient"] for n in shown["notices"] if (n["kind"], n["level"]) == ("overdue", "supervision_13710")}
    assert {"zhang.dcs", "sun.zrzy", "zhao.zrzy", "wang.fxz"} <= stalled
    out = duban(
        "escalate",
        code,
        "--to",
        "government_meeting",
        "--reason",
        "x",
        at="2024-01-08T09:00",
        user="zhang.dcs",
        ok=False,
    )
    assert "重新定性为重大问题" in out.stderr

    # The inspection office reclassifies it as major: at 13710 a major problem has one month from the day it
    # entered the level (2023-12-25 → 2024-01-25), and then goes to the county government meeting.
    out = duban(
        "reclassify", code, "--reason", "涉及永久基本农田，属重大复杂问题", at="2024-01-08T09:00", user="zhang.dcs"
    ).stdout
    assert "2024-01-25" in out
    shown = duban.json("show", code)
    assert (shown["severity"], shown["deadline"], shown["level"]) == ("major", "2024-01-25", "supervision_13710")
    assert duban.json("sweep", at="2024-01-26T08:00")["actions"] == {"overdue": 1}
    swept = duban.json("sweep", at="2024-01-29T08:00")  # grace: Friday 01-26; escalated after it
    assert swept["actions"] == {"escalate": 1}
    assert duban.json("show", code)["level"] == "government_meeting"

    # Resolve; rated 不合格 (fail) it is sent back with the reason, never closed; resolve again; close with
    # a rating (required).
    duban("resolve", code, "--resolution", "已取得用地预审意见", at="2024-02-01T10:00", user="sun.zrzy")
    assert duban.json("list", "--state", "review")[0]["code"] == code
    out = duban("close", code, "--rating", "不合格", at="2024-02-02T10:00", user="zhang.dcs", ok=False)
    assert "退回理由（--reason）不能为空" in out.stderr
    duban(
        "close", code, "--rating", "不合格", "--reason", "缺少批复文件扫描件", at="2024-02-02T10:00", user="zhang.dcs"
    )
    assert duban.json("show", code)["state"] == "supervised"
    duban("resolve", code, "--resolution", "已补充批复文件", at="2024-02-05T10:00", user="sun.zrzy")
    out = duban("close", code, at="2024-02-06T10:00", user="zhang.dcs", ok=False)
    assert "缺少必填参数 --rating" in out.stderr
    out = duban("close", code, "--rating", "良好", at="2024-02-06T10:00", user="zhang.dcs").stdout
    assert "销号" in out

    shown = duban.json("show", code)
    assert shown["state"] == "closed" and shown["rating"] == "good"
    actions = [e["action"] for e in shown["history"]]
    assert actions == [
        "log",
        "assign",
        "ack",
        "feedback",
        "warn",
        "overdue",
        "escalate",
        "escalate",
        "remind",
        "ack",
        "feedback",
        "stall",
        "reclassify",
        "overdue",
        "escalate",
        "resolve",
        "send_back",
        "resolve",
        "close",
    ]
    levels = [e["to_level"] for e in shown["history"] if e["action"] == "escalate"]
    assert levels == ["county_leader", "supervision_13710", "government_meeting"]
    sent_back = next(e for e in shown["history"] if e["action"] == "send_back")
    assert sent_back["data"]["rating"] == "fail" and sent_back["comment"] == "缺少批复文件扫描件"
    assert all(e["at"] and e["actor"] for e in shown["history"])
    # Nothing was sent (the inbox's rows are there as they are written).
    assert {n["status"] for n in shown["notices"] if n["channel"] != "inbox"} <= {"pending", "undeliverable"}
    # Closed problems are never swept again.
    assert duban.json("sweep", at="2024-06-01T08:00")["selected"] == 0


def test_sample_ledger_and_make_run_flow(duban):
    out = duban("init", "--sample", at="2024-01-10T09:00").stdout
    assert "示例数据" in out and "WT-2024-0001" in out
    rows = duban.json("list", at="2024-01-10T09:00")
    assert len(rows) == 10
    assert {r["category"] for r in rows} == {"land", "demolition", "other"}
    assert sorted(r["category"] for r in rows).count("land") == 6
    assert {r["state"] for r in rows} >= {"discovered", "assigned", "supervised", "review", "closed", "suspended"}
    duban("sweep", at="2024-01-10T09:00")
    assert "问题台账" in duban("list", at="2024-01-10T09:00").stdout


def test_three_months_of_the_sample_ledger_take_only_the_major_problem_to_the_meeting(duban):
    """The replay the domain review ran: the sample ledger left to the scheduler for a winter. Before the
    ladder by severity 7 of its 10 problems ended on the county government meeting's agenda; the plan sends
    only 重大问题 there, and general ones stay at 13710 (red, reminded every 5 working days)."""
    duban("init", "--sample", at="2024-01-10T09:00")
    out = duban("scheduler", "--until", "2024-04-10T09:00", "--step", "1d", "--no-deliver", at="2024-01-10T09:00")
    assert "模拟结束" in out.stdout
    rows = {r["code"]: r for r in duban.json("list", at="2024-04-10T09:00")}
    at_meeting = {code for code, r in rows.items() if r["level"] == "government_meeting"}
    majors = {code for code, r in rows.items() if r["severity"] == "major"}
    assert at_meeting == majors and len(majors) == 1
    stuck = [r for r in rows.values() if r["severity"] == "general" and r["state"] in ("assigned", "supervised")]
    assert stuck and all(r["level"] != "government_meeting" for r in stuck)
    assert {r["level"] for r in stuck} <= {"unit", "county_leader", "supervision_13710"}
    # The general problems at the top of their ladder are red and were reminded more than once.
    (major,) = majors
    top = [r["code"] for r in stuck if r["level"] == "supervision_13710"]
    assert top and all(rows[c]["light"] == "red" for c in top)
    history = duban.json("show", top[0], at="2024-04-10T09:00")["history"]
    assert [e["action"] for e in history].count("stall") >= 2
    assert "escalate" in [e["action"] for e in duban.json("show", major)["history"]]


def test_deadline_in_an_unknown_year_is_provisional_not_a_crash(duban):
    setup_county(duban)
    code = duban(
        "log",
        "--project",
        "嘉润综合物流园区",
        "--category",
        "permit",
        "--title",
        "跨年手续",
        at="2026-12-20T09:00",
        user="xu.kfq",
    ).stdout.strip()
    out = duban(
        "assign",
        code,
        "--unit",
        "ziranziyuan",
        "--person",
        "sun.zrzy",
        "--leader",
        "zhao.zrzy",
        "--section",
        "行政审批股",
        at="2026-12-21T09:00",
        user="zhang.dcs",
    ).stdout
    assert "暂定" in out
    assert duban.json("show", code)["deadline_provisional"] is True
    assert "暂定" in duban("list").stdout
    out = duban("calendar", "add", "2026-12-28", "5 workdays").stdout
    # 12-29, 12-30, 12-31, (2027-01-01 元旦 is a statutory holiday even before the schedule), 01-04, 01-05
    assert out.startswith("2027-01-05") and "暂定" in out


def test_calendar_add_and_diagram_and_rules_check(duban):
    assert duban("calendar", "add", "2024-02-08", "3 workdays", user=None).stdout.strip() == "2024-02-19"
    assert duban("calendar", "add", "2024-09-28", "7天", user=None).stdout.strip() == "2024-10-08"
    diagram = duban("diagram", user=None).stdout
    assert diagram.startswith("stateDiagram-v2") and "review --> closed" in diagram
    assert "规则文件有效" in duban("rules", "check", user=None).stdout


def test_rules_check_counts_and_calendar_refresh_recomputes_once(duban, tmp_path):
    """The State Council publishes 2027 (here: 01-01 and Monday 01-04 off, invented for the test): the county
    declares it in the rules file, `rules check` says what would move, `calendar refresh` moves it, once."""
    from workflow.rules import DEFAULT_RULES_PATH

    setup_county(duban)
    code = duban(
        "log", "--project", "嘉润综合物流园区", "--category", "permit", "--title", "跨年手续",
        at="2026-12-28T08:00", user="xu.kfq",
    ).stdout.strip()  # fmt: skip
    duban(
        "assign", code, "--unit", "ziranziyuan", "--person", "sun.zrzy", "--leader", "zhao.zrzy",
        "--section", "行政审批股", at="2026-12-28T09:00", user="zhang.dcs",
    )  # fmt: skip
    # 10 working days from 2026-12-28, 2027-01-01 a holiday by law alone: … 01-11, 01-12.
    shown = duban.json("show", code)
    assert (shown["deadline"], shown["deadline_provisional"]) == ("2027-01-12", True)

    text = DEFAULT_RULES_PATH.read_text("utf-8")
    text = text.replace("extra_holidays = []", "extra_holidays = [2027-01-01, 2027-01-04]")
    text = text.replace("declared_years = []", "declared_years = [2027]")
    declared = tmp_path / "rules-2027.toml"
    declared.write_text(text, "utf-8")

    out = duban("rules", "check", str(declared), at="2026-12-29T08:00", user=None).stdout
    assert "1 个未销号问题的办结时限" in out and code in out and "未写入" in out
    assert duban.json("show", code)["deadline"] == "2027-01-12"  # the check wrote nothing

    report = duban.json("--rules", str(declared), "calendar", "refresh", at="2026-12-29T08:00")
    assert (report["checked"], report["changed"], report["moved"]) == (1, 1, 1)
    shown = duban.json("show", code)
    assert (shown["deadline"], shown["deadline_provisional"]) == ("2027-01-13", False)
    assert [e["action"] for e in shown["history"]].count("recalculate") == 1
    again = duban.json("--rules", str(declared), "calendar", "refresh", at="2026-12-29T09:00")
    assert (again["checked"], again["changed"]) == (0, 0)
    assert (
        "没有未销号问题的办结时限需要重新核定"
        in duban("--rules", str(declared), "rules", "check", str(declared), at="2026-12-29T09:00", user=None).stdout
    )
