"""Deliver due notices to work-group robots and SMS: claim → plan (merge waiting ones) → render → send → record.

Same outbox, same guarantees as the mail sender (``notifications.sender``): rows are claimed atomically
(``outbox.claim`` with ``channels=ROBOT_CHANNELS``), every outcome is recorded only while the claim is
still ours, a sender that dies leaves claims that expire and are taken again.

Office hours (``workflow.office_hours``): outside the send window only urgent kinds are claimed; inside it,
notices that waited for the window are merged per destination and kind (``notifications.merge``). Each
destination is sent to one message at a time (its rate limit and the order of its messages); destinations
run in parallel (``settings.concurrency``).

Outcomes (``DeliveryResult``): sent → ``sent``; refused (invalid key, signature, keyword) → ``failed`` at once
with the service's reason; retry → back to ``pending``. A rate limit (ours, stored in ``channel_rate``, or the
service's) or a service that cannot be reached does not count as an attempt: it delays, it never fails a
notice. A 5xx, a timeout or an unreadable answer counts; after ``max_attempts`` the notice is ``failed``. After
any retry the destination's remaining messages of the run wait too, uncounted.

Exactly once as far as the services allow — which is not quite: neither the WeCom nor the DingTalk robot
webhook nor a typical SMS gateway takes an idempotency key, so a message the service accepted is recorded
``sent`` only after its answer came back. A sender killed between the two (SIGKILL, power loss) leaves that
notice claimed; when the claim expires it is sent again. The window is kept to one message per destination:
a destination's next message goes out only once the previous one's ``sent`` is committed
(``_recorded``). So a crash duplicates at most one message per destination that was in flight, and loses
none; a notice recorded ``sent`` is never sent again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime

import certifi
import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models.delivery import NoticeChannel
from models.tables import Notice, table_of
from notifications import brief, merge, outbox
from notifications.channel_config import ChannelSettings
from notifications.channels.base import DEFAULT_RETRY, DeliveryResult
from notifications.channels.limited import RATE_ERRCODES, RateLimited
from notifications.destinations import Destinations, Stored
from notifications.errors import RenderError
from notifications.rate_store import DatabaseLimiter
from notifications.sender import Clock, make_clock, system_clock
from workflow.office_hours import DeliveryRules

log = logging.getLogger(__name__)
ROBOT_CHANNELS = ("wecom", "dingtalk", "sms")
ROBOTS = ("wecom", "dingtalk")


@dataclass
class ChannelStats:
    claimed: int = 0
    messages: int = 0  # messages the services accepted
    sent: int = 0  # notices they carried
    merged: int = 0  # messages that carried more than one notice
    retried: int = 0
    failed: int = 0
    elapsed: float = 0.0
    skipped: str = ""  # why nothing was claimed (outside office hours)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Job:
    rows: list[Notice]
    message: object = None  # ChannelMessage once rendered
    attempts: int = field(init=False)

    def __post_init__(self) -> None:
        self.attempts = max(r.attempts for r in self.rows)


def deliver_channels(
    engine: Engine,
    settings: ChannelSettings,
    now: datetime | Clock,
    worker_id: str,
    limit: int | None = None,
    *,
    office_hours: DeliveryRules | None = None,
    wall: Clock = system_clock,
    client: httpx.AsyncClient | None = None,
) -> ChannelStats:
    """Deliver up to ``limit`` (default: all) due robot and SMS notices at ``now`` (business time: what is
    due, the window, rate windows, DingTalk timestamps); leases use ``wall``. From async code await
    ``deliver_channels_async``."""
    return asyncio.run(
        deliver_channels_async(
            engine, settings, now, worker_id, limit, office_hours=office_hours, wall=wall, client=client
        )
    )


async def deliver_channels_async(
    engine: Engine,
    settings: ChannelSettings,
    now: datetime | Clock,
    worker_id: str,
    limit: int | None = None,
    *,
    office_hours: DeliveryRules | None = None,
    wall: Clock = system_clock,
    client: httpx.AsyncClient | None = None,
) -> ChannelStats:
    run = _Run(engine, settings, make_clock(now), wall, worker_id, limit, office_hours)
    if client is not None:
        return await run.execute(client)
    limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=settings.timeout, verify=tls_context()) as own:
        return await run.execute(own)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate store, loaded once per process: httpx would load it for every client (about 25 ms of
    CPU), and the scheduler opens a client on every delivery round, with or without anything to send."""
    return ssl.create_default_context(cafile=certifi.where())


class _Run:
    def __init__(self, engine, settings: ChannelSettings, clock: Clock, wall: Clock, worker_id: str, limit, hours):
        self.engine, self.settings, self.clock, self.wall, self.worker_id = engine, settings, clock, wall, worker_id
        self.limit = limit
        self.hours: DeliveryRules | None = hours
        self.stats = ChannelStats()
        self.due_at = clock()
        self.destinations = Destinations(settings, clock)
        self.limiter = DatabaseLimiter(engine, settings.rate_limit) if settings.rate_limit else None
        self.outcomes: list[outbox.Outcome] = []
        self.open_tokens: dict[str, int] = {}
        self.loader = None
        self.wake = asyncio.Event()
        self.flushes = 0  # flushes that wrote outcomes
        self.flusher: asyncio.Task | None = None

    async def execute(self, client: httpx.AsyncClient) -> ChannelStats:
        started = time.perf_counter()
        kinds = None
        held_since = None
        if self.hours is not None:
            held_since = self.hours.held_since(self.due_at)
            if held_since is None:
                kinds = sorted(self.hours.urgent)
                if not kinds:
                    self.stats.skipped = f"发送时段外（{self.hours.window.label()}）"
        remaining = self.limit
        renewer = asyncio.create_task(self._renew_loop())
        flusher = self.flusher = asyncio.create_task(self._flush_loop())
        try:
            while remaining is None or remaining > 0:
                size = self.settings.batch_size if remaining is None else min(self.settings.batch_size, remaining)
                token, rows = outbox.claim(
                    self.engine,
                    self.worker_id,
                    self.wall(),
                    size,
                    self.settings.lease,
                    self.settings.max_attempts,
                    due_at=self.due_at,
                    channels=ROBOT_CHANNELS,
                    kinds=kinds,
                )
                if not rows:
                    break
                self.stats.claimed += len(rows)
                if remaining is not None:
                    remaining -= len(rows)
                self.open_tokens[token] = len(rows)
                await self._batch(client, token, rows, held_since)
                self._flush()
        finally:
            renewer.cancel()
            flusher.cancel()
            await asyncio.gather(renewer, flusher, return_exceptions=True)
            self._flush()
            self.stats.elapsed = time.perf_counter() - started
        log.info("channel notices delivered", extra={"worker": self.worker_id, **self.stats.as_dict()})
        return self.stats

    # -- one claimed batch ---------------------------------------------------------------------------
    async def _batch(self, client: httpx.AsyncClient, token: str, rows: list[Notice], held_since) -> None:
        jobs = [_Job(group) for group in merge.plan(rows, held_since, lambda r: r.channel_id, brief.MERGE_MAX)]
        stored = self._stored({r.channel_id for r in rows if r.channel_id is not None})
        by_channel: dict[int | None, list[_Job]] = {}
        self._render(token, jobs)
        for job in jobs:
            if job.message is not None:
                by_channel.setdefault(job.rows[0].channel_id, []).append(job)
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(channel_id, queue):
            async with gate:
                await self._send_queue(client, token, stored.get(channel_id), queue)

        await asyncio.gather(*(one(cid, queue) for cid, queue in by_channel.items()))

    def _stored(self, ids: set[int]) -> dict[int, Stored]:
        if not ids:
            return {}
        c = table_of(NoticeChannel)
        cols = (c.c.id, c.c.name, c.c.kind, c.c.address, c.c.secret, c.c.keyword, c.c.active)
        with self.engine.connect() as conn:
            return {r.id: Stored(*r) for r in conn.execute(sa.select(*cols).where(c.c.id.in_(sorted(ids))))}

    def _render(self, token: str, jobs: list[_Job]) -> None:
        from notifications.context import ContextLoader

        s = self.settings
        with Session(self.engine, expire_on_commit=False) as session:
            loader = self.loader = self.loader or ContextLoader(session)
            loader.session = session
            loader.prefetch([r for job in jobs for r in job.rows])
            for job in jobs:
                try:
                    if len(job.rows) == 1:
                        job.message = brief.brief(loader, job.rows[0], s.base_url, office=s.issuing_office)
                    else:
                        job.message = brief.merged(loader, job.rows, self._merged_link(job), office=s.issuing_office)
                except RenderError as exc:
                    self._finish(token, job, "failed", exc.message)
                except Exception as exc:  # a template bug: visible as failed, retried after the fix
                    log.exception("cannot render channel notice %s", job.rows[0].id)
                    self._finish(token, job, "failed", f"生成消息失败：{type(exc).__name__}: {exc}")

    def _merged_link(self, job: _Job) -> str | None:
        base = self.settings.base_url
        if not base:
            return None
        return base.rstrip("/") + ("/inbox" if job.rows[0].recipient_login else "/ledger")

    # -- sending ------------------------------------------------------------------------------------
    async def _send_queue(self, client: httpx.AsyncClient, token: str, stored: Stored | None, queue: list[_Job]):
        channel = self.destinations.get(stored) if stored is not None else "通知未关联渠道"
        if isinstance(channel, str):
            for job in queue:
                self._finish(token, job, "failed", channel)
            return
        if self.limiter is not None and channel.kind in ROBOTS:
            channel = RateLimited(channel, self.limiter, self.clock)
        for i, job in enumerate(queue):
            try:
                result = await channel.send(client, job.message)
            except Exception as exc:  # noqa: BLE001 — never lose a claimed notice to a bug here
                log.exception("unexpected error sending channel notice %s", job.rows[0].id)
                result = DeliveryResult.retry_later(DEFAULT_RETRY, f"{type(exc).__name__}: {exc}", ambiguous=True)
            if result.ok:
                self._finish(token, job, "sent")
                self.stats.messages += 1
                self.stats.merged += len(job.rows) > 1
                if i + 1 < len(queue):
                    await self._recorded()
                continue
            if result.outcome == "failed":
                self._finish(token, job, "failed", _reason(result))
                continue
            counted = _counted(result)
            self._retry(token, job, result, counted)
            # The destination is busy, throttled or down: its other messages wait too, uncounted.
            wait = result.after or DEFAULT_RETRY
            for rest in queue[i + 1 :]:
                held = DeliveryResult.retry_later(wait, f"同一渠道的前一条消息需稍后重试：{result.reason}")
                self._retry(token, rest, held, counted=False)
            return

    def _retry(self, token: str, job: _Job, result: DeliveryResult, counted: bool) -> None:
        if counted and job.attempts >= self.settings.max_attempts:
            self._finish(token, job, "failed", _reason(result))
            return
        at = self.clock()
        # A wait the service asked for counts from its answer; our own backoff from the run's business time
        # (``due_at``), so that the schedule does not drift with how long the run has taken.
        retry_at = at + result.after if result.after else self.due_at + DEFAULT_RETRY
        if counted:
            retry_at = max(retry_at, self.due_at + self.settings.backoff(job.attempts))
        for row in job.rows:
            self._resolve(outbox.Outcome(row.id, token, "pending", at, _reason(result), retry_at, counted))
        self.stats.retried += len(job.rows)

    def _finish(self, token: str, job: _Job, status: str, error: str = "") -> None:
        at = self.clock()
        for row in job.rows:
            self._resolve(outbox.Outcome(row.id, token, status, at, error))
        if status == "sent":
            self.stats.sent += len(job.rows)
        else:
            self.stats.failed += len(job.rows)
        job.message = None

    def _resolve(self, outcome: outbox.Outcome) -> None:
        self.outcomes.append(outcome)
        self.open_tokens[outcome.token] -= 1
        if not self.open_tokens[outcome.token]:
            del self.open_tokens[outcome.token]
        self.wake.set()

    async def _recorded(self) -> None:
        """Return once every outcome resolved so far is committed: the flusher's next round takes them all
        (other destinations' outcomes with them, so commits stay grouped)."""
        if not self.outcomes:
            return
        target = self.flushes + 1
        while self.flushes < target:
            if self.flusher is None or self.flusher.done():
                self._flush()  # no flusher (it failed): record here, raising the database's error
                return
            await asyncio.sleep(0)

    async def _flush_loop(self) -> None:
        """Group commit: every outcome is recorded as soon as the event loop gets to it, together with
        whatever else finished meanwhile — the window in which a message is accepted but not yet recorded
        (the only way to a duplicate) stays short."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            self._flush()

    def _flush(self) -> None:
        outcomes, self.outcomes = self.outcomes, []
        if outcomes:
            outbox.record(self.engine, outcomes)
            self.flushes += 1

    async def _renew_loop(self) -> None:
        """Keep our claims while a slow service takes its time (every third of the lease)."""
        period = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            self._flush()
            until = self.wall() + self.settings.lease
            for token in list(self.open_tokens):
                outbox.renew(self.engine, token, until)


def _counted(result: DeliveryResult) -> bool:
    """Does this retry use up an attempt? Not for a rate limit, nor when the service was never reached."""
    if result.errcode in RATE_ERRCODES:
        return False
    return result.ambiguous or result.status is not None or result.errcode is not None


def _reason(result: DeliveryResult) -> str:
    answer = f"；应答：{result.answer[:300]}" if result.answer and result.outcome == "failed" else ""
    return (result.reason or "发送失败") + answer
