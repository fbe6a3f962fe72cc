"""Deliver due notices: claim a batch → render → send over a pool of connections → record each outcome.

One producer claims batches (``outbox.claim``), loads what the templates need in one short read, then
renders one message at a time into a small queue; ``transport.concurrency`` workers each own one
connection and send sequentially. Every outcome is committed as soon as the event loop gets to it —
one transaction for whatever finished since the last commit (group commit): one row when the server
is slow, a few when it is fast — so the window in which a message is accepted but not yet recorded
(the only way to get a duplicate) stays below a millisecond or so.

Failures: a message the server refuses (or during which the connection breaks) goes back to
``pending`` with exponential backoff and is ``failed`` with the server's reply after ``max_attempts``;
a server that cannot be reached at all stops the run and leaves every claimed notice ``pending`` (its
attempt is given back: an outage never fails a notice; retry after ``backoff_base``); a notice that
cannot be rendered is ``failed`` at once. Time comes from ``now``: a datetime (advanced by the
monotonic clock during the run) or a callable returning aware datetimes. It is business time:
which notices are due, ``sent_at``, when to retry (the backoff counts from the run's start, so a slow
run does not move retries). Leases ("is that worker still alive?") are about real time and use ``wall``
(default: the system clock, read only through that argument), so that two processes replaying different
simulated moments never take each other's claims for expired.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from notifications import merge, outbox
from notifications.config import MailConfig
from notifications.errors import Rejected, RenderError, Unreachable
from notifications.transport import ConnectFailed, Job, make_transport
from workflow.office_hours import DeliveryRules

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MERGE_MAX = 10  # waiting notices merged into one mail


def _address(row) -> str:
    return (row.recipient_email or "").strip().lower()


def system_clock() -> datetime:
    """Real time, for leases only (the default ``wall``)."""
    return datetime.now(UTC)


@dataclass
class DeliveryStats:
    transport: str
    claimed: int = 0
    sent: int = 0
    retried: int = 0  # back to pending, will be tried again
    failed: int = 0  # given up: rejected max_attempts times, or cannot be rendered
    elapsed: float = 0.0  # seconds
    stopped: str = ""  # why the run ended early (server unreachable, database error), else ""

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rate": round(self.rate, 1)}


def make_clock(now: datetime | Clock) -> Clock:
    """A callable clock from ``now``: a callable is used as is; an aware datetime advances with the
    monotonic clock from the moment of the call (the code never reads the wall clock itself)."""
    if callable(now):
        return now
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    start = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - start)


def deliver_pending(
    engine: Engine,
    config: MailConfig,
    now: datetime | Clock,
    worker_id: str,
    limit: int | None = None,
    *,
    wall: Clock = system_clock,
    transport=None,
    office_hours: DeliveryRules | None = None,
) -> DeliveryStats:
    """Deliver up to ``limit`` (default: all) notices due at ``now``. Runs its own event loop, so call
    it from synchronous code (CLI, scheduler thread); from async code await ``deliver_pending_async``.
    With ``office_hours``, outside the send window only the urgent kinds go out."""
    return asyncio.run(
        deliver_pending_async(
            engine, config, now, worker_id, limit, wall=wall, transport=transport, office_hours=office_hours
        )
    )


async def deliver_pending_async(
    engine: Engine,
    config: MailConfig,
    now: datetime | Clock,
    worker_id: str,
    limit: int | None = None,
    *,
    wall: Clock = system_clock,
    transport=None,
    office_hours: DeliveryRules | None = None,
) -> DeliveryStats:
    run = _Run(engine, config, make_clock(now), wall, worker_id, limit, transport or make_transport(config))
    run.office_hours = office_hours
    return await run.execute()


class _Run:
    def __init__(self, engine: Engine, config: MailConfig, clock: Clock, wall: Clock, worker_id: str, limit, transport):
        self.engine, self.config, self.clock, self.wall, self.worker_id = engine, config, clock, wall, worker_id
        self.limit = limit
        self.transport = transport
        self.stats = DeliveryStats(transport=transport.name)
        self.due_at = clock()  # notices rescheduled during this run are not taken again by it
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=max(2, 2 * transport.concurrency))
        self.outcomes: list[outbox.Outcome] = []
        self.open_jobs: dict[str, int] = {}  # claim token → notices not yet resolved
        self.wake = asyncio.Event()
        self.closing = False
        self.stop_reason = ""
        self.last_renew = time.monotonic()
        self.conn = None  # one connection held for the run: outcomes are recorded many times a second
        self.loader = None  # one ContextLoader for the run: problems and rendered blocks are reused
        self.office_hours: DeliveryRules | None = None

    async def execute(self) -> DeliveryStats:
        started = time.perf_counter()
        self.conn = self.engine.connect()
        channels = [self.transport.channel() for _ in range(self.transport.concurrency)]
        workers = [asyncio.create_task(self._work(ch)) for ch in channels]
        flusher = asyncio.create_task(self._flush_loop())
        try:
            await self._produce()
        finally:
            for _ in workers:
                await self.queue.put(None)
            await asyncio.gather(*workers, return_exceptions=True)
            self.closing = True
            self.wake.set()
            await asyncio.gather(flusher, return_exceptions=True)
            try:
                self._flush(final=True)
            finally:
                self.conn.close()
            await asyncio.gather(*(ch.close() for ch in channels), return_exceptions=True)
            self.stats.elapsed = time.perf_counter() - started
            self.stats.stopped = self.stop_reason
        log.info("notices delivered", extra={"worker": self.worker_id, **self.stats.as_dict()})
        return self.stats

    # -- producer -------------------------------------------------------------------------------
    async def _produce(self) -> None:
        from notifications.context import ContextLoader
        from notifications.render import render_content

        remaining = self.limit
        held_since = self.office_hours.held_since(self.due_at) if self.office_hours is not None else None
        kinds = None  # outside office hours: only the urgent kinds
        if self.office_hours is not None and self.office_hours.held_since(self.due_at) is None:
            kinds = sorted(self.office_hours.urgent)
        while (remaining is None or remaining > 0) and not self.stop_reason:
            size = self.config.batch_size if remaining is None else min(self.config.batch_size, remaining)
            token, rows = outbox.claim(
                self.engine,
                self.worker_id,
                self.wall(),
                size,
                self.config.lease,
                self.config.max_attempts,
                due_at=self.due_at,
                kinds=kinds,
            )
            if not rows:
                return
            self.stats.claimed += len(rows)
            if remaining is not None:
                remaining -= len(rows)
            self.open_jobs[token] = len(rows)
            with Session(self.engine, expire_on_commit=False) as session:
                loader = self.loader = self.loader or ContextLoader(session)
                loader.session = session
                loader.prefetch(rows)  # one short read; rendering below needs no database
                loader.office_name(self.config.issuing_office)
                session.close()  # never hold the SQLite write lock while awaiting the queue
                for group in merge.plan(rows, held_since, _address, MERGE_MAX):
                    if self.stop_reason:
                        for row in group:
                            self._retry(token, row.id, row.attempts, self.stop_reason, counted=False)
                        continue
                    try:
                        parts = [render_content(session, row, self.config, loader=loader) for row in group]
                    except Exception:  # noqa: BLE001 — render them one by one: only the bad one fails
                        if len(group) == 1:
                            parts = None
                        else:
                            for row in group:
                                await self._queue_one(session, loader, token, [row])
                            continue
                    finally:
                        if session.in_transaction():
                            session.close()
                    await self._queue_one(session, loader, token, group, parts)

    async def _queue_one(self, session, loader, token: str, group: list, parts=None) -> None:
        """Render ``group`` (one notice, or several waiting ones merged) and queue it as one message."""
        from notifications.merge_mail import merge_rendered
        from notifications.render import render_content, to_bytes

        row = group[0]
        try:
            if parts is None:
                parts = [render_content(session, r, self.config, loader=loader) for r in group]
            rendered = parts[0] if len(parts) == 1 else merge_rendered(parts, row.kind, self.config.domain)
            data = to_bytes(rendered, self.config, eight_bit=self.config.eight_bit)
        except RenderError as exc:
            for r in group:
                self._fail(token, r.id, exc.message)
            return
        except Exception as exc:  # a template bug: visible as failed, `retry` after the fix
            log.exception("cannot render notice %s", row.id)
            for r in group:
                self._fail(token, r.id, f"生成邮件失败：{type(exc).__name__}: {exc}")
            return
        finally:
            if session.in_transaction():
                session.close()
        fallback = partial(to_bytes, rendered, self.config) if self.config.eight_bit else None
        job = Job(
            row.id,
            token,
            rendered.message_id,
            self.config.mail_from,
            (rendered.to_addr,),
            data,
            max(r.attempts for r in group),
            fallback,
            tuple(r.id for r in group[1:]),
        )
        await self.queue.put(job)

    # -- workers --------------------------------------------------------------------------------
    async def _work(self, channel) -> None:
        while True:
            job = await self.queue.get()
            if job is None:
                return
            ids = (job.notice_id, *job.also)
            if self.stop_reason:
                for nid in ids:
                    self._retry(job.token, nid, job.attempts, self.stop_reason, counted=False)
                continue
            try:
                await channel.send(job)
            except ConnectFailed as exc:  # the server was never reached: the attempt is given back
                self._stop(exc.message)
                for nid in ids:
                    self._retry(job.token, nid, job.attempts, exc.message, counted=False)
            except (Rejected, Unreachable) as exc:  # refused, or the connection broke during this one
                self._attempt_failed(job, exc.message)
            except Exception as exc:  # noqa: BLE001 — never lose a claimed notice to a bug here
                log.exception("unexpected error sending notice %s", job.notice_id)
                self._attempt_failed(job, f"{type(exc).__name__}: {exc}")
            else:
                at = self.clock()
                for nid in ids:
                    self._resolve(outbox.Outcome(nid, job.token, "sent", at))
                self.stats.sent += len(ids)

    def _attempt_failed(self, job: Job, error: str) -> None:
        for nid in (job.notice_id, *job.also):
            if job.attempts >= self.config.max_attempts:
                self._fail(job.token, nid, error)
            else:
                self._retry(job.token, nid, job.attempts, error, counted=True)

    def _stop(self, reason: str) -> None:
        if not self.stop_reason:
            log.warning("stopping delivery: %s", reason, extra={"worker": self.worker_id})
            self.stop_reason = reason

    def _retry(self, token: str, notice_id: int, attempts: int, error: str, *, counted: bool) -> None:
        delay = self.config.backoff(attempts) if counted else self.config.backoff(1)
        # The backoff counts from the run's business time (``due_at``), not from however long the run has
        # taken so far: a slow machine must not push retries later, nor make the schedule depend on load.
        self._resolve(outbox.Outcome(notice_id, token, "pending", self.clock(), error, self.due_at + delay, counted))
        self.stats.retried += 1

    def _fail(self, token: str, notice_id: int, error: str) -> None:
        self._resolve(outbox.Outcome(notice_id, token, "failed", self.clock(), error))
        self.stats.failed += 1

    def _resolve(self, outcome: outbox.Outcome) -> None:
        self.outcomes.append(outcome)
        self.open_jobs[outcome.token] -= 1
        if not self.open_jobs[outcome.token]:
            del self.open_jobs[outcome.token]
        self.wake.set()

    # -- recording ------------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        # Wakes on every outcome, and every lease/3 so that claims are renewed even while one
        # message takes longer than the lease (a very slow server).
        loop = asyncio.get_running_loop()
        period = self.config.lease_seconds / 3

        def tick():
            self.wake.set()
            self.timer = loop.call_later(period, tick)

        self.timer = loop.call_later(period, tick)
        try:
            while not self.closing:
                await self.wake.wait()
                self.wake.clear()
                self._flush()
        finally:
            self.timer.cancel()

    def _flush(self, final: bool = False) -> None:
        outcomes, self.outcomes = self.outcomes, []
        try:
            if outcomes:
                outbox.record(self.conn, outcomes)
            if self.open_jobs and time.monotonic() - self.last_renew > self.config.lease_seconds / 3:
                until = self.wall() + self.config.lease
                for token in list(self.open_jobs):
                    outbox.renew(self.conn, token, until)
                self.last_renew = time.monotonic()
        except Exception:
            if final:
                raise
            log.exception("cannot record notice outcomes; will try again")
            self.outcomes[:0] = outcomes
            self._stop("数据库写入失败，已停止本轮发送")
