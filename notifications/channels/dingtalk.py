"""钉钉 custom robot: ``POST {webhook}?access_token=T[&timestamp=MS&sign=S]`` with a markdown message.

Security settings of a robot, one or several: signing (a secret starting with ``SEC``), custom keywords
(the message must contain one), an IP allow-list (nothing to do here). Signing, as DingTalk documents
it and shows in its Python example::

    string_to_sign = f"{timestamp}\\n{secret}"          # timestamp: milliseconds, within 1 hour of DingTalk's clock
    sign = quote_plus(base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), sha256).digest()))

and ``&timestamp={timestamp}&sign={sign}`` appended to the webhook address. The timestamp comes from the
injected clock.

Answers: errcode 0 → sent; 130101 (send too fast: over 20 messages a minute, after which the robot is
throttled for 10 minutes) → retry in 10 minutes; -1 (system busy) → retry; 310000 (keywords not in
content / sign not match / invalid timestamp / ip not in whitelist), 300001 and 300005 (token is not
exist) and every other errcode → failed with errcode and errmsg; HTTP 5xx, timeout, connection refused,
a body that is not the documented JSON → retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx

from notifications.channels import markdown
from notifications.channels.base import (
    DEFAULT_RETRY,
    ChannelMessage,
    Clock,
    DeliveryResult,
    Scrubber,
    fit_utf8,
    kind_label,
    mask,
    post,
    rate_key,
    read_errcode_answer,
    system_clock,
)
from notifications.channels.validation import validate_keyword, validate_webhook_url
from workflow.errors import InvalidValue

SERVICE = "钉钉群机器人"
# Not documented for markdown; 20000 bytes is the size commonly reported for the robot's messages. A setting.
DEFAULT_MAX_BYTES = 20000
TITLE_MAX = 100  # characters of markdown.title (the preview in the chat list)
SEND_TOO_FAST = 130101
SYSTEM_BUSY = -1
THROTTLED_FOR = timedelta(minutes=10)  # DingTalk throttles a robot 10 minutes after the 21st message in a minute

HINTS: dict[int, str] = {
    310000: "安全设置不符：关键词、加签或 IP 白名单",
    300001: "access_token 无效：机器人可能已被移除",
    300005: "access_token 无效：机器人可能已被移除",
}
# errmsg of 310000 → what exactly is wrong.
SECURITY_HINTS: dict[str, str] = {
    "keywords not in content": "消息中没有机器人设置的自定义关键词",
    "sign not match": "加签密钥（SEC 开头）与机器人设置不符",
    "invalid timestamp": "本机时间与钉钉相差超过 1 小时",
    "not in whitelist": "本机出口 IP 不在机器人的 IP 白名单中",
}


def validate_secret(secret: str | None) -> str | None:
    """The signing secret of a robot (shown under 加签 in its security settings): starts with ``SEC``. Empty is
    None (the robot does not sign). The error never shows the secret."""
    if secret is None or not secret.strip():
        return None
    value = secret.strip()
    if not value.startswith("SEC") or len(value) < 8 or not value.isascii() or any(c.isspace() for c in value):
        raise InvalidValue(
            f"加签密钥「{mask(value)}」无效：应为机器人安全设置中“加签”一栏显示的以 SEC 开头的字符串",
            field="secret",
            value=mask(value),
        )
    return value


def sign(secret: str, timestamp_ms: int) -> str:
    """``sign`` for ``timestamp_ms``, already URL-encoded, exactly as in DingTalk's example."""
    string_to_sign = f"{timestamp_ms}\n{secret}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), digestmod=hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def timestamp_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("the clock must return timezone-aware datetimes")
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True)
class DingTalkConfig:
    """One robot. ``webhook_url`` is the address shown in its settings (it carries ``access_token=``);
    ``secret`` when the robot signs, ``keyword`` when it requires a custom keyword."""

    webhook_url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    keyword: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES  # of markdown.text, UTF-8
    timeout: float = 10.0  # seconds per request
    allow_http: bool = False  # plain http (tests on 127.0.0.1)

    def __post_init__(self) -> None:
        url = validate_webhook_url(self.webhook_url, "dingtalk", allow_http=self.allow_http)
        object.__setattr__(self, "webhook_url", url)
        object.__setattr__(self, "secret", validate_secret(self.secret))
        object.__setattr__(self, "keyword", validate_keyword(self.keyword))
        if not isinstance(self.max_bytes, int) or self.max_bytes < 500:
            raise InvalidValue(
                f"消息长度上限「{self.max_bytes}」无效：须为不小于 500 的字节数",
                field="max_bytes",
                value=self.max_bytes,
            )
        if not self.timeout > 0:
            raise InvalidValue(f"超时「{self.timeout}」无效：须为正的秒数", field="timeout", value=self.timeout)

    @property
    def access_token(self) -> str:
        return parse_qs(urlsplit(self.webhook_url).query)["access_token"][0]


class DingTalkChannel:
    """Sends to one DingTalk custom robot. ``clock`` gives the signing timestamp (default: the system clock)."""

    kind = "dingtalk"

    def __init__(self, config: DingTalkConfig, clock: Clock = system_clock):
        self.config = config
        self.clock = clock
        self.rate_key = rate_key(self.kind, config.webhook_url)
        self.scrub = Scrubber([config.webhook_url, config.access_token, config.secret])
        self._headers = {"Content-Type": "application/json; charset=utf-8"}

    # -- formatting -------------------------------------------------------------------------------------
    def markdown_text(self, message: ChannelMessage) -> str:
        title = markdown.escape(message.title).replace("\n", " ")[:TITLE_MAX]
        head = f"#### {title}\n\n**{markdown.escape(kind_label(message.kind))}**\n\n"
        # DingTalk needs a hard break ("  \n") to keep a single line break inside a paragraph.
        body = markdown.escape(message.text).strip().replace("\n", "  \n")
        link = markdown.link("查看详情", message.url)
        tail = f"\n\n{link}" if link else ""
        text = fit_utf8(head, body, tail, self.config.max_bytes)
        keyword = self.config.keyword
        if keyword and keyword not in text:  # a keyword robot refuses messages without it
            text = fit_utf8(head, body, f"{tail}\n\n> {keyword}", self.config.max_bytes)
        return text

    def payload(self, message: ChannelMessage) -> dict:
        title = markdown.plain(message.title).replace("\n", " ").strip()[:TITLE_MAX] or kind_label(message.kind)
        return {"msgtype": "markdown", "markdown": {"title": title, "text": self.markdown_text(message)}}

    def body(self, message: ChannelMessage) -> bytes:
        return json.dumps(self.payload(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def url(self, now: datetime | None = None) -> str:
        """The address to post to: the webhook, plus ``timestamp`` and ``sign`` when the robot signs."""
        secret = self.config.secret
        if secret is None:
            return self.config.webhook_url
        ms = timestamp_ms(now or self.clock())
        return f"{self.config.webhook_url}&timestamp={ms}&sign={sign(secret, ms)}"

    # -- sending ----------------------------------------------------------------------------------------
    async def send(self, client: httpx.AsyncClient, message: ChannelMessage) -> DeliveryResult:
        c = self.config
        response = await post(
            client,
            "POST",
            self.url(),
            content=self.body(message),
            headers=self._headers,
            timeout=c.timeout,
            scrub=self.scrub,
            service=SERVICE,
        )
        if isinstance(response, DeliveryResult):
            return response
        read = read_errcode_answer(response, self.scrub, SERVICE)
        if isinstance(read, DeliveryResult):
            return read
        errcode, errmsg, answer = read
        status = response.status_code
        if errcode == 0:
            return DeliveryResult.sent(status=status, errcode=0, answer=answer)
        if errcode == SEND_TOO_FAST:
            reason = f"{SERVICE}发送过于频繁（每分钟最多 20 条，超出后限流 10 分钟）：errcode {errcode} {errmsg}"
            return DeliveryResult.retry_later(THROTTLED_FOR, reason, status=status, errcode=errcode, answer=answer)
        if errcode == SYSTEM_BUSY:
            reason = f"{SERVICE}系统繁忙，稍后重试：errcode {errcode} {errmsg}"
            return DeliveryResult.retry_later(DEFAULT_RETRY, reason, status=status, errcode=errcode, answer=answer)
        hint = HINTS.get(errcode, "消息被拒收")
        if errcode == 310000:
            hint = next((h for key, h in SECURITY_HINTS.items() if key in errmsg.lower()), hint)
        reason = f"{SERVICE}拒收（{hint}）：errcode {errcode} {errmsg}"
        return DeliveryResult.failed(reason, status=status, errcode=errcode, answer=answer)
