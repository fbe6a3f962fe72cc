"""Helpers for the notification tests: a real SMTP server (aiosmtpd on 127.0.0.1, a free port), config,
row insertion. A module with a unique name: other test folders have their own ``conftest``."""

from __future__ import annotations

import os
from pathlib import Path

from models.db import session
from notifications.config import MailConfig
from tests.mailserver import Mailbox  # noqa: F401  (re-exported for the tests here)
from tests.servers import refusing_port

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on (a server 'down'), held so that no parallel test takes it; ``Mailbox().start``
    on it takes it over."""
    return refusing_port()


def smtp_config(port: int, tmp_path, **kw) -> MailConfig:
    kw.setdefault("concurrency", 4)
    kw.setdefault("timeout", 5.0)
    return MailConfig(smtp_host="127.0.0.1", smtp_port=port, mail_dir=tmp_path / "mail", **kw)


def add(engine, notices) -> list[int]:
    with session(engine) as s:
        s.add_all(notices)
        s.commit()
        return [n.id for n in notices]


def python_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
