"""``duban serve --workers N``: the app factory each uvicorn worker process calls, and the lock that lets
exactly one of them run the in-process scheduler.

uvicorn starts N processes that accept connections on one socket; each calls ``create`` and builds its own
engine, rules and app from the environment ``commands/serve.py`` prepared (``DUBAN_DB``, ``DUBAN_RULES``,
``DUBAN_WEB_NOW``, ``DUBAN_SECRET_FILE``/``DUBAN_SECRET_KEY``, ``DUBAN_SCHEDULER_LOCK``). What a request
needs from an earlier request lives where every worker sees it: the session in the signed cookie (one key
for all workers), the CSRF token in the session, failed sign-ins in the database.

The scheduler: every worker tries a non-blocking exclusive ``flock`` on ``DUBAN_SCHEDULER_LOCK``; the one
that gets it runs the scheduler and keeps the lock for its lifetime. If that worker dies, the kernel releases
the lock and the worker uvicorn starts in its place takes it over. (The sweep and the sender are safe with
several schedulers anyway — leases, row locks, unique notice keys — so this is about doing the work once,
not about correctness.)
"""

from __future__ import annotations

import fcntl
import logging
import os
from datetime import UTC, datetime

log = logging.getLogger(__name__)
_held: list = []  # the open lock file of the worker that runs the scheduler (kept for the process's life)


def take_scheduler_lock(path: str) -> bool:
    """True if this process now holds the scheduler lock at ``path`` (and keeps it until it exits)."""
    handle = open(path, "a+")  # noqa: SIM115 — must stay open: closing it releases the lock
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _held.append(handle)
    return True


def create():
    """The FastAPI app of one worker process (uvicorn ``factory=True``)."""
    from models.db import make_engine
    from service import process_log
    from web.app import create_app
    from workflow.rules import load_rules

    process_log.configure(with_process=True)
    engine = make_engine(os.environ["DUBAN_DB"])
    rules = load_rules(os.environ.get("DUBAN_RULES") or None)
    fixed = os.environ.get("DUBAN_WEB_NOW")
    clock = (lambda: datetime.fromisoformat(fixed)) if fixed else (lambda: datetime.now(UTC))
    lock = os.environ.get("DUBAN_SCHEDULER_LOCK", "")
    scheduler = bool(lock) and take_scheduler_lock(lock)
    if lock and not scheduler:
        log.info("scheduler runs in another worker")
    return create_app(engine, rules, clock, run_scheduler=scheduler)
