"""Channels against real HTTP servers on 127.0.0.1 (tests/channel_servers.py) that speak each protocol.

Time is one injected clock shared by the client (DingTalk timestamps, local rate windows) and the servers
(rate windows, timestamp freshness); tests move it by hand and never sleep.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
from datetime import timedelta

import httpx
import pytest

from notifications.channels.base import ChannelMessage, DeliveryResult
from notifications.channels.dingtalk import DingTalkChannel, DingTalkConfig
from notifications.channels.limited import RateLimited
from notifications.channels.ratelimit import SlidingWindowLimiter
from notifications.channels.sms import SmsGateway, SmsGatewayConfig
from notifications.channels.wecom import WeComChannel, WeComConfig
from tests.channel_servers import Answer, DingTalkRobotServer, SmsGatewayServer, WeComRobotServer
from tests.conftest import Clock, at

pytestmark = pytest.mark.integration

KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
TOKEN = "566cc69da782ec8f1d2e3c4b5a69788776655443322110ffeeddccbbaa998877"
SECRET = "SEC5d9b2c0e8a7f4b6c1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c"
API_KEY = "sms-api-key-7f3c9e"
PAGE = "https://duban.example.gov.cn/problems/WT-2024-0001"
SECRETS = (KEY, TOKEN, SECRET, API_KEY)


def note(n: int = 1, text: str = "请于今日内反馈办理情况。", **kw) -> ChannelMessage:
    fields = {"title": f"第 {n} 号问题超期提醒", "text": text, "url": PAGE, "kind": "overdue", **kw}
    return ChannelMessage(**fields)


def run(channel, *messages: ChannelMessage) -> list[DeliveryResult]:
    """Send ``messages`` one after another over one client, as a delivery worker does."""

    async def main():
        async with httpx.AsyncClient() as client:
            return [await channel.send(client, m) for m in messages]

    return asyncio.run(main())


def assert_no_secret(result: DeliveryResult) -> None:
    for text in (result.reason, result.answer, repr(result), str(result.as_dict())):
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked in {text!r}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clock():
    return Clock(at("2024-02-08T09:00"))


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


def wecom_channel(server: WeComRobotServer, **kw) -> WeComChannel:
    return WeComChannel(WeComConfig(server.add_robot(KEY), allow_http=True, **kw))


def ding_channel(server: DingTalkRobotServer, clock, *, robot_secret=SECRET, keywords=(), **kw) -> DingTalkChannel:
    url = server.add_robot(TOKEN, secret=robot_secret, keywords=keywords)
    return DingTalkChannel(DingTalkConfig(url, allow_http=True, **kw), clock=clock)


# -- WeCom ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("msgtype", ["markdown", "text"])
def test_wecom_happy_path(wecom, msgtype):
    [result] = run(wecom_channel(wecom, msgtype=msgtype), note())
    assert result.ok and result.errcode == 0 and result.status == 200 and '"ok"' in result.answer
    [accepted] = wecom.accepted
    assert accepted["key"] == KEY and accepted["msgtype"] == msgtype
    assert "第 1 号问题超期提醒" in accepted["content"] and PAGE in accepted["content"]
    assert wecom.requests[0].headers["content-type"].startswith("application/json")


def test_wecom_rate_limit_then_success(wecom, clock):
    channel = wecom_channel(wecom)
    results = run(channel, *(note(n) for n in range(1, 22)))
    assert all(r.ok for r in results[:20])
    limited = results[20]
    assert limited.outcome == "retry" and limited.errcode == 45009 and limited.after == timedelta(minutes=1)
    assert "每分钟最多 20 条" in limited.reason and not limited.ambiguous
    clock.now += limited.after
    [again] = run(channel, note(21))
    assert again.ok
    assert [m["content"].splitlines()[0] for m in wecom.accepted] == [
        f"### 第 {n} 号问题超期提醒" for n in range(1, 22)
    ]


def test_wecom_local_limiter_waits_without_asking_the_robot(wecom, clock):
    limiter = SlidingWindowLimiter()
    channel = RateLimited(wecom_channel(wecom), limiter, clock)

    async def one_a_second():
        async with httpx.AsyncClient() as client:
            results = []
            for n in range(1, 22):
                results.append(await channel.send(client, note(n)))
                clock.now += timedelta(seconds=1)
            return results

    results = asyncio.run(one_a_second())
    assert all(r.ok for r in results[:20]) and results[20].outcome == "retry"
    assert results[20].after == timedelta(seconds=40) and results[20].status is None
    assert len(wecom.requests) == 20  # the 21st never left this process
    clock.now += results[20].after
    assert run(channel, note(21))[0].ok and len(wecom.accepted) == 21


def test_wecom_robot_rate_limit_holds_the_local_limiter(wecom, clock):
    # Another process filled the robot's window: the service answers 45009 and this process waits too.
    other = wecom_channel(wecom)
    run(other, *(note(n) for n in range(20)))
    limiter = SlidingWindowLimiter()
    channel = RateLimited(other, limiter, clock)
    [refused] = run(channel, note(99))
    assert refused.errcode == 45009
    [held] = run(channel, note(99))
    assert held.outcome == "retry" and held.status is None and held.after == timedelta(minutes=1)
    assert len(wecom.requests) == 21


def test_wecom_invalid_key_fails_and_is_not_retried(wecom):
    url = wecom.add_robot(KEY).replace(KEY, KEY[:-1] + "b")
    channel = WeComChannel(WeComConfig(url, allow_http=True))
    [result] = run(channel, note())
    assert result.outcome == "failed" and result.errcode == 93000 and result.after is None
    assert "Webhook 地址无效" in result.reason and "invalid webhook url" in result.reason
    assert len(wecom.requests) == 1 and not wecom.accepted
    assert_no_secret(result)
    assert KEY[:-1] + "b" not in result.reason + result.answer


def test_wecom_markdown_refused_falls_back_to_text(clock):
    with WeComRobotServer(clock, markdown=False) as server:
        [result] = run(wecom_channel(server), note())
        assert result.ok and [r.json()["msgtype"] for r in server.requests] == ["markdown", "text"]
        assert server.accepted[0]["content"].startswith("【超期】第 1 号问题超期提醒\n")
        [refused] = run(wecom_channel(server, text_fallback=False), note())
        assert refused.outcome == "failed" and refused.errcode == 40008 and len(server.accepted) == 1


@pytest.mark.parametrize(
    ("fault", "ambiguous", "needle"),
    [
        ("500", False, "HTTP 500"),
        ("garbage", True, "应答无法识别"),
        ("close", True, "连接中断"),
        ("hang", True, "没有应答"),
    ],
)
def test_wecom_transient_failures_are_retried_then_delivered_once(wecom, fault, ambiguous, needle):
    channel = wecom_channel(wecom, timeout=0.5)
    wecom.fail_next(fault)
    first, second = run(channel, note(), note())
    assert first.outcome == "retry" and first.after == timedelta(minutes=1) and first.ambiguous is ambiguous
    assert needle in first.reason
    assert_no_secret(first)
    assert second.ok and len(wecom.accepted) == 1


def test_wecom_connection_refused_is_retried(clock):
    url = f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key={KEY}"
    [result] = run(WeComChannel(WeComConfig(url, allow_http=True)), note())
    assert result.outcome == "retry" and not result.ambiguous and "无法连接企业微信群机器人" in result.reason
    assert "key=***" in result.reason
    assert_no_secret(result)


def test_wecom_long_chinese_text_is_cut_by_bytes_and_accepted(wecom):
    text = "该项目用地预审与选址意见书尚未批复，影响开工。" * 300  # ~20 KB
    for msgtype, limit in (("markdown", 4096), ("text", 2048)):
        [result] = run(wecom_channel(wecom, msgtype=msgtype), note(text=text))
        assert result.ok, result.reason
        content = wecom.accepted[-1]["content"]
        assert limit - 4 < len(content.encode("utf-8")) <= limit
        assert "…（内容过长，已截断）" in content and PAGE in content.rsplit("…（内容过长，已截断）", 1)[1]


def test_wecom_server_enforces_the_documented_size_limit(wecom):
    # The test robot refuses what the real one refuses, so the truncation test above means something.
    url = wecom.add_robot(KEY)
    body = {"msgtype": "markdown", "markdown": {"content": "字" * 1366}}  # 4098 bytes
    answer = httpx.post(url, json=body).json()
    assert answer["errcode"] == 40058 and "exceed max length 4096" in answer["errmsg"]


# -- DingTalk ---------------------------------------------------------------------------------------------


def test_dingtalk_signed_happy_path(ding, clock):
    [result] = run(ding_channel(ding, clock, secret=SECRET), note())
    assert result.ok and result.errcode == 0
    [accepted] = ding.accepted
    assert accepted["msgtype"] == "markdown" and accepted["title"] == "第 1 号问题超期提醒"
    assert accepted["text"].startswith("#### 第 1 号问题超期提醒") and f"[查看详情]({PAGE})" in accepted["text"]
    query = ding.requests[0].query
    assert query["timestamp"] == [str(int(clock().timestamp() * 1000))]


def test_dingtalk_signature_is_checked_by_the_server(ding, clock):
    wrong = "SEC" + "0" * 64
    [result] = run(ding_channel(ding, clock, secret=wrong), note())
    assert result.outcome == "failed" and result.errcode == 310000
    assert "加签密钥" in result.reason and "sign not match" in result.reason
    assert wrong not in result.reason and not ding.accepted
    assert_no_secret(result)


def test_dingtalk_sign_must_be_url_encoded(ding, clock):
    # The server is strict like DingTalk: an unencoded base64 "+" arrives as a space and fails.
    url = ding.add_robot(TOKEN, secret=SECRET)
    ms = next(
        ms
        for ms in range(int(clock().timestamp() * 1000), int(clock().timestamp() * 1000) + 1000)
        if "+" in DingTalkRobotServer.expected_sign(SECRET, str(ms))
    )
    raw = base64.b64encode(hmac.new(SECRET.encode(), f"{ms}\n{SECRET}".encode(), hashlib.sha256).digest()).decode()
    body = {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}}
    answer = httpx.post(f"{url}&timestamp={ms}&sign={raw}", json=body).json()
    assert answer == {"errcode": 310000, "errmsg": answer["errmsg"]} and "sign not match" in answer["errmsg"]


def test_dingtalk_stale_timestamp_is_refused(ding, clock):
    slow = Clock(clock() - timedelta(hours=1, seconds=1))
    [result] = run(ding_channel(ding, slow, secret=SECRET), note())
    assert result.outcome == "failed" and "invalid timestamp" in result.reason and "相差超过 1 小时" in result.reason
    within = Clock(clock() - timedelta(minutes=59))
    assert run(ding_channel(ding, within, secret=SECRET), note())[0].ok


def test_dingtalk_keyword_robot(ding, clock):
    [refused] = run(ding_channel(ding, clock, robot_secret=None, keywords=("督办",)), note())
    assert refused.outcome == "failed" and refused.errcode == 310000 and "关键词" in refused.reason
    [sent] = run(ding_channel(ding, clock, robot_secret=None, keywords=("督办",), keyword="督办"), note())
    assert sent.ok and ding.accepted[0]["text"].endswith("> 督办")


def test_dingtalk_rate_limit_throttles_for_ten_minutes(ding, clock):
    channel = ding_channel(ding, clock, secret=SECRET)
    results = run(channel, *(note(n) for n in range(1, 22)))
    assert all(r.ok for r in results[:20])
    throttled = results[20]
    assert throttled.outcome == "retry" and throttled.errcode == 130101 and throttled.after == timedelta(minutes=10)
    clock.now += timedelta(seconds=61)
    assert run(channel, note(21))[0].errcode == 130101  # the window has room, but the robot is throttled
    clock.now += timedelta(minutes=10)
    assert run(channel, note(21))[0].ok
    assert [m["title"] for m in ding.accepted] == [f"第 {n} 号问题超期提醒" for n in range(1, 22)]


def test_dingtalk_unknown_token_fails(ding, clock):
    ding.add_robot(TOKEN)
    url = f"{ding.base_url}/robot/send?access_token={'f' * 64}"
    [result] = run(DingTalkChannel(DingTalkConfig(url, allow_http=True), clock=clock), note())
    assert result.outcome == "failed" and result.errcode == 300001 and "access_token 无效" in result.reason
    assert "f" * 64 not in result.reason + result.answer


@pytest.mark.parametrize("fault", ["500", "garbage", "close"])
def test_dingtalk_transient_failures_are_retried(ding, clock, fault):
    channel = ding_channel(ding, clock, secret=SECRET)
    ding.fail_next(fault)
    first, second = run(channel, note(), note())
    assert first.outcome == "retry" and second.ok and len(ding.accepted) == 1
    assert_no_secret(first)


# -- SMS gateway ------------------------------------------------------------------------------------------


def sms_gateway(server: SmsGatewayServer, **kw) -> SmsGateway:
    fields = {
        "url": server.base_url + "/sms/send?apikey={{ credentials.apikey }}",
        "body": {"mobile": "{{ phone }}", "content": "【阳城督办】{{ title }}：{{ text }} {{ url }}"},
        "success_when": 'code == "0"',
        "credentials": {"apikey": API_KEY},
        "allow_http": True,
        "timeout": 0.5,
        **kw,
    }
    return SmsGateway(SmsGatewayConfig(**fields))


def test_sms_form_happy_path(gateway):
    [result] = run(sms_gateway(gateway).channel("+86 138 0013 8000"), note(text="请于今日内反馈 & 说明原因"))
    assert result.ok and result.status == 200
    [request] = gateway.requests
    assert request.method == "POST" and request.path == "/sms/send" and request.query == {"apikey": [API_KEY]}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {
        "mobile": "13800138000",
        "content": f"【阳城督办】第 1 号问题超期提醒：请于今日内反馈 & 说明原因 {PAGE}",
    }
    assert len(gateway.accepted) == 1


def test_sms_json_template_and_numeric_success_code(gateway):
    template = (
        '{"phones": [{{ phone|tojson }}], "sign": "阳城督办", "content": {{ text|tojson }}, "kind": {{ kind|tojson }}}'
    )
    gw = sms_gateway(gateway, body=template, body_format="json", success_when="result.code == 0", method="PUT")
    gateway.answer_next(Answer(200, {"result": {"code": "0"}}), accept=True)
    [result] = run(gw.channel("13800138000"), note(text='带"引号"\n和换行'))
    assert result.ok
    assert gateway.requests[0].method == "PUT"
    assert gateway.requests[0].json() == {
        "phones": ["13800138000"],
        "sign": "阳城督办",
        "content": '带"引号"\n和换行',
        "kind": "overdue",
    }


@pytest.mark.parametrize(
    ("answer", "outcome", "after", "needle"),
    [
        (Answer(200, {"code": "1001", "msg": "余额不足"}), "failed", None, 'code 为 "1001"，应为 "0"'),
        (Answer(200, {"msg": "ok"}), "failed", None, "code 为 （无此字段）"),
        (Answer(429, b"slow down", {"Retry-After": "120"}), "retry", timedelta(seconds=120), "HTTP 429"),
        (Answer(503, b"busy"), "retry", timedelta(minutes=1), "HTTP 503"),
        (Answer(200, b"OK"), "retry", timedelta(minutes=1), "不是 JSON"),
        (Answer(401, b"bad key"), "failed", None, "HTTP 401"),
    ],
)
def test_sms_answers(gateway, answer, outcome, after, needle):
    gateway.answer_next(answer)
    [result] = run(sms_gateway(gateway).channel("13800138000"), note())
    assert result.outcome == outcome and result.after == after and needle in result.reason, result.reason
    assert not gateway.accepted


def test_sms_hang_and_refusal_are_retried(gateway):
    gateway.fail_next("hang")
    first, second = run(sms_gateway(gateway).channel("13800138000"), note(), note())
    assert first.outcome == "retry" and first.ambiguous and second.ok and len(gateway.accepted) == 1
    port = free_port()
    refused = sms_gateway(gateway, url=f"http://127.0.0.1:{port}/send?apikey={{{{ credentials.apikey }}}}")
    [result] = run(refused.channel("13800138000"), note())
    assert result.outcome == "retry" and "apikey=***" in result.reason
    assert_no_secret(result)


def test_sms_answer_echoing_credentials_is_scrubbed(gateway):
    gateway.answer_next(Answer(200, {"code": "9", "msg": f"apikey {API_KEY} disabled", "echo": API_KEY}))
    [result] = run(sms_gateway(gateway).channel("13800138000"), note())
    assert result.outcome == "failed" and "***" in result.answer
    assert_no_secret(result)


def test_no_dingtalk_error_carries_a_credential(ding, clock):
    """Every way a signed robot can fail: the reasons and answers name the robot only by its redacted URL."""
    channel = ding_channel(ding, clock, secret=SECRET)
    ding.fail_next("500")
    ding.fail_next("garbage")
    ding.fail_next("close")
    ding.fail_next("hang")
    slow = DingTalkChannel(
        DingTalkConfig(channel.config.webhook_url, secret=SECRET, timeout=0.3, allow_http=True), clock
    )
    results = run(slow, note(), note(), note(), note())
    results += run(ding_channel(ding, clock, secret="SEC" + "1" * 64), note())  # sign not match
    results += run(ding_channel(ding, Clock(clock() - timedelta(hours=2)), secret=SECRET), note())  # stale
    refused = f"http://127.0.0.1:{free_port()}/robot/send?access_token={TOKEN}"
    results += run(DingTalkChannel(DingTalkConfig(refused, secret=SECRET, allow_http=True), clock), note())
    assert [r.outcome for r in results] == ["retry"] * 4 + ["failed", "failed", "retry"]
    assert "access_token=***&timestamp=***&sign=***" in results[-1].reason
    for result in results:
        assert_no_secret(result)
    assert not ding.accepted


def test_channel_test_message(wecom, ding, clock):
    probe = ChannelMessage("督办系统测试消息", "收到此消息说明机器人设置正确。", None, "test")
    assert run(wecom_channel(wecom), probe)[0].ok and run(ding_channel(ding, clock, secret=SECRET), probe)[0].ok
    assert '<font color="comment">测试消息</font>' in wecom.accepted[0]["content"]
    assert "**测试消息**" in ding.accepted[0]["text"] and "查看详情" not in ding.accepted[0]["text"]
