"""Login throttling, shared by every process through the database (table ``login_failure``).

Two limits within one window (default 15 minutes):

- **per login name and address**: after ``per_login`` failures for one login from one address, that pair
  waits (a person mistyping their own password; a guess at one account). A successful login clears it.
- **per address**: after ``per_ip`` failures from one address, whatever the login names, that address waits
  (password spraying: a few guesses at each of many accounts). A successful login does not clear it, or one
  valid account would reset the count for the others.

A refused attempt is not counted and its password is not checked (no argon2 work for a locked-out caller).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.db import reader
from models.db import session as open_session
from models.tables import LoginFailure, table_of

FAILURE: sa.Table = table_of(LoginFailure)


@dataclass(frozen=True)
class ThrottlePolicy:
    per_login: int = 5  # failures per login name + address within the window
    per_ip: int = 30  # failures per address within the window, whatever the login names
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Verdict:
    """0 seconds: may try now. ``scope`` says which limit refused: "login" or "ip"."""

    retry_after: int = 0
    scope: str = ""


def _key(login: str) -> str:
    return (login or "").strip().lower()[:64]


def check(engine: Engine, login: str, ip: str, now: datetime, policy: ThrottlePolicy) -> Verdict:
    """Whether ``login`` from ``ip`` may try a password now, and if not, for how many seconds not."""
    since = now - policy.window
    ip = (ip or "")[:64]
    recent = sa.and_(FAILURE.c.ip == ip, FAILURE.c.at > since)
    with open_session(reader(engine)) as s:
        by_ip = s.execute(
            sa.select(FAILURE.c.at).where(recent).order_by(FAILURE.c.at.desc()).limit(policy.per_ip)
        ).scalars()
        ip_times = list(by_ip)
        pair_times = list(
            s.execute(
                sa.select(FAILURE.c.at)
                .where(recent, FAILURE.c.login == _key(login))
                .order_by(FAILURE.c.at.desc())
                .limit(policy.per_login)
            ).scalars()
        )
    # Refused until the oldest of the last ``limit`` failures leaves the window.
    waits = []
    if len(pair_times) >= policy.per_login:
        waits.append((_seconds(pair_times[-1] + policy.window - now), "login"))
    if len(ip_times) >= policy.per_ip:
        waits.append((_seconds(ip_times[-1] + policy.window - now), "ip"))
    if not waits:
        return Verdict()
    wait, scope = max(waits)
    return Verdict(wait, scope)


def failed(engine: Engine, login: str, ip: str, now: datetime, policy: ThrottlePolicy) -> None:
    """Count a failed attempt; rows that left the window are purged on the way."""
    with open_session(engine) as s, s.begin():
        s.execute(sa.delete(FAILURE).where(FAILURE.c.at <= now - policy.window))
        s.execute(sa.insert(FAILURE).values(at=now, ip=(ip or "")[:64], login=_key(login)))


def succeeded(engine: Engine, login: str, ip: str) -> None:
    """A correct password clears its own login+address count (not the address's)."""
    with open_session(engine) as s, s.begin():
        s.execute(sa.delete(FAILURE).where(FAILURE.c.ip == (ip or "")[:64], FAILURE.c.login == _key(login)))


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))
