"""The scheduler: APScheduler 3.11 runs the sweep, the digest, the half-monthly dispatch and delivery.

The jobs are plain methods of ``Jobs`` taking their time from an injected clock, so the same code runs
under APScheduler in real time (``serve``) and in a simulated replay over weeks in milliseconds
(``simulate``). Several scheduler processes against one database are safe: the sweep is guarded by a
lease row claimed with a conditional UPDATE, every notice has a unique key, and the sender claims
outbox rows atomically — so each escalation and each notice happens once whoever runs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from service import lease, search_grams, tally
from service.digests import record_digests, record_dispatch
from service.maintenance import refresh_statistics
from service.sweep import run_sweep
from workflow.rules import Rules

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
SWEEP_LEASE = "sweep"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class TickReport:
    now: datetime
    swept: bool = False
    actions: dict = field(default_factory=dict)
    digests: int = 0
    dispatches: int = 0
    office: int = 0  # 督办函 sent and reminded, assessment and campaign mails
    sent: int = 0
    failed: int = 0


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Jobs:
    """``clock`` is business time (deadlines; simulated in replays). Leases — "is that process still
    alive?" — are about real time, so they use ``wall``: two replays at different simulated moments
    must not think each other's leases expired."""

    def __init__(
        self,
        engine: Engine,
        rules: Rules,
        mail,
        clock: Clock,
        worker: str | None = None,
        deliver: bool = True,
        wall: Clock = wall_clock,
        channels=None,
    ):
        self.engine, self.rules, self.mail, self.clock, self.wall = engine, rules, mail, clock, wall
        self.worker = worker or worker_name()
        self.deliver_enabled = deliver
        self.channels = channels  # notifications.channel_config.ChannelSettings; None: the defaults
        self.lease_ttl = timedelta(minutes=max(2 * rules.sweep_minutes, 10))

    def sweep(self, report: TickReport | None = None) -> TickReport:
        """Sweep under the lease (skipped if another process holds it), then record periodic notices."""
        now = self.clock()
        report = report or TickReport(now)
        if self.engine.dialect.name == "postgresql":
            # Row locks (FOR UPDATE SKIP LOCKED) let every scheduler sweep at once, sharing the due problems.
            self._sweep(now, report, batch=200)
        elif lease.acquire(self.engine, SWEEP_LEASE, self.worker, self.wall(), self.lease_ttl):
            # SQLite has one writer at a time anyway: the lease keeps a second sweep from queueing behind.
            try:
                self._sweep(now, report)
            finally:
                lease.release(self.engine, SWEEP_LEASE, self.worker)
        # Digest and dispatch are keyed by period, so checking on every sweep is cheap and makes a
        # machine that was asleep at 08:30 still send today's digest once when it wakes.
        report.digests += self.digest()
        report.dispatches += self.dispatch()
        report.office += self.office()
        return report

    def _sweep(self, now: datetime, report: TickReport, batch: int = 2000) -> None:
        result = run_sweep(self.engine, self.rules, now, batch=batch)
        # Housekeeping: fold the dashboard tally's signed rows (one per change since the last round) into one
        # per key; once the ledger has grown by a quarter, refresh SQLite's planner statistics and measure the
        # search's common pieces on PostgreSQL again.
        tally.compact(self.engine)
        refresh_statistics(self.engine)
        search_grams.refresh(self.engine)
        report.swept = True
        for action, n in result.actions.items():
            report.actions[action] = report.actions.get(action, 0) + n
        if result.actions:
            log.info("sweep %s: %s", now.isoformat(), dict(result.actions))

    def digest(self) -> int:
        return record_digests(self.engine, self.rules, self.clock())

    def dispatch(self) -> int:
        return record_dispatch(self.engine, self.rules, self.clock())

    def office(self) -> int:
        """The inspection office's periodic work, each idempotent: letters whose PDF is not out yet (and,
        when letters need no signature, the drafts), reminders for unanswered letters, the monthly
        assessment on its day, a campaign's closing summary."""
        from service import assessment, campaigns, letters

        now = self.clock()
        done = letters.deliver_pending(self.engine, self.rules, now)
        done += letters.remind_unanswered(self.engine, self.rules, now)
        done += assessment.run_monthly(self.engine, self.rules, now)
        done += campaigns.summarize_ended(self.engine, self.rules, now)
        return done

    def deliver(self, report: TickReport | None = None) -> TickReport:
        report = report or TickReport(self.clock())
        if not self.deliver_enabled:
            return report
        from notifications.channel_config import ChannelSettings
        from notifications.channel_sender import deliver_channels
        from notifications.sender import deliver_pending

        hours = self.rules.office_hours()
        stats = deliver_pending(self.engine, self.mail, self.clock, self.worker, wall=self.wall, office_hours=hours)
        report.sent += stats.sent
        report.failed += stats.failed
        if stats.stopped:
            log.warning("delivery stopped: %s", stats.stopped)
        robots = deliver_channels(
            self.engine, self.channels or ChannelSettings(), self.clock, self.worker, office_hours=hours, wall=self.wall
        )
        report.sent += robots.sent
        report.failed += robots.failed
        return report

    def tick(self) -> TickReport:
        """Everything one scheduler round does: sweep, periodic notices, then deliver what is pending."""
        report = self.sweep()
        return self.deliver(report)


def simulate(
    jobs: Jobs, start: datetime, until: datetime, step: timedelta, on_tick: Callable[[TickReport], None] | None = None
) -> list[TickReport]:
    """Replay the scheduler from ``start`` to ``until`` every ``step``, with the clock set to each moment."""
    reports = []
    moment = start
    real_clock = jobs.clock
    try:
        while moment <= until:
            jobs.clock = (lambda m: lambda: m)(moment)
            report = _tick_retrying(jobs)
            reports.append(report)
            if on_tick:
                on_tick(report)
            moment += step
    finally:
        jobs.clock = real_clock
    return reports


def _tick_retrying(jobs: Jobs, attempts: int = 5) -> TickReport:
    """One round of a replay, run again when SQLite answers "database is locked". It can do so at once,
    without waiting out busy_timeout: where waiting could deadlock, and while another connection recovers or
    cleans up the write-ahead log (seen once in ~15 runs of two replays on one file). Every job is idempotent
    and transactional, so a round that failed midway is simply repeated; under ``serve`` the next interval
    does the same."""
    import sqlalchemy.exc as sa_exc

    for attempt in range(1, attempts):
        try:
            return jobs.tick()
        except sa_exc.OperationalError as exc:
            if "database is locked" not in str(exc):
                raise
            log.warning("round at %s: database locked, trying again (%d/%d)", jobs.clock(), attempt, attempts)
            time.sleep(0.1 * attempt)
    return jobs.tick()


async def serve(jobs: Jobs, rules: Rules, deliver_seconds: int = 30, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set); on stop, wait for the job in flight to finish."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    tz = rules.timezone
    # A thread pool whose shutdown(wait=True) really waits (the asyncio executor cannot).
    scheduler = AsyncIOScheduler(timezone=tz, executors={"default": ThreadPoolExecutor(max_workers=2)})
    # coalesce + max_instances=1 + a misfire grace: a laptop that slept through ten runs catches up once.
    common = dict(coalesce=True, max_instances=1, replace_existing=True)
    scheduler.add_job(
        jobs.sweep,
        IntervalTrigger(minutes=rules.sweep_minutes, timezone=tz),
        id="sweep",
        name="巡检",
        next_run_time=datetime.now(tz),
        misfire_grace_time=rules.sweep_minutes * 60,
        **common,
    )
    scheduler.add_job(
        jobs.digest,
        CronTrigger(hour=rules.digest_at.hour, minute=rules.digest_at.minute, timezone=tz),
        id="digest",
        name="每日汇总",
        misfire_grace_time=12 * 3600,
        **common,
    )
    # Every day: a dispatch day on a holiday moves to the next working day (service.digests.dispatch_period).
    scheduler.add_job(
        jobs.dispatch,
        CronTrigger(hour=rules.dispatch_at.hour, minute=rules.dispatch_at.minute, timezone=tz),
        id="dispatch",
        name="重大问题调度",
        misfire_grace_time=24 * 3600,
        **common,
    )
    scheduler.add_job(
        jobs.deliver,
        IntervalTrigger(seconds=deliver_seconds, timezone=tz),
        id="deliver",
        name="发送通知",
        next_run_time=datetime.now(tz),
        misfire_grace_time=deliver_seconds,
        **common,
    )
    scheduler.start()
    log.info("scheduler %s started: sweep every %s min", jobs.worker, rules.sweep_minutes)
    try:
        await stop.wait()
    finally:
        # wait=True: a job already running (a delivery in flight) finishes before we return.
        scheduler.shutdown(wait=True)
        log.info("scheduler %s stopped", jobs.worker)
