"""From one outbox row per notice × person to one per notice × recipient × channel.

The workflow and the periodic jobs say who a notice is for (``service.recipients``, ``service.digests``);
this module says how it travels, from each person's choices (``notifications.choices``, stored in
``notice_preference``) and the channels attached to them or their unit (``notice_channel``):

- ``email``   — the row as it came (``undeliverable`` when the person has no address);
- ``inbox``   — a row that is delivered as it is written (status ``sent``): the in-app inbox;
- ``channel`` — a row per work-group robot (WeCom, DingTalk) of the person and of their unit;
- ``sms``     — a row per SMS number of the person and of their unit.

A unit's channel gets one row per notice, however many of its people the notice is for: the key is the
notice's part of the person's key plus the channel (``…|ch7``). Channels and choices are cached per
process with the directory: their tables raise the same ``directory_stamp`` (``models.triggers``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from models.delivery import NoticeChannel, NoticePreference
from models.tables import table_of
from notifications.choices import CHANNEL, EMAIL, INBOX, SMS, ways_for
from service.directory import DirectoryView

ROBOTS = ("wecom", "dingtalk")
KEY_MAX = 255
_EXTRA = {"channel": EMAIL, "channel_id": None, "sent_at": None}


@dataclass(frozen=True)
class ChannelRef:
    id: int
    kind: str
    unit_id: int | None
    user_id: int | None


@dataclass(frozen=True)
class Routing:
    """Active channels by unit and by person, and people's stored choices, as of directory ``version``."""

    version: int
    choices: dict[int, dict[str, tuple[str, ...]]]
    by_unit: dict[int, tuple[ChannelRef, ...]]
    by_user: dict[int, tuple[ChannelRef, ...]]

    def channels(self, user_id: int, unit_id: int | None, kinds: tuple[str, ...]) -> list[ChannelRef]:
        mine = self.by_user.get(user_id, ()) + (self.by_unit.get(unit_id, ()) if unit_id is not None else ())
        return [c for c in mine if c.kind in kinds]


def load_routing(session: Session | Connection, version: int) -> Routing:
    c, p = table_of(NoticeChannel), table_of(NoticePreference)
    by_unit: dict[int, list[ChannelRef]] = {}
    by_user: dict[int, list[ChannelRef]] = {}
    rows = session.execute(
        sa.select(c.c.id, c.c.kind, c.c.unit_id, c.c.user_id).where(c.c.active.is_(True)).order_by(c.c.id)
    )
    for r in rows:
        ref = ChannelRef(r.id, r.kind, r.unit_id, r.user_id)
        if r.user_id is not None:
            by_user.setdefault(r.user_id, []).append(ref)
        elif r.unit_id is not None:
            by_unit.setdefault(r.unit_id, []).append(ref)
    choices: dict[int, dict[str, tuple[str, ...]]] = {}
    for r in session.execute(sa.select(p.c.user_id, p.c.kind, p.c.ways)):
        choices.setdefault(r.user_id, {})[r.kind] = tuple(r.ways or ())
    return Routing(
        version,
        choices,
        {k: tuple(v) for k, v in by_unit.items()},
        {k: tuple(v) for k, v in by_user.items()},
    )


class RoutingCache:
    def __init__(self) -> None:
        self._routing: Routing | None = None
        self._lock = threading.Lock()

    def get(self, session: Session | Connection, version: int) -> Routing:
        cached = self._routing
        if cached is not None and cached.version == version:
            return cached
        fresh = load_routing(session, version)
        with self._lock:
            if self._routing is None or fresh.version >= self._routing.version:
                self._routing = fresh
        return fresh


_CACHES: weakref.WeakKeyDictionary[object, RoutingCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def routing(session: Session | Connection, view: DirectoryView) -> Routing:
    """Channels and choices as of ``view``'s directory version (cached per engine)."""
    if isinstance(session, Connection):
        engine = session.engine
    else:
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
    with _CACHES_LOCK:
        cache = _CACHES.get(engine.pool)
        if cache is None:
            cache = _CACHES[engine.pool] = RoutingCache()
    return cache.get(session, view.version)


def fan_out(rows: Iterable[dict], view: DirectoryView, route: Routing) -> list[dict]:
    """One row per notice × recipient × channel, from rows of one notice × person (see module docstring).
    Every row out has the same keys (one executemany)."""
    out: list[dict] = []
    seen: set[str] = set()

    def add(row: dict) -> None:
        key = row["dedup_key"][:KEY_MAX]
        if key not in seen:
            seen.add(key)
            out.append({**row, "dedup_key": key})

    for row in rows:
        if "channel" in row:  # already one per channel (a replayed row)
            add({**_EXTRA, **row})
            continue
        login = row.get("recipient_login")
        user = view.user_by_login(login) if login else None
        if user is None:  # nobody holds the role: the row says so, as it came
            add({**_EXTRA, **row})
            continue
        ways = ways_for(row["kind"], route.choices.get(user.id))
        if EMAIL in ways:
            add({**_EXTRA, **row})
        if INBOX in ways:
            add(
                {
                    **row,
                    "dedup_key": f"{row['dedup_key']}|inbox",
                    "channel": INBOX,
                    "channel_id": None,
                    "recipient_email": None,
                    "status": "sent",
                    "last_error": "",
                    "sent_at": row["created_at"],
                }
            )
        notice_part = row["dedup_key"].rpartition("|")[0]
        for way, kinds in ((CHANNEL, ROBOTS), (SMS, ("sms",))):
            if way not in ways:
                continue
            for ch in route.channels(user.id, user.unit_id, kinds):
                personal = ch.user_id is not None
                add(
                    {
                        **row,
                        "dedup_key": f"{notice_part}|ch{ch.id}",
                        "channel": ch.kind,
                        "channel_id": ch.id,
                        "recipient_role": row["recipient_role"] if personal else "unit_group",
                        "recipient_login": login if personal else None,
                        "recipient_email": None,
                        "status": "pending",
                        "last_error": "",
                        "sent_at": None,
                    }
                )
    return out
