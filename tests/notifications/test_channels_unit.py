"""Channels without a network: formatting, truncation, escaping, signing, validation, rate windows, SMS templates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from notifications.channels import markdown
from notifications.channels.base import (
    TRUNCATION_MARK,
    ChannelMessage,
    Scrubber,
    cut_utf8,
    fit_utf8,
    rate_key,
    redact,
    utf8_len,
)
from notifications.channels.dingtalk import DingTalkChannel, DingTalkConfig, sign, validate_secret
from notifications.channels.ratelimit import SlidingWindowLimiter, prune, wait_time
from notifications.channels.sms import (
    SmsGateway,
    SmsGatewayConfig,
    parse_success_when,
    same_value,
    validate_template,
)
from notifications.channels.validation import validate_keyword, validate_phone, validate_webhook_url
from notifications.channels.wecom import MARKDOWN_MAX, TEXT_MAX, WeComChannel, WeComConfig
from workflow.errors import InvalidValue

pytestmark = pytest.mark.unit

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
WECOM_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
TOKEN = "566cc69da782ec0000000000000000000000000000000000000000000000abcd"
SECRET = "SEC0123456789abcdef"
DING_URL = f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"
PAGE = "https://duban.example.gov.cn/problems/WT-2024-0001"
T0 = datetime(2024, 2, 8, 1, 0, tzinfo=UTC)


def message(text: str = "请于今日内反馈办理情况。", **kw) -> ChannelMessage:
    fields = {"title": "关于“某项目土地手续”问题的超期提醒", "text": text, "url": PAGE, "kind": "overdue", **kw}
    return ChannelMessage(**fields)


# -- secrets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (WECOM_URL, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"),
        (
            f"{DING_URL}&timestamp=1700000000000&sign=abc%2B%3D",
            "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=***&sign=***",
        ),
        ("http://user:pw@10.1.2.3:8080/sms/send?u=a&p=b#frag", "http://10.1.2.3:8080/sms/send?u=***&p=***"),
        ("https://sms.example.gov.cn/api/send", "https://sms.example.gov.cn/api/send"),
        ("not a url with key=abc", "***"),
        ("http://[::1]:99/x?k=v", "http://[::1]:99/x?k=***"),
    ],
)
def test_redact_removes_every_credential(url, expected):
    assert redact(url) == expected


def test_scrubber_masks_secrets_and_their_url_encoded_form():
    scrub = Scrubber([WECOM_URL, KEY, "SEC+/=x", None, "ab"])
    text = f"POST {WECOM_URL} failed; key {KEY}; sign SEC%2B%2F%3Dx; ab stays"
    cleaned = scrub(text)
    assert KEY not in cleaned and "SEC%2B" not in cleaned and "qyapi" not in cleaned
    assert cleaned.endswith("ab stays")


def test_rate_key_names_a_destination_without_its_credential():
    key = rate_key("wecom", WECOM_URL)
    assert key.startswith("wecom:") and KEY not in key and len(key) == len("wecom:") + 16
    assert key == rate_key("wecom", WECOM_URL) != rate_key("wecom", WECOM_URL + "x")


def test_configs_do_not_show_credentials_in_repr():
    wecom = WeComConfig(WECOM_URL)
    ding = DingTalkConfig(DING_URL, secret=SECRET)
    gateway = SmsGatewayConfig(url="https://sms.example.gov.cn/send", credentials={"key": "topsecretkey"})
    for text in (repr(wecom), repr(ding), repr(gateway)):
        assert KEY not in text and TOKEN not in text and SECRET not in text and "topsecretkey" not in text


# -- truncation -------------------------------------------------------------------------------------------


def test_cut_utf8_never_splits_a_character():
    text = "督办" * 10  # 3 bytes each
    for limit in range(0, 62):
        cut = cut_utf8(text, limit)
        assert utf8_len(cut) <= limit and text.startswith(cut)
        assert utf8_len(cut) > limit - 3  # as long as it can be
    assert cut_utf8("a😀b", 4) == "a"  # a 4-byte character is kept whole or dropped


def test_fit_utf8_keeps_head_and_tail_and_marks_the_cut():
    head, tail = "标题\n", "\n[查看详情](https://x/1)"
    body = "问题描述" * 1000
    fitted = fit_utf8(head, body, tail, 500)
    assert utf8_len(fitted) <= 500
    assert fitted.startswith(head) and fitted.endswith(TRUNCATION_MARK + tail)
    assert utf8_len(fitted) > 500 - 3  # nothing wasted beyond one partial character
    assert fit_utf8(head, "短", tail, 500) == head + "短" + tail
    tiny = fit_utf8("很长的标题" * 50, body, tail, 100)
    assert utf8_len(tiny) <= 100 and tiny.endswith(TRUNCATION_MARK + tail)


@pytest.mark.parametrize("msgtype, limit", [("markdown", MARKDOWN_MAX), ("text", TEXT_MAX)])
def test_wecom_truncates_by_bytes_and_keeps_the_link(msgtype, limit):
    channel = WeComChannel(WeComConfig(WECOM_URL, msgtype=msgtype))
    long_text = "该项目征地拆迁问题仍未解决，请尽快协调。" * 400  # ~24 KB of Chinese
    payload = json.loads(channel.body(message(long_text)))
    content = payload[msgtype]["content"]
    assert payload["msgtype"] == msgtype
    assert limit - 4 < utf8_len(content) <= limit
    assert TRUNCATION_MARK in content and content.endswith(PAGE + (")" if msgtype == "markdown" else ""))
    short = json.loads(channel.body(message()))[msgtype]["content"]
    assert TRUNCATION_MARK not in short and "请于今日内反馈办理情况。" in short and PAGE in short


def test_wecom_markdown_layout():
    content = WeComChannel(WeComConfig(WECOM_URL)).markdown_content(message("第一行\r\n第二行"))
    assert content == (
        f'### 关于“某项目土地手续”问题的超期提醒\n<font color="warning">超期</font>\n第一行\n第二行\n[查看详情]({PAGE})'
    )
    no_link = WeComChannel(WeComConfig(WECOM_URL)).markdown_content(message(url=None, kind="closed"))
    assert "查看详情" not in no_link and '<font color="info">销号</font>' in no_link


# -- escaping ---------------------------------------------------------------------------------------------

HOSTILE = (
    '[点我领奖](http://evil.example/steal) <font color="warning">伪造警告</font> **粗** _斜_ `代码` '
    "# 标题\n> 引用\n![图](http://evil.example/x.png) ~~删~~ |表| \\n &lt;b&gt; <@all>\x07"
)


def test_markdown_escape_makes_hostile_text_inert():
    escaped = markdown.escape(HOSTILE)
    for token in ("[", "]", "<", ">", "*", "_", "`", "#", "~", "|", "\\", "&", "\x07"):
        assert token not in escaped, token
    assert "点我领奖" in escaped and "http://evil.example/steal" in escaped  # shown, not linked
    assert escaped.count("\n") == 2  # line breaks kept


@pytest.mark.parametrize(
    "make", [lambda: WeComChannel(WeComConfig(WECOM_URL)), lambda: DingTalkChannel(DingTalkConfig(DING_URL))]
)
def test_robot_markdown_has_only_our_own_markup(make):
    channel = make()
    text = (
        channel.markdown_content(message(HOSTILE, title="[假标题](http://evil)"))
        if isinstance(channel, WeComChannel)
        else channel.markdown_text(message(HOSTILE, title="[假标题](http://evil)"))
    )
    assert text.count("](") == 1 and text.count("[") == 1  # the one link to the problem page
    assert "<font" not in text.replace('<font color="warning">', "", 1)  # WeCom's own kind line only
    assert "http://evil.example/steal)" not in text.replace("http://evil.example/steal", "", 1)


def test_safe_url_encodes_what_would_end_the_link():
    assert markdown.safe_url('https://x/a b)("<>') == "https://x/a%20b%29%28%22%3C%3E"
    assert markdown.safe_url("javascript:alert(1)") is None
    assert markdown.link("查看详情", "ftp://x") == ""


# -- DingTalk ---------------------------------------------------------------------------------------------


def test_dingtalk_sign_matches_the_documented_example():
    # Reference value computed with the Python example of DingTalk's documentation (quote_plus of base64).
    assert sign(SECRET, 1700000000002) == "VGvd0brDJp%2FnMZtR%2BXnA3yBIlhowT%2BTwkRPua0q1%2Fjg%3D"


def test_dingtalk_url_carries_timestamp_from_the_injected_clock():
    channel = DingTalkChannel(DingTalkConfig(DING_URL, secret=SECRET), clock=lambda: T0)
    ms = int(T0.timestamp() * 1000)
    assert channel.url() == f"{DING_URL}&timestamp={ms}&sign={sign(SECRET, ms)}"
    assert DingTalkChannel(DingTalkConfig(DING_URL)).url() == DING_URL  # a robot that does not sign


def test_dingtalk_secret_validation_never_shows_the_secret():
    assert validate_secret("  ") is None and validate_secret(SECRET) == SECRET
    for bad in ("abc0123456789secret", "SEC12", "SEC 0123456789", "SEC密钥0123456789"):
        with pytest.raises(InvalidValue) as err:
            validate_secret(bad)
        assert err.value.field == "secret" and "SEC" in err.value.message
        assert bad not in err.value.message and bad not in str(err.value.value)
    with pytest.raises(InvalidValue) as err:
        DingTalkConfig(DING_URL, secret="wrong-secret-value")
    assert err.value.field == "secret"


def test_dingtalk_keyword_is_added_when_missing_and_survives_truncation():
    config = DingTalkConfig(DING_URL, keyword="督办提醒", max_bytes=1000)
    channel = DingTalkChannel(config)
    assert channel.markdown_text(message()).endswith("\n\n> 督办提醒")
    assert not channel.markdown_text(message("本条督办提醒已含关键词")).endswith("> 督办提醒")
    long = channel.markdown_text(message("长" * 2000 + "督办提醒"))  # the keyword would be cut away
    assert utf8_len(long) <= 1000 and long.endswith(f"[查看详情]({PAGE})\n\n> 督办提醒")
    payload = channel.payload(message())
    assert payload["msgtype"] == "markdown" and payload["markdown"]["title"] == message().title


# -- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "allow_http", "needle"),
    [
        ("", "wecom", False, "请填写"),
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "wecom", False, "https://"),
        ("ftp://127.0.0.1/x?key=abc", "wecom", True, "http:// 或 https://"),
        ("https:///cgi-bin/webhook/send?key=abc", "wecom", False, "缺少主机名"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "wecom", False, "缺少 key 参数"),
        ("https://oapi.dingtalk.com/robot/send?token=abc", "dingtalk", False, "缺少 access_token 参数"),
        ("https://u:p@sms.example.gov.cn/send", "sms", False, "用户名或密码"),
        ("https://sms.example.gov.cn:99999/send", "sms", False, "无法识别"),
    ],
)
def test_validate_webhook_url_errors_are_chinese_and_redacted(url, kind, allow_http, needle):
    with pytest.raises(InvalidValue) as err:
        validate_webhook_url(url, kind, allow_http=allow_http)
    assert err.value.field == "url" and needle in err.value.message
    assert "abc" not in err.value.message and ":p@" not in err.value.message
    assert err.value.value is None or "abc" not in err.value.value


def test_validate_webhook_url_accepts_http_only_when_allowed():
    local = "http://127.0.0.1:8080/cgi-bin/webhook/send?key=abc"
    assert validate_webhook_url(local, "wecom", allow_http=True) == local
    assert validate_webhook_url(f" {WECOM_URL} ", "wecom") == WECOM_URL
    with pytest.raises(InvalidValue):
        validate_webhook_url(local, "wecom")
    with pytest.raises(InvalidValue) as err:
        validate_webhook_url(WECOM_URL, "slack")
    assert err.value.field == "kind"


def test_phone_and_keyword_validation():
    assert validate_phone("+86 138-0013-8000") == "13800138000" == validate_phone("8613800138000")
    for bad in ("12800138000", "1380013800", "010-12345678"):
        with pytest.raises(InvalidValue) as err:
            validate_phone(bad)
        assert err.value.field == "phone"
    assert validate_keyword("  督办 ") == "督办" and validate_keyword("") is None
    with pytest.raises(InvalidValue) as err:
        validate_keyword("两行\n关键词")
    assert err.value.field == "keyword"


# -- rate windows -----------------------------------------------------------------------------------------


def test_wait_time_is_a_sliding_window():
    period = timedelta(minutes=1)
    sends = [T0 + timedelta(seconds=s) for s in range(20)]  # 20 sends at 0..19 s
    assert wait_time(sends[:19], T0 + timedelta(seconds=19), 20, period) is None
    assert wait_time(sends, T0 + timedelta(seconds=20), 20, period) == timedelta(seconds=40)
    assert wait_time(sends, T0 + timedelta(seconds=60), 20, period) is None  # the first left the window
    assert wait_time(reversed(sends), T0 + timedelta(seconds=30), 20, period) == timedelta(seconds=30)
    assert wait_time(sends, T0 + timedelta(seconds=30), 5, period) == timedelta(seconds=45)
    assert prune(sends, T0 + timedelta(seconds=70), period) == sends[11:]
    with pytest.raises(ValueError):
        wait_time([], T0, 0, period)


def test_limiter_allows_twenty_a_minute_per_key_and_honours_holds():
    limiter = SlidingWindowLimiter()
    now = T0
    for _ in range(20):
        assert limiter.allow("a", now) is None
        now += timedelta(seconds=1)
    assert limiter.allow("a", now) == timedelta(seconds=40)  # refused sends are not recorded
    assert limiter.allow("b", now) is None  # another robot
    assert limiter.allow("a", T0 + timedelta(seconds=60)) is None
    limiter.hold("b", now + timedelta(minutes=10))
    assert limiter.allow("b", now + timedelta(minutes=5)) == timedelta(minutes=5)
    assert limiter.allow("b", now + timedelta(minutes=10)) is None
    assert len(limiter.recent("a")) == 20


# -- SMS templates ----------------------------------------------------------------------------------------

GATEWAY = "https://sms.example.gov.cn/api/send"


def sms(**kw) -> SmsGatewayConfig:
    fields = {"url": GATEWAY, "body": {"mobile": "{{ phone }}", "content": "【督办】{{ text }}"}, **kw}
    return SmsGatewayConfig(**fields)


def test_sms_form_and_json_bodies():
    form = validate_template(sms())
    assert form.method == "POST" and form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"mobile=13800138000" in form.content
    as_json = validate_template(sms(body_format="json"))
    assert json.loads(as_json.content)["mobile"] == "13800138000"
    template = '{"to": [{{ phone|tojson }}], "msg": {{ (title ~ "：" ~ text)|tojson }}, "k": "{{ credentials.k }}"}'
    doc = validate_template(sms(body=template, body_format="json", credentials={"k": "secret-k-123"}))
    assert json.loads(doc.content)["to"] == ["13800138000"] and json.loads(doc.content)["k"] == "secret-k-123"
    get = validate_template(sms(method="get", url=GATEWAY + "?m={{ phone }}&c={{ text|urlencode }}", body=None))
    assert get.method == "GET" and get.content is None and "m=13800138000" in get.url


def test_sms_text_is_cut_to_one_message_by_default():
    gateway = SmsGateway(sms())
    ctx = gateway.context("13800138000", message("字" * 100))
    assert len(ctx["text"]) == 70 and ctx["text"].endswith("…")
    long = SmsGateway(sms(max_chars=300)).context("13800138000", message("字" * 100))
    assert long["text"] == "字" * 100


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"body": {"content": "{{ phon }}"}}, "未定义的变量 phon"),
        ({"body": {"content": "{{ text "}}, "请求体「content」模板有误"),
        ({"url": "{{ credentials.missing }}"}, "网址模板有误"),
        ({"method": "{{ 'DELETE' }}"}, "可选：GET、POST、PUT"),
        ({"url": "ftp://sms.example.gov.cn/"}, "网址模板渲染结果无效"),
        ({"headers": {"X-Text": "{{ text }}"}}, "请求头「X-Text」渲染后含换行或非 ASCII"),
        ({"body": '{"c": "{{ text }}"}', "body_format": "json"}, "不是有效的 JSON"),
        ({"body": {"c": "{{ ''.__class__.__mro__ }}"}}, "模板有误"),  # the sandbox refuses
        ({"method": "GET"}, "GET 时不能有请求体"),
    ],
)
def test_sms_template_errors(changes, needle):
    with pytest.raises(InvalidValue) as err:
        validate_template(sms(**changes))
    assert err.value.field == "template" and needle in err.value.message, err.value.message


def test_sms_template_errors_never_show_credentials():
    with pytest.raises(InvalidValue) as err:
        validate_template(
            sms(
                body='{"k": "{{ credentials.k }}", "c": "{{ text }}"}',
                body_format="json",
                credentials={"k": "secret-k-123"},
            )
        )
    assert "secret-k-123" not in err.value.message and "secret-k-123" not in str(err.value.value)


def test_sms_settings_errors_name_their_field():
    cases = [
        ({"body_format": "xml"}, "body_format"),
        ({"body": "a={{ phone }}"}, "body"),  # a form body must be field by field
        ({"max_chars": 5}, "max_chars"),
        ({"success_when": "code = 0"}, "success_when"),
        ({"success_when": "code == {x"}, "success_when"),
    ]
    for changes, field in cases:
        with pytest.raises(InvalidValue) as err:
            SmsGateway(sms(**changes))
        assert err.value.field == field


def test_success_condition():
    assert parse_success_when('code == "0"') == (("code",), "0")
    assert parse_success_when("result.status == 0") == (("result", "status"), 0)
    assert parse_success_when(" ") is None
    assert same_value(0, "0") and same_value("0", 0) and same_value(True, "true") and same_value("ok", "ok")
    assert not same_value(None, "0") and not same_value(1, "0") and not same_value({"a": 1}, "{'a': 1}")


def test_scrubbed_answer_masks_a_secret_cut_by_the_length_limit():
    scrub = Scrubber([KEY])
    for start in range(1990, 2001):
        answer = scrub.answer("x" * start + KEY + "y" * 100)
        assert len(answer) <= 2000 and KEY[:8] not in answer


def test_channel_settings_from_the_environment_name_the_bad_variable():
    from notifications.channel_config import ChannelConfigError, ChannelSettings

    default = ChannelSettings.from_env({})
    assert (default.lease_seconds, default.rate_limit, default.concurrency) == (300, 20, 8)
    s = ChannelSettings.from_env({"DUBAN_CHANNEL_LEASE": "30", "DUBAN_ROBOT_RATE_LIMIT": "0"})
    assert s.lease == timedelta(seconds=30) and s.rate_limit == 0
    for bad in ("0", "-5", "1.5", "3601"):
        with pytest.raises(ChannelConfigError, match=f"DUBAN_CHANNEL_LEASE 的值「{bad}」无效"):
            ChannelSettings.from_env({"DUBAN_CHANNEL_LEASE": bad})
