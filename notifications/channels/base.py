"""What every delivery channel shares: the message, the result, the protocol, and keeping secrets out of errors.

A channel turns one pre-rendered ``ChannelMessage`` into one HTTP request and classifies the answer:

- ``sent``        — the service accepted the message;
- ``retry_later`` — try again after ``after`` (rate limit, 5xx, timeout, connection refused, unreadable
  answer); ``ambiguous`` is True when the request may have reached the service (read timeout, connection
  dropped after sending, a 2xx answer that cannot be read), so a retry may show the message twice;
- ``failed``      — the service refused this message or the robot's settings (invalid key, signature,
  keyword): retrying will not help until an administrator changes the settings.

Every reason and every raw answer kept in a result passes through a ``Scrubber`` that knows the
channel's credentials (webhook key, access token, secret, SMS gateway credentials) and the full URL,
so that none of them reaches ``Notice.last_error``, the admin page or a log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

Clock = Callable[[], datetime]
Outcome = Literal["sent", "retry", "failed"]

ANSWER_MAX = 2000  # characters of the service's raw answer kept in a result
DEFAULT_RETRY = timedelta(minutes=1)  # after a 5xx, a timeout or an unreadable answer
TRUNCATION_MARK = "…（内容过长，已截断）"
MASK = "***"


def kind_label(kind: str) -> str:
    """The Chinese label of a notice kind; ``test`` for a channel test from the admin page; 通知 otherwise."""
    from notifications.kinds import KIND_LABELS

    return KIND_LABELS.get(kind) or {"test": "测试消息"}.get(kind, "通知")


def system_clock() -> datetime:
    """Real time: the default clock of a channel (DingTalk timestamps, rate windows)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChannelMessage:
    """Plain, pre-rendered content: a title line, a body in Chinese, a link to the problem page, and the notice
    kind (``notifications.kinds``), which a channel may use for emphasis (a colour, a tag)."""

    title: str
    text: str
    url: str | None
    kind: str


@dataclass(frozen=True)
class DeliveryResult:
    """How one attempt ended. ``answer`` is the service's raw reply (scrubbed, at most ``ANSWER_MAX``
    characters) for the admin page and ``channel test``; ``errcode`` the service's own code when it gave one."""

    outcome: Outcome
    reason: str = ""
    after: timedelta | None = None  # retry only: wait at least this long
    status: int | None = None  # HTTP status, None when no answer came
    errcode: int | None = None
    answer: str = ""
    ambiguous: bool = False  # retry only: the service may have received (and shown) the message

    @classmethod
    def sent(cls, *, status: int | None = None, errcode: int | None = None, answer: str = "") -> DeliveryResult:
        return cls("sent", status=status, errcode=errcode, answer=answer)

    @classmethod
    def retry_later(
        cls,
        after: timedelta,
        reason: str,
        *,
        status: int | None = None,
        errcode: int | None = None,
        answer: str = "",
        ambiguous: bool = False,
    ) -> DeliveryResult:
        return cls("retry", reason, after, status, errcode, answer, ambiguous)

    @classmethod
    def failed(
        cls, reason: str, *, status: int | None = None, errcode: int | None = None, answer: str = ""
    ) -> DeliveryResult:
        return cls("failed", reason, status=status, errcode=errcode, answer=answer)

    @property
    def ok(self) -> bool:
        return self.outcome == "sent"

    def as_dict(self) -> dict:
        after = None if self.after is None else self.after.total_seconds()
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "after_seconds": after,
            "status": self.status,
            "errcode": self.errcode,
            "answer": self.answer,
            "ambiguous": self.ambiguous,
        }


@runtime_checkable
class Channel(Protocol):
    """One destination (a robot, one phone number behind a gateway). ``kind`` is ``wecom``, ``dingtalk`` or
    ``sms``; ``rate_key`` names the destination for rate limiting without revealing its credentials."""

    kind: str
    rate_key: str

    async def send(self, client: httpx.AsyncClient, message: ChannelMessage) -> DeliveryResult: ...


# -- secrets ----------------------------------------------------------------------------------------------


def redact(url: str) -> str:
    """``url`` without credentials: user/password dropped, every query value replaced by ``***``.

    ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc`` → ``…/webhook/send?key=***``. A URL that
    cannot be parsed is replaced as a whole (it might be nothing but a secret)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    query = "&".join(f"{name}={MASK}" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host + port, parts.path, query, ""))


def rate_key(kind: str, identity: str) -> str:
    """A stable, non-secret name for a destination: ``wecom:3f2a…`` (SHA-256 of its URL or number). Safe to
    store in a rate-limit table or show on a page."""
    return f"{kind}:{hashlib.sha256(identity.encode('utf-8')).hexdigest()[:16]}"


def mask(secret: str) -> str:
    """A secret as shown in an error: its first three characters (``SEC``) and ``***``."""
    return (secret[:3] if len(secret) > 8 else "") + MASK


class Scrubber:
    """Replaces every known secret (and the full URL carrying it) by ``***`` in text meant for people."""

    def __init__(self, secrets: Iterable[str | None]):
        found: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= 4:  # shorter values would mask ordinary words
                found.add(secret)
                found.add(_quoted(secret))
        self.secrets = sorted(found, key=len, reverse=True)  # the URL before the key it contains

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def answer(self, raw: bytes | str) -> str:
        """The first ``ANSWER_MAX`` characters of an answer, scrubbed (a secret cut by the limit is masked too)."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        longest = len(self.secrets[0]) if self.secrets else 0
        return self(text[: ANSWER_MAX + longest])[:ANSWER_MAX]


def _quoted(secret: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(secret)


# -- shared HTTP handling ---------------------------------------------------------------------------------


async def post(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    content: bytes | None,
    headers: dict[str, str],
    timeout: float,
    scrub: Scrubber,
    service: str,
) -> httpx.Response | DeliveryResult:
    """Send one request; a transport failure comes back as a ``retry_later`` result (never an exception)
    whose reason names ``service`` and the redacted URL, never the URL itself."""
    where = f"{service}（{redact(url)}）"
    try:
        return await client.request(method, url, content=content, headers=headers, timeout=timeout)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        return DeliveryResult.retry_later(DEFAULT_RETRY, scrub(f"无法连接{where}：{_describe(exc)}"))
    except httpx.TimeoutException as exc:  # read/write timeout: the request may have arrived
        return DeliveryResult.retry_later(
            DEFAULT_RETRY, scrub(f"{where}在 {timeout:g} 秒内没有应答：{_describe(exc)}"), ambiguous=True
        )
    except httpx.TransportError as exc:  # connection dropped, protocol error
        return DeliveryResult.retry_later(
            DEFAULT_RETRY, scrub(f"与{where}的连接中断：{_describe(exc)}"), ambiguous=True
        )


def read_errcode_answer(
    response: httpx.Response, scrub: Scrubber, service: str
) -> tuple[int, str, str] | DeliveryResult:
    """``(errcode, errmsg, raw answer)`` from a robot's JSON answer; otherwise a result: ``retry_later`` for
    5xx, 408, 429 and a body that is not the documented JSON object, ``failed`` for other non-2xx statuses."""
    answer = scrub.answer(response.content)
    status = response.status_code
    if status >= 500 or status in (408, 429):
        after = retry_after(response) or DEFAULT_RETRY
        return DeliveryResult.retry_later(after, f"{service}暂时不可用：HTTP {status}", status=status, answer=answer)
    if not 200 <= status < 300:  # the robots answer errors with 200 + errcode: this is the address or a proxy
        reason = f"{service}的地址拒绝了请求：HTTP {status}（请检查地址或代理设置）"
        return DeliveryResult.failed(reason, status=status, answer=answer)
    try:
        data = json.loads(response.content)
        errcode = int(data["errcode"])
        errmsg = str(data.get("errmsg", ""))
    except (ValueError, KeyError, TypeError):
        reason = f"{service}的应答无法识别（应为含 errcode 的 JSON）"
        return DeliveryResult.retry_later(DEFAULT_RETRY, reason, status=status, answer=answer, ambiguous=True)
    return errcode, scrub(errmsg), answer


def retry_after(response: httpx.Response) -> timedelta | None:
    """The ``Retry-After`` header in seconds (the HTTP-date form is ignored)."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value), 86400))
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- text that fits ---------------------------------------------------------------------------------------


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that is at most ``limit`` bytes in UTF-8 (never half a character)."""
    if limit <= 0:
        return ""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def fit_utf8(head: str, body: str, tail: str, limit: int, mark: str = TRUNCATION_MARK) -> str:
    """``head + body + tail`` within ``limit`` bytes. When too long the body is cut on a character boundary
    and followed by ``mark``; ``tail`` (the link to the problem page, a required keyword) is always kept.
    When even ``head + mark + tail`` does not fit, ``head`` is cut too."""
    whole = head + body + tail
    if utf8_len(whole) <= limit:
        return whole
    fixed = utf8_len(mark + tail)
    if fixed > limit:  # a tail longer than the limit (a link of kilobytes): nothing sensible fits
        return cut_utf8(whole, limit)
    room = limit - fixed
    if room < utf8_len(head):
        return cut_utf8(head, room) + mark + tail
    return head + cut_utf8(body, room - utf8_len(head)).rstrip() + mark + tail
