"""Bad input: one clear Chinese line naming the field, the value and what is allowed; a non-zero exit;
no traceback; and nothing changed."""

from __future__ import annotations

import pytest

from tests import backends
from tests.acceptance.test_winter import setup_county

pytestmark = pytest.mark.acceptance


@pytest.fixture(scope="module", params=backends.BACKENDS)
def template(request, tmp_path_factory):
    """One county with one assigned problem, built once per database; each test gets its own copy."""
    from tests.acceptance.conftest import Duban

    folder = tmp_path_factory.mktemp("county")
    duban = Duban(backends.new_database_url(request.param, folder), folder)
    setup_county(duban)
    code = duban(
        "log",
        "--project",
        "嘉润综合物流园区",
        "--category",
        "land",
        "--title",
        "用地预审",
        at="2024-01-08T09:00",
        user="xu.kfq",
    ).stdout.strip()
    duban(
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
        at="2024-01-08T10:00",
        user="zhang.dcs",
    )
    return duban, code


@pytest.fixture
def county(template, tmp_path):
    duban, code = template
    return duban.copy_to(tmp_path), code


def state(duban, code):
    return duban.dump()


CASES = [
    # (args, user, expected fragments of the one-line error)
    (
        ["log", "--project", "嘉润综合物流园区", "--category", "roads", "--title", "x"],
        "xu.kfq",
        ["问题类型（--category）", "roads", "land（土地）"],
    ),
    (["log", "--project", "嘉润综合物流园区", "--category", "land"], "xu.kfq", ["缺少必填参数 --title"]),
    (
        ["log", "--project", "不存在的项目", "--category", "land", "--title", "x"],
        "xu.kfq",
        ["项目（--project）「不存在的项目」不存在", "duban project list"],
    ),
    (
        ["log", "--project", "嘉润综合物流园区", "--category", "land", "--title", "x", "--severity", "urgent"],
        "xu.kfq",
        ["问题性质（--severity）", "urgent", "major（重大）"],
    ),
    (
        ["log", "--project", "嘉润综合物流园区", "--category", "land", "--title", "x", "--unit", "火星局"],
        "xu.kfq",
        ["责任单位（--unit）「火星局」不存在", "duban unit list"],
    ),
    (
        ["log", "--project", "嘉润综合物流园区", "--category", "land", "--title", "x"],
        "ghost",
        ["当前用户（--as / DUBAN_USER）「ghost」不存在"],
    ),
    (["log", "--project", "嘉润综合物流园区", "--category", "land", "--title", "x"], None, ["--as"]),
    (["close", "{code}", "--rating", "good"], "zhang.dcs", ["当前状态为「交办」", "不能销号"]),
    (["resolve", "{code}", "--resolution", "好了"], "xu.kfq", ["无权", "申请销号"]),
    (["feedback", "{code}", "--text", "  "], "sun.zrzy", ["反馈内容（--text）不能为空"]),
    (
        ["escalate", "{code}", "--to", "province", "--reason", "x"],
        "zhang.dcs",
        ["目标层级（--to）", "province", "county_leader"],
    ),
    (["escalate", "{code}", "--to", "unit", "--reason", "x"], "zhang.dcs", ["不高于当前层级"]),
    (["ack", "WT-2024-0999"], "sun.zrzy", ["问题编号「WT-2024-0999」不存在"]),
    (["ack", "2024-1"], "sun.zrzy", ["问题编号「2024-1」格式无效", "WT-2024-0001"]),
    (["feedback", "{code}", "--text", "x", "--expect-version", "1"], "sun.zrzy", ["已被他人修改"]),
    (
        ["user", "add", "Bad Login", "--name", "x", "--unit", "督查室", "--role", "staff"],
        "admin",
        ["登录名「Bad Login」无效"],
    ),
    (
        ["user", "add", "newbie", "--name", "x", "--unit", "督查室", "--role", "boss"],
        "admin",
        ["角色（--role）", "boss", "inspector"],
    ),
    (["user", "add", "newbie", "--name", "x", "--unit", "督查室", "--role", "staff"], "sun.zrzy", ["只有管理员"]),
    (["user", "add", "zhang.dcs", "--name", "x", "--unit", "督查室", "--role", "staff"], "admin", ["已存在"]),
    (["project", "add", "新项目", "--unit", "kaifaqu", "--leader", "sun.zrzy"], "admin", ["county_leader"]),
    (["calendar", "add", "2024-02-30", "3 workdays"], None, ["起始日期「2024-02-30」不是有效日期"]),
    (["calendar", "add", "2024-02-08", "3 weeks"], None, ["单位「weeks」无效", "workdays"]),
    (["list", "--light", "purple"], "admin", ["预警灯（--light）", "purple", "red（红灯）"]),
    (["frobnicate"], None, ["没有这个命令"]),
    (["list", "--colour", "x"], None, ["没有选项 --colour"]),
]


@pytest.mark.parametrize("args,user,fragments", CASES, ids=[" ".join(c[0])[:40] for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(county, args, user, fragments):
    duban, code = county
    before = state(duban, code)
    result = duban(*[a.replace("{code}", code) for a in args], user=user, ok=False, at="2024-01-09T09:00")
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert state(duban, code) == before


def test_bad_at_bad_rules_and_uninitialised_database(duban, tmp_path):
    """Refusals before any database work; one backend is enough."""
    r = duban("list", at="next tuesday", user="admin", ok=False)
    assert "时间「next tuesday」不是 ISO 8601 时间" in r.stderr and "（--at / DUBAN_NOW）" in r.stderr
    r = duban("list", user="admin", ok=False)
    assert "尚未初始化" in r.stderr and "duban init" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\n[calendar]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    r = duban("--rules", str(bad), "rules", "check", ok=False)
    assert "bad.toml" in r.stderr and "calendar.timezone" in r.stderr and "Mars/Olympus" in r.stderr
    r = duban("rules", "check", str(tmp_path / "missing.toml"), ok=False)
    assert "不存在" in r.stderr
    r = duban("--db", "nonsense://x", "list", user="admin", ok=False)
    assert "数据库" in r.stderr


def test_exit_codes_are_distinct_per_kind_of_error(county):
    duban, code = county
    assert duban("ack", "WT-2024-0999", user="sun.zrzy", ok=False).returncode == 3
    assert duban("resolve", code, "--resolution", "x", user="xu.kfq", ok=False).returncode == 4
    assert duban("close", code, "--rating", "good", user="zhang.dcs", ok=False).returncode == 5
    assert (
        duban(
            "log", "--project", "嘉润综合物流园区", "--category", "x", "--title", "t", user="xu.kfq", ok=False
        ).returncode
        == 2
    )
