"""Web settings, read once from the environment and validated (errors name the variable)."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from fnmatch import fnmatchcase
from pathlib import Path

from service.login_throttle import ThrottlePolicy
from service.sessions import SessionPolicy
from workflow.errors import InvalidValue


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidValue(f"环境变量 {name}「{raw}」应为整数") from None
    if not low <= value <= high:
        raise InvalidValue(f"环境变量 {name}「{raw}」应在 {low}–{high} 之间")
    return value


def _flag(name: str, default: bool = False) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise InvalidValue(f"环境变量 {name}「{raw}」应为 1/0、true/false")


def load_secret(path: Path) -> str:
    """The cookie-signing key: ``DUBAN_SECRET_KEY``, else a key kept in ``path`` (created once, mode 0600),
    so sessions survive a restart and every process serving one database shares the key."""
    env = os.environ.get("DUBAN_SECRET_KEY")
    if env:
        if len(env) < 32:
            raise InvalidValue("环境变量 DUBAN_SECRET_KEY 太短：至少 32 个字符")
        return env
    if path.exists():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs, once it is written
        for _ in range(100):
            if key := path.read_text("utf-8").strip():
                return key
            time.sleep(0.01)
        raise InvalidValue(f"签名密钥文件 {path} 是空的：请删除后重试，或设置 DUBAN_SECRET_KEY") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    return key


MIB = 1024 * 1024


@dataclass(frozen=True)
class WebSettings:
    secret_key: str
    cookie_secure: bool = False  # DUBAN_COOKIE_SECURE=1 behind HTTPS: cookie sent over HTTPS only
    session_hours: int = 12  # DUBAN_SESSION_HOURS: absolute timeout, a login lasts this long at most
    session_idle_minutes: int = 120  # DUBAN_SESSION_IDLE_MINUTES: a session unused this long ends
    login_max_failures: int = 5  # DUBAN_LOGIN_MAX_FAILURES per login+IP within the window
    login_max_failures_per_ip: int = 30  # DUBAN_LOGIN_MAX_FAILURES_PER_IP whatever the login names
    login_window_seconds: int = 900  # DUBAN_LOGIN_WINDOW_SECONDS: window and lock-out duration
    max_body_bytes: int = MIB  # DUBAN_MAX_BODY_BYTES: JSON and form bodies; larger is refused with 413
    # Per-route body limits that differ from max_body_bytes: (path pattern, bytes), fnmatch-style, first
    # match wins — e.g. ("/problems/*/attachments", 20 * MIB) for file uploads.
    route_body_limits: tuple[tuple[str, int], ...] = ()
    page_size: int = 50
    # DUBAN_WEB_THREADS: requests one process works on at once (0: by database, see ``request_threads``).
    threads: int = 0

    @classmethod
    def from_env(cls, secret_file: Path | None = None) -> WebSettings:
        return cls(
            secret_key=load_secret(secret_file or Path(os.environ.get("DUBAN_SECRET_FILE", "var/secret_key"))),
            cookie_secure=_flag("DUBAN_COOKIE_SECURE"),
            session_hours=_int("DUBAN_SESSION_HOURS", 12, 1, 24 * 30),
            session_idle_minutes=_int("DUBAN_SESSION_IDLE_MINUTES", 120, 5, 24 * 60 * 30),
            login_max_failures=_int("DUBAN_LOGIN_MAX_FAILURES", 5, 1, 1000),
            login_max_failures_per_ip=_int("DUBAN_LOGIN_MAX_FAILURES_PER_IP", 30, 1, 100_000),
            login_window_seconds=_int("DUBAN_LOGIN_WINDOW_SECONDS", 900, 10, 86400),
            max_body_bytes=_int("DUBAN_MAX_BODY_BYTES", MIB, 1024, 1024 * MIB),
            threads=_int("DUBAN_WEB_THREADS", 0, 0, 200),
        )

    def request_threads(self, dialect: str) -> int | None:
        """Threads one process runs requests on (None: the server's default, 40). On SQLite the work is
        Python and SQLite in this process, under one interpreter lock: a third request thread only queues
        for that lock, and the queueing made four clients' p95 1.5x slower (docs/benchmarks.md). A
        PostgreSQL worker waits on the server, where more threads cost nothing measurable."""
        if self.threads:
            return self.threads
        return 2 if dialect == "sqlite" else None

    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=timedelta(minutes=self.session_idle_minutes), absolute=timedelta(hours=self.session_hours)
        )

    def throttle_policy(self) -> ThrottlePolicy:
        return ThrottlePolicy(
            per_login=self.login_max_failures,
            per_ip=self.login_max_failures_per_ip,
            window=timedelta(seconds=self.login_window_seconds),
        )

    def body_limit(self, path: str) -> int:
        """The largest request body ``path`` accepts, in bytes."""
        for pattern, limit in self.route_body_limits:
            if fnmatchcase(path, pattern):
                return limit
        return self.max_body_bytes
