"""The channel, inbox and outbox commands end to end: a unit's 企业微信 group robot (tests/channel_servers.py on
127.0.0.1) registered with ``channel add``, tested with ``channel test``, receiving 交办 notices only inside
office hours; the staff member's inbox read and marked read; bad input refused with one Chinese line."""

from __future__ import annotations

import json

import pytest

from tests.acceptance.conftest import Duban
from tests.acceptance.test_winter import setup_county
from tests.channel_servers import WeComRobotServer

pytestmark = pytest.mark.acceptance
KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"


class ChannelDuban(Duban):
    """``Duban`` with the robots' http:// addresses on 127.0.0.1 allowed and a base URL for links."""

    def env(self, at, user):
        env = super().env(at, user)
        env["DUBAN_CHANNELS_ALLOW_HTTP"] = "1"
        env["DUBAN_BASE_URL"] = "https://duban.example.gov.cn"
        return env


@pytest.fixture
def county(db_url, tmp_path):
    duban = ChannelDuban(db_url, tmp_path)
    setup_county(duban)
    return duban


@pytest.fixture
def robot():
    with WeComRobotServer() as server:
        yield server


def _assigned(duban, at: str) -> str:
    code = duban(
        "log", "--project", "嘉润综合物流园区", "--category", "land", "--title", "用地预审", at=at, user="xu.kfq"
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
        at=at,
        user="zhang.dcs",
    )
    return code


def test_bad_channel_input_is_refused(county, robot):
    url = robot.add_robot(KEY)
    r = county(
        "channel", "add", "g", "--kind", "wecom", "--url", "ftp://x.example/hook", "--unit", "ziranziyuan", ok=False
    )
    assert "ftp://x.example/hook" in r.stderr and "--url" in r.stderr
    r = county("channel", "add", "g", "--kind", "wecom", "--url", url, "--unit", "不存在的局", ok=False)
    assert "不存在的局" in r.stderr
    r = county("channel", "add", "g", "--kind", "fax", "--url", url, "--unit", "ziranziyuan", ok=False)
    assert "fax" in r.stderr
    r = county(
        "channel", "add", "g", "--kind", "wecom", "--url", url, "--secret", "SECabc", "--unit", "ziranziyuan", ok=False
    )
    assert "加签" in r.stderr
    assert json.loads(county("channel", "list", "--json").stdout) == []


def test_group_robot_inbox_and_office_hours(county, robot):
    url = robot.add_robot(KEY)
    county("channel", "add", "自然资源局工作群", "--kind", "wecom", "--url", url, "--unit", "ziranziyuan")
    [row] = json.loads(county("channel", "list", "--json").stdout)
    assert row["name"] == "自然资源局工作群" and row["kind"] == "wecom" and KEY not in row["address"]

    r = county("channel", "test", "自然资源局工作群")
    assert "发送成功" in r.stdout and len(robot.accepted) == 1

    # Assigned on Monday at 10:00: the group gets the 交办 notice at once.
    code = _assigned(county, "2024-01-08T10:00")
    county("outbox", "send", at="2024-01-08T10:05")
    assert len(robot.accepted) == 2 and code in robot.accepted[1]["content"]

    # Assigned at 22:00: nothing at night; it goes out when the window opens the next morning.
    night = _assigned(county, "2024-01-08T22:00")
    county("outbox", "send", at="2024-01-08T22:05")
    assert len(robot.accepted) == 2
    county("outbox", "send", at="2024-01-09T08:35")
    assert len(robot.accepted) == 3 and night in robot.accepted[2]["content"]
    county("outbox", "send", at="2024-01-09T08:40")
    assert len(robot.accepted) == 3  # once

    listed = json.loads(county("outbox", "list", "--channel", "wecom", "--json").stdout)
    assert listed and {n["status"] for n in listed} == {"sent"} and {n["channel"] for n in listed} == {"wecom"}

    # The staff member's inbox: both notices, unread, then read.
    box = json.loads(county("inbox", "--json", user="sun.zrzy").stdout)
    assert box["unread"] >= 2 and {code, night} <= {i["problem_code"] for i in box["items"]}
    first = box["items"][0]["id"]
    assert "已将站内消息" in county("inbox", "read", str(first), user="sun.zrzy").stdout
    assert json.loads(county("inbox", "--json", user="sun.zrzy").stdout)["unread"] == box["unread"] - 1
    county("inbox", "read", "--all", user="sun.zrzy")
    assert json.loads(county("inbox", "--json", user="sun.zrzy").stdout)["unread"] == 0
    # Someone else's message is not theirs to mark.
    county("inbox", "read", str(first), user="zhao.zrzy", ok=False)
