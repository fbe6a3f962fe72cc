"""The dashboard's counts from ``ledger_tally`` (kept by the triggers of ``models.tally``): problems by state,
level and light, and problems logged and closed per UTC hour — exact, in the reader's own snapshot, without
reading the ledger. ``compact`` folds the signed rows into one row per key (the sweep calls it)."""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from models.tables import LedgerTally, table_of

log = logging.getLogger(__name__)
T = table_of(LedgerTally)
COMPACT_AFTER = 5000  # rows beyond the number of keys before a read asks for compaction


def _prefixed(prefix: str):
    """Keys starting with ``prefix`` ("s|", "c|", "x|") as a range of the key index ("}" sorts after "|")."""
    return sa.and_(T.c.key >= prefix, T.c.key < prefix[:-1] + "}")


def sums(session: Session, prefix: str | None = None) -> tuple[dict[str, int], int]:
    """Every key's total (zero totals left out) and how many rows were read; only the keys starting with
    ``prefix`` when given (the state keys are a few dozen; the hour keys grow with the ledger's age)."""
    out: dict[str, int] = {}
    rows = 0
    stmt = sa.select(T.c.key, sa.func.sum(T.c.n), sa.func.count()).group_by(T.c.key)
    if prefix is not None:
        stmt = stmt.where(_prefixed(prefix))
    for key, n, k in session.execute(stmt):
        rows += k
        if n:
            out[key] = int(n)
    return out, rows


def hour_key(moment: datetime) -> str:
    """The ``YYYY-MM-DD HH`` of the first UTC hour starting at or after ``moment`` (the triggers' format)."""
    utc = moment.astimezone(UTC)
    start = utc.replace(minute=0, second=0, microsecond=0)
    return (start if start == utc else start + timedelta(hours=1)).strftime("%Y-%m-%d %H")


def first_day(session: Session, prefix: str, tz) -> date | None:
    """The local date of the earliest hour under ``prefix`` with a non-zero total (None: none)."""
    key = session.execute(
        sa.select(T.c.key)
        .where(_prefixed(prefix))
        .group_by(T.c.key)
        .having(sa.func.sum(T.c.n) != 0)
        .order_by(T.c.key)
        .limit(1)
    ).scalar()
    return None if key is None else _hour_of(key).astimezone(tz).date()


def cumulative(session: Session, prefix: str, days: list[date], tz) -> list[int]:
    """For each local day in ``days`` (ascending), the total of the hours under ``prefix`` up to the end of
    that day — bucketed by the database, so the rows sent back are one per day asked, not one per hour.

    A key's bucket is the number of day ends at or before it: PostgreSQL's ``width_bucket`` finds it by a
    binary search over the bounds (a CASE of forty string comparisons per hour row took 5 ms at a million
    problems). SQLite has no such function; there the CASE is written out as text, its bounds hour keys made
    here from dates (digits, "-" and a space only) — building it with SQLAlchemy's operators took a third of
    a dashboard view."""
    ends = [prefix + hour_key(datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz)) for d in days]
    assert all(_HOUR_KEY.fullmatch(end[len(prefix) :]) for end in ends)
    params: dict = {"low": prefix, "high": prefix[:-1] + "}"}
    if session.get_bind().dialect.name == "postgresql":
        bucket = "width_bucket(key, CAST(:ends AS text[]))"
        params["ends"] = ends
    else:
        bucket = (
            "CASE " + " ".join(f"WHEN key < '{end}' THEN {i}" for i, end in enumerate(ends)) + f" ELSE {len(ends)} END"
        )
    sql = sa.text(f"SELECT {bucket} AS bucket, sum(n) FROM {T.name} WHERE key >= :low AND key < :high GROUP BY bucket")
    per_bucket = dict(session.execute(sql, params).all())
    out, running = [], 0
    for i in range(len(days)):
        running += int(per_bucket.get(i) or 0)
        out.append(running)
    return out


_HOUR_KEY = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}")


def _hour_of(key: str) -> datetime:
    """``c|YYYY-MM-DD HH`` → that UTC hour."""
    return datetime(int(key[2:6]), int(key[7:9]), int(key[10:12]), int(key[13:15]), tzinfo=UTC)


def by_state(totals: dict[str, int]) -> Counter:
    """(state, level, light) → problems."""
    out: Counter = Counter()
    for key, n in totals.items():
        if key.startswith("s|"):
            _, state, level, light = key.split("|")
            out[(state, level, light)] += n
    return out


def per_day(totals: dict[str, int], prefix: str, tz) -> Counter:
    """Local date → problems, from the per-UTC-hour keys ``c|`` (logged) or ``x|`` (closed)."""
    hours: Counter = Counter()
    for key, n in totals.items():
        if key.startswith(prefix):  # "c|YYYY-MM-DD HH"
            hours[_hour_of(key)] += n
    out: Counter = Counter()
    for hour, n in hours.items():
        out[hour.astimezone(tz).date()] += n
    return out


def count(session: Session, states: set[str] | None, level: str | None, light: str | None) -> int:
    totals, _ = sums(session, "s|")
    return sum(
        n
        for (s, lv, li), n in by_state(totals).items()
        if (states is None or s in states) and (level is None or lv == level) and (light is None or li == light)
    )


def compact(engine, patient: bool = True) -> int:
    """Fold every committed row into one row per key; returns the rows removed. Safe to run concurrently with
    writers and with another compaction: only rows read (and deleted) by this transaction are summed.
    ``patient=False`` (a page view doing housekeeping): on SQLite, give up at once when another process holds
    the write lock instead of waiting for it (raises OperationalError)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            return conn.execute(
                sa.text(
                    "WITH gone AS (DELETE FROM ledger_tally WHERE id <= (SELECT max(id) FROM ledger_tally) "
                    "RETURNING key, n), kept AS (INSERT INTO ledger_tally (key, n) SELECT key, sum(n) FROM gone "
                    "GROUP BY key HAVING sum(n) <> 0) SELECT count(*) FROM gone"
                )
            ).scalar_one()
    with engine.execution_options(sqlite_begin="IMMEDIATE").connect() as conn:
        raw = conn.connection.dbapi_connection
        if not patient:
            raw.execute("PRAGMA busy_timeout = 0")
        try:
            with conn.begin():
                # One writer at a time on SQLite: read, sum and delete in one transaction is exact.
                top = conn.execute(sa.select(sa.func.max(T.c.id))).scalar()
                if top is None:
                    return 0
                removed = conn.execute(sa.select(sa.func.count()).select_from(T).where(T.c.id <= top)).scalar_one()
                conn.execute(
                    sa.text(
                        "INSERT INTO ledger_tally (key, n) SELECT key, sum(n) FROM ledger_tally WHERE id <= :top "
                        "GROUP BY key HAVING sum(n) <> 0"
                    ),
                    {"top": top},
                )
                conn.execute(T.delete().where(T.c.id <= top))
                return removed
        finally:
            if not patient:
                raw.execute("PRAGMA busy_timeout = 30000")


def needs_compaction(rows: int, keys: int) -> bool:
    return rows > keys + COMPACT_AFTER
