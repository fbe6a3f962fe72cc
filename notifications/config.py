"""Mail settings, typed and validated at load; errors name the environment variable.

With no ``DUBAN_SMTP_HOST`` the file transport is used: every message is written as
``{mail_dir}/notice-{id:08d}.eml``, so the embedded default works anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from notifications.errors import MailConfigError
from notifications.retry import RetryPolicy

SECURITY_MODES = ("none", "starttls", "tls")
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


@dataclass(frozen=True)
class MailConfig(RetryPolicy):
    """Where and how to deliver notices.

    Times are in seconds. Backoff after the n-th failed attempt is
    ``min(backoff_max, backoff_base * 2 ** (n - 1))``. A message the server rejects is marked
    ``failed`` once it has been tried ``max_attempts`` times; a server that cannot be reached never
    fails a notice (it stays ``pending`` with capped backoff until the server is back).
    """

    smtp_host: str | None = None
    smtp_port: int | None = None  # None: 25 / 587 / 465 by security mode
    security: str = "none"  # none | starttls | tls
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    mail_from: str = "duban@localhost"
    from_name: str = "督办系统"
    mail_dir: Path = Path("./var/mail")
    concurrency: int = 4  # SMTP connections, each sending sequentially
    max_attempts: int = 5
    timeout: float = 30.0  # per SMTP command
    lease_seconds: float = 300.0  # how long a claimed row belongs to one worker
    batch_size: int = 200  # rows claimed per query
    backoff_base: float = 60.0
    backoff_max: float = 3600.0
    issuing_office: str = "县政府办督查室"
    helo_name: str | None = None  # EHLO name; default: the domain of mail_from (avoids a DNS lookup)
    eight_bit: bool = True  # bodies as UTF-8 (RFC 6152) when the server offers 8BITMIME, else base64

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise MailConfigError(f"DUBAN_SMTP_SECURITY 的值「{self.security}」无效，可选：none、starttls、tls")
        if not _is_ascii_address(self.mail_from):
            raise MailConfigError(
                f"DUBAN_MAIL_FROM 的值「{self.mail_from}」无效：须为 ASCII 邮件地址，如 duban@example.gov.cn"
            )
        for name, value in (
            ("DUBAN_SMTP_CONCURRENCY", self.concurrency),
            ("DUBAN_SMTP_MAX_ATTEMPTS", self.max_attempts),
            ("batch_size", self.batch_size),
        ):
            if not isinstance(value, int) or value < 1:
                raise MailConfigError(f"{name} 的值「{value}」无效：须为正整数")
        if self.smtp_port is not None and not 0 < self.smtp_port < 65536:
            raise MailConfigError(f"DUBAN_SMTP_PORT 的值「{self.smtp_port}」无效：须为 1–65535 的整数")
        if not self.timeout > 0 or not self.lease_seconds > 0:
            raise MailConfigError(f"DUBAN_SMTP_TIMEOUT 的值「{self.timeout}」无效：须为正的秒数")
        object.__setattr__(self, "mail_dir", Path(self.mail_dir))

    @property
    def transport(self) -> str:
        """``smtp`` when a host is configured, otherwise ``file``."""
        return "smtp" if self.smtp_host else "file"

    @property
    def port(self) -> int:
        return self.smtp_port or _DEFAULT_PORTS[self.security]

    @property
    def domain(self) -> str:
        """Right-hand side of Message-IDs, from ``mail_from``."""
        return self.mail_from.rpartition("@")[2] or "localhost"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailConfig:
        env = os.environ if environ is None else environ

        def get(key: str) -> str | None:
            value = env.get(key)
            return value.strip() if value and value.strip() else None

        def integer(key: str) -> int | None:
            raw = get(key)
            if raw is None:
                return None
            try:
                return int(raw)
            except ValueError:
                raise MailConfigError(f"{key} 的值「{raw}」无效：须为整数") from None

        kwargs: dict = {
            "smtp_host": get("DUBAN_SMTP_HOST"),
            "smtp_port": integer("DUBAN_SMTP_PORT"),
            "security": (get("DUBAN_SMTP_SECURITY") or "none").lower(),
            "smtp_user": get("DUBAN_SMTP_USER"),
            "smtp_password": env.get("DUBAN_SMTP_PASSWORD") or None,
        }
        if get("DUBAN_MAIL_FROM"):
            kwargs["mail_from"] = get("DUBAN_MAIL_FROM")
        if get("DUBAN_MAIL_DIR"):
            kwargs["mail_dir"] = Path(get("DUBAN_MAIL_DIR"))
        for key, name in (("DUBAN_SMTP_CONCURRENCY", "concurrency"), ("DUBAN_SMTP_MAX_ATTEMPTS", "max_attempts")):
            value = integer(key)
            if value is not None:
                kwargs[name] = value
        raw_timeout = get("DUBAN_SMTP_TIMEOUT")
        if raw_timeout:
            try:
                kwargs["timeout"] = float(raw_timeout)
            except ValueError:
                raise MailConfigError(f"DUBAN_SMTP_TIMEOUT 的值「{raw_timeout}」无效：须为秒数") from None
        return cls(**kwargs)


def _is_ascii_address(value: str) -> bool:
    local, at, domain = (value or "").rpartition("@")
    clean = not any(c.isspace() or c in '<>,;"()\\' or ord(c) < 32 for c in value or "")
    return bool(at and local and domain and value.isascii() and clean)
