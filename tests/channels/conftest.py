"""A county on a real database (SQLite file, PostgreSQL), the protocol servers of tests/channel_servers.py, and
channels wired to them. One injected clock drives the service, the senders and the servers."""

from __future__ import annotations

import pytest

from models.db import make_engine, session
from notifications.channel_config import ChannelSettings
from service import directory_admin
from service.channels import ChannelAdmin
from service.problems import ProblemService
from tests.channel_servers import DingTalkRobotServer, SmsGatewayServer, WeComRobotServer
from tests.conftest import Clock, at

PEOPLE = [
    ("admin", "管理员", "duchashi", "admin", "admin@yc.example"),
    ("insp", "张督查", "duchashi", "inspector", "insp@yc.example"),
    ("head", "赵局长", "ziranziyuan", "unit_head", "head@yc.example"),
    ("staff", "孙科员", "ziranziyuan", "staff", "staff@yc.example"),
    ("noemail", "周科员", "ziranziyuan", "staff", None),
    ("town", "马镇干部", "dingdian", "staff", "town@yc.example"),
    ("lead", "王副县长", "county_gov", "county_leader", "lead@yc.example"),
]
WECOM_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN = "566cc69da782ec8f1d2e3c4b5a69788776655443322110ffeeddccbbaa998877"
DING_SECRET = "SEC5d9b2c0e8a7f4b6c1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c"
SMS_KEY = "sms-api-key-7f3c9e"
BASE_URL = "https://duban.example.gov.cn"


@pytest.fixture
def clock():
    return Clock(at("2024-01-08T09:00"))


@pytest.fixture
def engine(migrated_db_url):
    eng = make_engine(migrated_db_url)
    now = at("2024-01-02")
    with session(eng) as s, s.begin():
        directory_admin.load_units(s)
        for login, name, unit, role, email in PEOPLE:
            directory_admin.create_user(s, login, name, unit, role, email, now)
        directory_admin.create_project(s, "嘉润综合物流园区", "kaifaqu", "lead", now)
    yield eng
    eng.dispose()


@pytest.fixture
def svc(engine, rules, clock):
    return ProblemService(engine, rules, clock)


@pytest.fixture
def wecom(clock):
    with WeComRobotServer(clock) as server:
        yield server


@pytest.fixture
def ding(clock):
    with DingTalkRobotServer(clock) as server:
        yield server


@pytest.fixture
def gateway(clock):
    with SmsGatewayServer(clock) as server:
        yield server


def sms_config(gateway: SmsGatewayServer):
    from notifications.channels.sms import SmsGatewayConfig

    return SmsGatewayConfig(
        url=gateway.base_url + "/sms/send?apikey={{ credentials.key }}",
        body={"mobile": "{{ phone }}", "content": "【督办】{{ title }}：{{ text }} {{ url }}"},
        body_format="json",
        success_when='code == "0"',
        max_chars=2000,
        credentials={"key": SMS_KEY},
        allow_http=True,
    )


@pytest.fixture
def settings(gateway):
    return ChannelSettings(base_url=BASE_URL, sms=sms_config(gateway), allow_http=True, timeout=2.0)


@pytest.fixture
def admin(engine, clock, settings):
    return ChannelAdmin(engine, clock, settings)


@pytest.fixture
def wired(admin, wecom, ding):
    """自然资源局's WeCom group, 督查室's DingTalk group (signed), and 赵局长's mobile."""
    admin.add("admin", "自然资源局工作群", "wecom", wecom.add_robot(WECOM_KEY), unit="ziranziyuan")
    url = ding.add_robot(DING_TOKEN, secret=DING_SECRET)
    admin.add("admin", "督查室钉钉群", "dingtalk", url, secret=DING_SECRET, unit="duchashi")
    admin.add("admin", "赵局长手机", "sms", "tel:13800138000", user="head")
    return admin
