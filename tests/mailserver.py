"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 on a free port, collecting what it accepts."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests import servers


class Mailbox:
    """aiosmtpd handler collecting what the server accepted; can refuse addresses and go slow."""

    def __init__(self):
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reject: dict[str, str] = {}  # address → SMTP reply, e.g. "550 5.1.1 mailbox unavailable"
        self.rcpt_delay = 0.0
        self.received = threading.Condition()
        self.port = 0
        self.controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.received:
            self.raw.append(envelope.original_content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received.notify_all()
        return "250 2.0.0 Ok: queued"

    def wait_for(self, count: int, timeout: float = 20) -> bool:
        with self.received:
            return self.received.wait_for(lambda: len(self.raw) >= count, timeout)

    def messages(self):
        return [message_from_bytes(raw, policy=policy.default) for raw in self.raw]

    def message_ids(self) -> Counter:
        return Counter(m["Message-ID"] for m in self.messages())

    # -- server control ----------------------------------------------------------------------
    def start(self, port: int = 0) -> Mailbox:
        """Listen on ``port`` (0: one the kernel picks; or a port tests.servers.refusing_port held)."""
        if port:
            servers.release(port)
        ctl = _Controller(self, hostname="127.0.0.1", port=port, server_hostname="localhost", ready_timeout=10)
        ctl.start()
        self.controller, self.port = ctl, ctl.port
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class _Controller(Controller):
    """aiosmtpd 1.4.6's ``Controller`` connects to ``self.port`` to check the server is up; with
    ``port=0`` that is port 0. Learn the real port from the bound socket first."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
