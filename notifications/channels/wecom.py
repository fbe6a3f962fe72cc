"""企业微信 group robot: ``POST {webhook}?key=KEY`` with a markdown (≤ 4096 bytes) or text (≤ 2048 bytes) message.

The answer is ``{"errcode": 0, "errmsg": "ok"}`` on success. Classification of the other answers:

- 45009 (api freq out of limit: more than 20 messages a minute) and -1 (system busy) → retry later;
- every other errcode (93000 invalid webhook url — the robot was removed or the key is wrong; 40008 invalid
  message type; 40058 invalid parameter, e.g. content too long; 44004 empty content; …) → failed, with
  the errcode and errmsg. When markdown is refused as an invalid message type and ``text_fallback`` is
  set, the same message is sent at once as text instead (nothing was shown, so nothing is duplicated);
- HTTP 5xx, timeout, connection refused, a body that is not the documented JSON → retry later.

The key is a credential: it appears in no reason, answer or log line (``base.Scrubber``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from notifications.channels import markdown
from notifications.channels.base import (
    DEFAULT_RETRY,
    ChannelMessage,
    DeliveryResult,
    Scrubber,
    fit_utf8,
    kind_label,
    post,
    rate_key,
    read_errcode_answer,
)
from notifications.channels.validation import validate_webhook_url
from workflow.errors import InvalidValue

log = logging.getLogger(__name__)

SERVICE = "企业微信群机器人"
MARKDOWN_MAX = 4096  # bytes of markdown.content, UTF-8
TEXT_MAX = 2048  # bytes of text.content, UTF-8
TITLE_MAX = 200  # characters of the title line (the rest of the budget is for the body)
RATE_LIMITED = 45009
SYSTEM_BUSY = -1
INVALID_MESSAGE_TYPE = 40008
RETRY_RATE = timedelta(minutes=1)  # the robot's window is one minute

# What an administrator should check, by errcode (WeCom's own errmsg follows in the reason).
HINTS: dict[int, str] = {
    93000: "Webhook 地址无效：机器人可能已被移出群聊，或 key 有误",
    40008: "消息类型无效：该群可能不支持 markdown 消息",
    40058: "消息参数无效（如内容超长）",
    44004: "消息内容为空",
}
# <font color> of the kind line: info (green), comment (grey), warning (orange-red).
KIND_COLORS: dict[str, str] = {
    "warning": "warning",
    "reminder": "warning",
    "overdue": "warning",
    "escalation": "warning",
    "unassigned": "warning",
    "sent_back": "warning",
    "closed": "info",
    "resumed": "info",
}


@dataclass(frozen=True)
class WeComConfig:
    """One robot. ``webhook_url`` is the address shown in the robot's settings (it carries ``key=``)."""

    webhook_url: str = field(repr=False)
    msgtype: Literal["markdown", "text"] = "markdown"
    text_fallback: bool = True  # markdown refused as an invalid message type → send as text
    timeout: float = 10.0  # seconds per request
    allow_http: bool = False  # plain http (tests on 127.0.0.1)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "webhook_url", validate_webhook_url(self.webhook_url, "wecom", allow_http=self.allow_http)
        )
        if self.msgtype not in ("markdown", "text"):
            raise InvalidValue(
                f"消息格式「{self.msgtype}」无效，可选：markdown、text", field="msgtype", value=self.msgtype
            )
        if not self.timeout > 0:
            raise InvalidValue(f"超时「{self.timeout}」无效：须为正的秒数", field="timeout", value=self.timeout)

    @property
    def key(self) -> str:
        return parse_qs(urlsplit(self.webhook_url).query)["key"][0]


class WeComChannel:
    """Sends to one WeCom group robot. Stateless apart from its settings: share it between tasks."""

    kind = "wecom"

    def __init__(self, config: WeComConfig):
        self.config = config
        self.rate_key = rate_key(self.kind, config.webhook_url)
        self.scrub = Scrubber([config.webhook_url, config.key])
        self._headers = {"Content-Type": "application/json; charset=utf-8"}

    # -- formatting -------------------------------------------------------------------------------------
    def markdown_content(self, message: ChannelMessage) -> str:
        color = KIND_COLORS.get(message.kind, "comment")
        title = markdown.escape(message.title).replace("\n", " ")[:TITLE_MAX]
        head = f'### {title}\n<font color="{color}">{markdown.escape(kind_label(message.kind))}</font>\n'
        link = markdown.link("查看详情", message.url)
        tail = f"\n{link}" if link else ""
        return fit_utf8(head, markdown.escape(message.text).strip(), tail, MARKDOWN_MAX)

    def text_content(self, message: ChannelMessage) -> str:
        title = markdown.plain(message.title).replace("\n", " ")[:TITLE_MAX]
        head = f"【{kind_label(message.kind)}】{title}\n"
        url = markdown.safe_url(message.url)
        tail = f"\n查看详情：{url}" if url else ""
        return fit_utf8(head, markdown.plain(message.text).strip(), tail, TEXT_MAX)

    def body(self, message: ChannelMessage, msgtype: str | None = None) -> bytes:
        """The request body as sent (UTF-8 JSON)."""
        kind = msgtype or self.config.msgtype
        content = self.markdown_content(message) if kind == "markdown" else self.text_content(message)
        payload = {"msgtype": kind, kind: {"content": content}}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    # -- sending ----------------------------------------------------------------------------------------
    async def send(self, client: httpx.AsyncClient, message: ChannelMessage) -> DeliveryResult:
        result = await self._post(client, self.body(message))
        if (
            result.outcome == "failed"
            and result.errcode == INVALID_MESSAGE_TYPE
            and self.config.msgtype == "markdown"
            and self.config.text_fallback
        ):
            log.info("WeCom robot %s refused markdown; sending as text", self.rate_key)
            result = await self._post(client, self.body(message, "text"))
        return result

    async def _post(self, client: httpx.AsyncClient, body: bytes) -> DeliveryResult:
        c = self.config
        response = await post(
            client,
            "POST",
            c.webhook_url,
            content=body,
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
        if errcode == RATE_LIMITED:
            reason = f"{SERVICE}发送过于频繁（每分钟最多 20 条），稍后重试：errcode {errcode} {errmsg}"
            return DeliveryResult.retry_later(RETRY_RATE, reason, status=status, errcode=errcode, answer=answer)
        if errcode == SYSTEM_BUSY:
            reason = f"{SERVICE}系统繁忙，稍后重试：errcode {errcode} {errmsg}"
            return DeliveryResult.retry_later(DEFAULT_RETRY, reason, status=status, errcode=errcode, answer=answer)
        hint = HINTS.get(errcode, "消息被拒收")
        reason = f"{SERVICE}拒收（{hint}）：errcode {errcode} {errmsg}"
        return DeliveryResult.failed(reason, status=status, errcode=errcode, answer=answer)
