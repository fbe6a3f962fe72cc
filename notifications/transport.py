"""Where messages go: a pool of reused SMTP connections (aiosmtplib), or ``.eml`` files.

A transport hands out ``channel()`` objects; the sender runs one task per channel, and each channel
sends its messages one after another over one connection (reconnecting when the server dropped it).
``send`` returns when the server has accepted the message, and raises:

- ``Rejected``      — the server refused this message (bad recipient, 4xx/5xx to MAIL/RCPT/DATA);
- ``Unreachable``   — the connection broke during this message (retry later; the next message reconnects);
- ``ConnectFailed`` — no connection can be made (refused, TLS, authentication): the whole run stops.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from notifications.config import MailConfig
from notifications.errors import Rejected, Unreachable


class ConnectFailed(Unreachable):
    """无法连接邮件服务器。"""

    code = "connect_failed"


@dataclass(frozen=True)
class Job:
    """One message to deliver: a claimed notice and its bytes."""

    notice_id: int
    token: str  # the claim under which the notice was taken
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    attempts: int = 1  # including this one
    seven_bit: Callable[[], bytes] | None = None  # set when ``data`` has 8-bit bodies: 7-bit version
    also: tuple[int, ...] = ()  # further notices this message carries (waiting notices merged into one)


class FileTransport:
    """Writes ``{mail_dir}/notice-{id:08d}.eml`` (atomically: temp file + rename). Sending a notice
    twice rewrites the same file, so the file transport never shows a duplicate."""

    name = "file"

    def __init__(self, mail_dir: Path):
        self.mail_dir = Path(mail_dir)
        self.concurrency = 1

    def channel(self) -> FileChannel:
        return FileChannel(self.mail_dir)


class FileChannel:
    def __init__(self, mail_dir: Path):
        self.mail_dir = mail_dir

    async def send(self, job: Job) -> None:
        try:
            self.mail_dir.mkdir(parents=True, exist_ok=True)
            path = self.mail_dir / f"notice-{job.notice_id:08d}.eml"
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(job.data)
            os.replace(tmp, path)
        except OSError as exc:
            raise ConnectFailed(f"无法写入邮件目录 {self.mail_dir}：{exc}") from None

    async def close(self) -> None:
        return None


class SmtpTransport:
    """``config.concurrency`` connections to ``config.smtp_host``, each reused for many messages."""

    name = "smtp"

    def __init__(self, config: MailConfig):
        self.config = config
        self.concurrency = config.concurrency

    def channel(self) -> SmtpChannel:
        return SmtpChannel(self.config)


class SmtpChannel:
    def __init__(self, config: MailConfig):
        self.config = config
        self._smtp = None

    async def _connect(self):
        import aiosmtplib

        c = self.config
        smtp = aiosmtplib.SMTP(
            hostname=c.smtp_host,
            port=c.port,
            timeout=c.timeout,
            use_tls=c.security == "tls",
            start_tls=c.security == "starttls",
            local_hostname=c.helo_name or c.domain,
            username=c.smtp_user,
            password=c.smtp_password if c.smtp_user else None,
        )
        try:
            await smtp.connect()
            if not smtp.last_ehlo_response:  # connect() greets only for STARTTLS / AUTH
                try:
                    await smtp.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await smtp.helo()
        except aiosmtplib.SMTPResponseException as exc:  # 421 greeting, 535 authentication, EHLO refused
            smtp.close()
            reason = f"邮件服务器 {c.smtp_host}:{c.port} 拒绝连接：{exc.code} {exc.message}"
            raise ConnectFailed(reason) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            raise ConnectFailed(f"无法连接邮件服务器 {c.smtp_host}:{c.port}：{_describe(exc)}") from None
        self._smtp = smtp
        return smtp

    async def send(self, job: Job) -> None:
        """One SMTP transaction: MAIL, RCPT, DATA (the commands ``SMTP.sendmail`` issues, without its
        per-message address re-parsing and SIZE pre-scan: addresses were validated when rendered)."""
        import aiosmtplib

        smtp = self._smtp
        if smtp is None or not smtp.is_connected:
            smtp = await self._connect()
        data, body = job.data, b""
        if job.seven_bit is not None:  # 8-bit bodies: declare them, or fall back to base64
            if smtp.supports_extension("8bitmime"):
                body = b" BODY=8BITMIME"
            else:
                data = job.seven_bit()
        try:
            reply = await smtp.execute_command(b"MAIL", b"FROM:<" + job.sender.encode("ascii") + b">" + body)
            if reply.code != 250:
                await self._abort(reply)
            for rcpt in job.recipients:
                reply = await smtp.execute_command(b"RCPT", b"TO:<" + rcpt.encode("ascii") + b">")
                if reply.code not in (250, 251):
                    await self._abort(reply, rcpt)
            await smtp.data(data)
        except aiosmtplib.SMTPResponseException as exc:  # DATA refused (4xx/5xx), or 421 from execute
            if exc.code == 421:
                self._drop()
                raise Unreachable(f"{exc.code} {exc.message}", smtp_code=exc.code) from None
            await self._reset()
            raise Rejected(f"{exc.code} {exc.message}", smtp_code=exc.code) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            self._drop()
            raise Unreachable(f"发送中连接中断：{_describe(exc)}") from None

    async def _abort(self, reply, rcpt: str | None = None) -> None:
        if reply.code == 421 or not self._smtp.is_connected:  # the server is closing the connection
            self._drop()
            raise Unreachable(f"{reply.code} {reply.message}", smtp_code=reply.code)
        await self._reset()
        where = f" <{rcpt}>" if rcpt else ""
        raise Rejected(f"{reply.code} {reply.message}{where}", smtp_code=reply.code)

    async def _reset(self) -> None:
        """RSET after a refused command, so the connection can carry the next message."""
        import aiosmtplib

        try:
            await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit(timeout=5)
        except Exception:  # noqa: BLE001 — closing anyway
            pass
        finally:
            smtp.close()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def make_transport(config: MailConfig):
    """SMTP when ``config.smtp_host`` is set, otherwise the file transport under ``config.mail_dir``."""
    return SmtpTransport(config) if config.transport == "smtp" else FileTransport(config.mail_dir)
