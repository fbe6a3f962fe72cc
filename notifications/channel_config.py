"""Settings of delivery through robots and SMS, from the environment (errors name the variable).

- ``DUBAN_BASE_URL``            the address people open duban at (``https://duban.example.gov.cn``): messages
                                link to the problem page under it; without it they carry no link.
- ``DUBAN_SMS_GATEWAY``         a TOML file describing the SMS gateway (``notifications.channels.sms``; an
                                example in docs/deploy.md). Without it SMS channels fail with that reason.
- ``DUBAN_ROBOT_RATE_LIMIT``    messages per minute per robot (default 20, the services' limit; 0 = off).
- ``DUBAN_CHANNELS_ALLOW_HTTP`` 1: accept http:// robot and gateway addresses (a gateway on the county
                                intranet; tests). Default: https only.
- ``DUBAN_CHANNEL_CONCURRENCY`` robots sent to at the same time (default 8; one robot is always sequential).
- ``DUBAN_CHANNEL_LEASE``       seconds a sender holds the notices it claimed (default 300; renewed every third
                                of it while it runs). After a sender is killed, its notices wait this long
                                before another sender takes them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from notifications.channels.sms import SmsGatewayConfig, validate_template
from notifications.errors import NoticeError
from notifications.retry import RetryPolicy
from workflow.errors import InvalidValue


class ChannelConfigError(NoticeError):
    """渠道配置无效。"""

    code = "channel_config"


SMS_KEYS = (
    "url",
    "method",
    "headers",
    "body",
    "body_format",
    "success_when",
    "max_chars",
    "credentials",
    "timeout",
    "allow_http",
)


@dataclass(frozen=True)
class ChannelSettings(RetryPolicy):
    """Backoff after the n-th counted failure: ``min(backoff_max, backoff_base * 2 ** (n - 1))`` seconds. A
    message is ``failed`` after ``max_attempts`` counted failures; a rate limit or an unreachable service
    does not count (it delays, it never fails a notice)."""

    base_url: str | None = None
    sms: SmsGatewayConfig | None = None
    rate_limit: int = 20  # per robot per minute; 0: off
    allow_http: bool = False
    concurrency: int = 8
    timeout: float = 10.0
    max_attempts: int = 6
    backoff_base: float = 60.0
    backoff_max: float = 3600.0
    lease_seconds: float = 300.0
    batch_size: int = 500
    issuing_office: str = "县政府办督查室"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChannelSettings:
        env = os.environ if environ is None else environ

        def get(key: str) -> str | None:
            value = env.get(key)
            return value.strip() if value and value.strip() else None

        def integer(key: str, default: int, low: int, high: int) -> int:
            raw = get(key)
            if raw is None:
                return default
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise ChannelConfigError(f"{key} 的值「{raw}」无效：须为 {low}–{high} 的整数")
            return int(raw)

        allow = (get("DUBAN_CHANNELS_ALLOW_HTTP") or "0").lower()
        if allow not in ("0", "1", "true", "false", "yes", "no"):
            raise ChannelConfigError(f"DUBAN_CHANNELS_ALLOW_HTTP 的值「{allow}」无效：须为 1 或 0")
        allow_http = allow in ("1", "true", "yes")
        base_url = get("DUBAN_BASE_URL")
        if base_url and not base_url.lower().startswith(("http://", "https://")):
            raise ChannelConfigError(f"DUBAN_BASE_URL 的值「{base_url}」无效：须以 http:// 或 https:// 开头")
        path = get("DUBAN_SMS_GATEWAY")
        return cls(
            base_url=base_url,
            sms=load_sms_gateway(Path(path), allow_http) if path else None,
            rate_limit=integer("DUBAN_ROBOT_RATE_LIMIT", 20, 0, 10000),
            allow_http=allow_http,
            concurrency=integer("DUBAN_CHANNEL_CONCURRENCY", 8, 1, 256),
            lease_seconds=integer("DUBAN_CHANNEL_LEASE", 300, 1, 3600),
        )


def load_sms_gateway(path: Path, allow_http: bool = False) -> SmsGatewayConfig:
    """The gateway described in a TOML file; its templates are rendered once with a sample message, so a
    template that does not render is refused here, naming the file."""
    try:
        data = tomllib.loads(path.read_text("utf-8-sig"))
    except FileNotFoundError:
        raise ChannelConfigError(f"短信网关配置文件 {path} 不存在（DUBAN_SMS_GATEWAY）") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChannelConfigError(f"无法读取短信网关配置文件 {path}：{exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ChannelConfigError(f"{path}: TOML 语法错误：{exc}") from None
    unknown = sorted(set(data) - set(SMS_KEYS))
    if unknown:
        raise ChannelConfigError(f"{path}: 键 {unknown[0]} 不认识，可用的键：{'、'.join(SMS_KEYS)}")
    if "url" not in data:
        raise ChannelConfigError(f"{path}: 缺少键 url（短信网关的网址模板）")
    data.setdefault("allow_http", allow_http)
    try:
        config = SmsGatewayConfig(**data)
        validate_template(config)
    except InvalidValue as exc:
        raise ChannelConfigError(f"{path}: {exc.message}") from None
    except TypeError as exc:
        raise ChannelConfigError(f"{path}: 设置的类型有误：{exc}") from None
    return config
