"""Checks of channel settings, run when an administrator saves them (and again when a channel is built).

Errors are ``workflow.errors.InvalidValue`` with ``field`` set; messages are Chinese and never show a
credential: URLs appear redacted (``base.redact``), secrets masked.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from notifications.channels.base import redact
from workflow.errors import InvalidValue

KIND_LABELS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "sms": "短信网关"}
# The query parameter that carries each robot's credential, as in the address the service shows.
CREDENTIAL_PARAMS = {"wecom": "key", "dingtalk": "access_token"}
URL_MAX = 2000
_PHONE = re.compile(r"1[3-9]\d{9}")


def validate_webhook_url(url: str, kind: str, *, allow_http: bool = False) -> str:
    """Check a robot's webhook address (``kind`` ``wecom`` / ``dingtalk``) or an SMS gateway URL (``sms``);
    returns it stripped. https is required unless ``allow_http`` (tests on 127.0.0.1, a gateway on a county
    intranet). A robot's address must carry its credential (``key=`` / ``access_token=``)."""
    if kind not in KIND_LABELS:
        raise InvalidValue(f"渠道类型「{kind}」无效，可选：wecom、dingtalk、sms", field="kind", value=kind)
    label = KIND_LABELS[kind]
    text = (url or "").strip()
    if not text:
        raise InvalidValue(f"请填写{label}的地址", field="url")
    shown = redact(text)
    if len(text) > URL_MAX:
        raise InvalidValue(f"{label}的地址过长（{len(text)} 个字符），最多 {URL_MAX} 个", field="url", value=shown)
    if any(c.isspace() for c in text):
        raise InvalidValue(f"{label}的地址「{shown}」含有空白字符", field="url", value=shown)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 — raises ValueError for a port out of range
    except ValueError:
        raise InvalidValue(
            f"{label}的地址「{shown}」无法识别，应形如 https://主机/路径", field="url", value=shown
        ) from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_http else ("https",)
    if scheme not in allowed:
        need = "http:// 或 https://" if allow_http else "https://"
        raise InvalidValue(f"{label}的地址「{shown}」须以 {need} 开头", field="url", value=shown)
    if not host:
        raise InvalidValue(f"{label}的地址「{shown}」缺少主机名", field="url", value=shown)
    if parts.username or parts.password:
        raise InvalidValue(f"{label}的地址「{shown}」不能包含用户名或密码", field="url", value=shown)
    param = CREDENTIAL_PARAMS.get(kind)
    if param and not parse_qs(parts.query).get(param, [""])[0].strip():
        raise InvalidValue(
            f"{label}的地址「{shown}」缺少 {param} 参数，请复制机器人设置中显示的完整 Webhook 地址",
            field="url",
            value=shown,
        )
    return text


def validate_phone(phone: str) -> str:
    """A mainland mobile number: 11 digits starting with 13–19, optionally written +86 / 86 / with spaces or
    hyphens; returns the 11 digits."""
    digits = re.sub(r"[\s-]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _PHONE.fullmatch(digits):
        raise InvalidValue(
            f"手机号码「{phone}」无效：应为 11 位中国大陆手机号，如 13800138000", field="phone", value=phone
        )
    return digits


def validate_keyword(keyword: str | None) -> str | None:
    """A DingTalk robot's custom keyword: one line of at most 50 characters; None when empty."""
    if keyword is None or not keyword.strip():
        return None
    word = keyword.strip()
    if "\n" in word or "\r" in word or len(word) > 50:
        raise InvalidValue(
            f"自定义关键词「{word[:40]}」无效：应为一行文字，最多 50 个字符", field="keyword", value=word
        )
    return word
