"""Shared helpers for the benchmarks under ``bench/``: synthetic ledgers built with raw sqlite3 in a file
whose schema comes from the engine itself, timing, raw connections and table printing.

Ledger files are cached under ``var/bench/`` (git-ignored) and rebuilt when the schema or the generator
changes (a fingerprint is stored next to each file).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "var" / "bench"
GENERATOR_VERSION = 3  # bump when the generated rows change, to invalidate cached files

# The sweep's "now": Monday 16 June 2025, 10:00 in Asia/Shanghai (a year the statutory calendar knows).
NOW = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)

N_UNITS = 20
STAFF_PER_UNIT = 5
N_COUNTY_LEADERS = 6
N_INSPECTORS = 3
N_PROJECTS = 60
CATEGORIES = ("land", "demolition", "permit", "funding", "factor", "other")


# -- formats (what models.types.UTCDateTime and SQLAlchemy's SQLite Date store) -----------------------


def ts(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores UTCDateTime on SQLite: naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def ds(day: date) -> str:
    return day.strftime("%Y-%m-%d")


def check_timestamp_format(workdir: Path) -> str:
    """Insert one row through the ORM and return its raw stored text; fail if it differs from ``ts``."""
    from models.db import create_schema, make_engine, session
    from models.tables import Unit, User

    path = workdir / "format-check.db"
    remove_db(path)
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    moment = datetime(2025, 1, 2, 11, 4, 5, 6789, tzinfo=timezone(timedelta(hours=8)))
    with session(engine) as s, s.begin():
        s.add(Unit(code="u", name="U", kind="town"))
        s.flush()
        s.add(User(login="x", name="X", unit_id=1, role="staff", created_at=moment))
    engine.dispose()
    with sqlite3.connect(path) as conn:
        raw = conn.execute("SELECT created_at FROM user_account").fetchone()[0]
    conn.close()
    remove_db(path)
    if raw != ts(moment):
        raise SystemExit(f"timestamp format mismatch: ORM stored {raw!r}, bench would write {ts(moment)!r}")
    return raw


# -- files -------------------------------------------------------------------------------------------


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            p.unlink()


def copy_db(src: Path, dst: Path) -> None:
    """Copy a checkpointed (no -wal) database file: the restore between measured runs.

    The copy is fsync'ed here, outside any measurement: otherwise the first fsync SQLite issues (the WAL
    checkpoint at the end of a large write transaction) would pay for writing back the whole fresh copy.
    """
    remove_db(dst)
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def raw_connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection set up by the engine's own connect hook (``models.db._sqlite_pragmas``:
    autocommit, foreign keys, WAL, synchronous=NORMAL, busy timeout), so the baseline follows the engine."""
    from models.db import _sqlite_pragmas

    conn = sqlite3.connect(path, timeout=30)
    _sqlite_pragmas(conn, None)
    return conn


# -- ledger ------------------------------------------------------------------------------------------


@dataclass
class Ledger:
    path: Path
    size: int
    due: int
    due_ids: list[int]
    build_seconds: float | None  # None when taken from the cache


def schema_fingerprint() -> str:
    """Hash of the engine's DDL (tables and indexes) plus the generator version."""
    from models.db import create_schema, make_engine

    engine = make_engine("sqlite://")
    create_schema(engine)
    with engine.connect() as conn:
        ddl = [
            r[0]
            for r in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
        ]
    engine.dispose()
    # Lines sorted within each statement: a table that a migration rebuilt in batch mode (``notice``) comes
    # back with its constraints in set order, which differs between runs; the order means nothing.
    canonical = ["\n".join(sorted(line.strip().rstrip(",") for line in sql.splitlines())) for sql in ddl]
    return hashlib.sha256(("\n".join(canonical) + f"\ngen={GENERATOR_VERSION}").encode()).hexdigest()[:16]


def ledger(size: int, due: int, fingerprint: str, log: Callable[[str], None] = print) -> Ledger:
    """The cached ledger file for (size, due), building it if missing or stale."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"ledger-{size}-{due}.db"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("fingerprint") == fingerprint:
            return Ledger(path, size, due, meta["due_ids"], None)
    log(f"  building {path.relative_to(ROOT)} ({size:,} problems, {due:,} due) ...")
    t0 = time.perf_counter()
    tmp = path.with_name(path.name + ".tmp")
    due_ids = build_ledger(tmp, size, due, seed=size * 7919 + due)
    remove_db(path)
    os.replace(tmp, path)
    elapsed = time.perf_counter() - t0
    meta_path.write_text(
        json.dumps(
            {
                "fingerprint": fingerprint,
                "size": size,
                "due": due,
                "due_ids": due_ids,
                "build_seconds": round(elapsed, 2),
            }
        )
    )
    log(f"  built in {elapsed:.1f} s ({path.stat().st_size / 2**20:,.0f} MiB)")
    return Ledger(path, size, due, due_ids, elapsed)


PROBLEM_COLUMNS = (
    "id",
    "code",
    "project_id",
    "title",
    "description",
    "category",
    "severity",
    "county_level",
    "state",
    "level",
    "light",
    "reporter_id",
    "reporting_unit_id",
    "responsible_unit_id",
    "responsible_person_id",
    "leader_id",
    "responsible_section",
    "deadline",
    "deadline_provisional",
    "level_started_at",
    "deploy_due",
    "feedback_due",
    "acked_at",
    "feedback_at",
    "warned_at",
    "overdue_reminded_at",
    "deploy_reminded_at",
    "feedback_reminded_at",
    "stalled_at",
    "overdue_escalations",
    "next_check_at",
    "suspended_at",
    "suspended_from",
    "progress",
    "resolution",
    "rating",
    "created_at",
    "updated_at",
    "assigned_at",
    "resolved_at",
    "closed_at",
    "version",
)


def build_ledger(path: Path, size: int, due: int, seed: int) -> list[int]:
    """Create ``path`` with the engine's schema, then fill it with raw sqlite3 executemany.

    ``size`` open problems at level ``unit`` (states assigned / supervised). The ``due`` ones, scattered at
    random over the ids, missed their deadline and its grace before NOW (already warned and reminded):
    their ``next_check_at`` is their escalation threshold, in the past, so the sweep escalates them to
    ``county_leader``. All others have a deadline 3 weeks to 7 months ahead and ``next_check_at`` at their
    warning threshold. Thresholds are computed with the engine's own ``workflow.deadlines``.
    Returns the due ids, sorted.
    """
    from models.db import create_schema, make_engine
    from workflow import deadlines as dl
    from workflow.rules import load_rules

    rules = load_rules()
    remove_db(path)
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()

    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    # Bulk load without the problem table's secondary indexes, then recreate them from the engine's own DDL.
    index_ddl = [
        r
        for r in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='problem' AND sql IS NOT NULL"
        )
    ]
    conn.execute("BEGIN")
    for name, _ in index_ddl:
        conn.execute(f'DROP INDEX "{name}"')
    # The search index and the tally are filled once at the end, as ``duban db reindex`` does, rather than
    # by their triggers row by row.
    from models import search_index, tally

    for sql in search_index.drop_triggers("sqlite") + tally.drop_triggers("sqlite"):
        conn.execute(sql)

    created = ts(NOW - timedelta(days=400))
    units = [
        (u, f"bench-u{u:02d}", f"基准单位{u:02d}", "town" if u % 2 else "department", "[]")
        for u in range(1, N_UNITS + 1)
    ]
    conn.executemany("INSERT INTO unit (id, code, name, kind, aliases) VALUES (?,?,?,?,?)", units)
    users = []
    uid = 0
    heads, staff, leaders, inspectors = {}, {}, [], []

    def add_user(login, name, unit_id, role):
        nonlocal uid
        uid += 1
        users.append((uid, login, name, unit_id, role, f"{login}@bench.example", 1, None, created))
        return uid

    for u in range(1, N_UNITS + 1):
        heads[u] = add_user(f"head{u:02d}", f"负责人{u:02d}", u, "unit_head")
        staff[u] = [add_user(f"staff{u:02d}-{k}", f"专干{u:02d}-{k}", u, "staff") for k in range(STAFF_PER_UNIT)]
    for k in range(N_COUNTY_LEADERS):
        leaders.append(add_user(f"leader{k}", f"县领导{k}", 1, "county_leader"))
    for k in range(N_INSPECTORS):
        inspectors.append(add_user(f"inspector{k}", f"督查员{k}", 1, "inspector"))
    conn.executemany(
        "INSERT INTO user_account (id, login, name, unit_id, role, email, active, password_hash, "
        "created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        users,
    )
    projects = [
        (p, f"基准项目{p:03d}", (p - 1) % N_UNITS + 1, leaders[(p - 1) % N_COUNTY_LEADERS], created)
        for p in range(1, N_PROJECTS + 1)
    ]
    conn.executemany("INSERT INTO project (id, name, unit_id, leader_id, created_at) VALUES (?,?,?,?,?)", projects)

    # Thresholds per deadline date (few distinct dates), from the engine's own rules and calendar.
    today = dl.local_date(NOW, rules)
    future_days = [today + timedelta(days=d) for d in range(21, 211)]
    past_days = [d for d in (today - timedelta(days=k) for k in range(10, 31)) if rules.calendar.is_workday(d)]
    thr = {}
    for day in future_days + past_days:
        t = dl.thresholds(dl.Snapshot(state="assigned", level="unit", deadline=day), rules)
        thr[day] = (ds(day), ts(t.warn_at), ts(t.overdue_at), ts(t.escalate_at))
        if day in past_days:
            assert t.escalate_at <= NOW, (day, t.escalate_at)
        else:
            assert t.warn_at > NOW, (day, t.warn_at)

    due_ids = sorted(rng.sample(range(1, size + 1), due))
    due_set = set(due_ids)
    sql = f"INSERT INTO problem ({', '.join(PROBLEM_COLUMNS)}) VALUES ({', '.join('?' * len(PROBLEM_COLUMNS))})"
    n_future, n_past = len(future_days), len(past_days)
    rand = rng.random

    def rows(lo: int, hi: int) -> Iterable[tuple]:
        for i in range(lo, hi):
            p = int(rand() * N_PROJECTS) + 1
            unit = (p - 1) % N_UNITS + 1
            person = staff[unit][i % STAFF_PER_UNIT]
            supervised = i % 3 == 0
            started = ts(NOW - timedelta(days=30 + i % 60, seconds=i % 86400))
            # Logged in id order, evenly over the 60 days before the last 30, as a real ledger grows: a range
            # of logging dates (a campaign) is then a run of neighbouring rows, not rows from every page.
            logged = ts(NOW - timedelta(days=90) + timedelta(seconds=i * 60 * 86400 // size))
            if i in due_set:
                deadline, warn, overdue, escalate = thr[past_days[int(rand() * n_past)]]
                light, warned, reminded, next_check = "yellow", warn, overdue, escalate
            else:
                deadline, warn, _, _ = thr[future_days[int(rand() * n_future)]]
                light, warned, reminded, next_check = "green", None, None, warn
            yield (
                i,
                f"WT-B-{i:07d}",
                p,
                f"基准问题{i}",
                "",
                CATEGORIES[i % 6],
                "general",
                0,
                "supervised" if supervised else "assigned",
                "unit",
                light,
                staff[unit][(i // 7) % STAFF_PER_UNIT],  # reporter: the unit's own staff log its problems
                unit,
                unit,
                person,
                leaders[p % N_COUNTY_LEADERS],
                "",
                deadline,
                0,
                started,
                None,
                None,
                started,
                None,
                warned,
                reminded,
                None,
                None,
                None,
                0,
                next_check,
                None,
                None,
                "",
                "",
                None,
                logged,
                started,
                started,
                None,
                None,
                1,
            )

    chunk = 100_000
    for lo in range(1, size + 1, chunk):
        conn.executemany(sql, rows(lo, min(lo + chunk, size + 1)))
    for _, ddl in index_ddl:
        conn.execute(ddl)
    for sql in tally.rebuild("sqlite") + tally.create_triggers("sqlite") + search_index.rebuild("sqlite"):
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")  # what the engine's connections use
    conn.close()
    return due_ids


# -- timing and printing -----------------------------------------------------------------------------


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, also valid as a Markdown (GFM) table."""
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# -- PostgreSQL ----------------------------------------------------------------------------------------
#
# PostgreSQL ledgers are copies of the SQLite ledger files above (same rows, same due ids): the schema comes
# from ``create_schema(make_engine(url))`` (Alembic), the rows are streamed with ``COPY … FROM STDIN``, text
# formatted by SQLite itself. Each ledger is a *pristine* database; measured runs get a fresh
# ``CREATE DATABASE … TEMPLATE pristine`` copy. All bench databases are named ``duban_bench_*``.

PG_PREFIX = "duban_bench_"


def pg_url(url: str, dbname: str) -> str:
    """The SQLAlchemy URL ``url`` pointing at database ``dbname``."""
    import sqlalchemy as sa

    return sa.engine.make_url(url).set(database=dbname).render_as_string(hide_password=False)


def pg_dsn(url: str, dbname: str | None = None) -> str:
    """A libpq conninfo (for psycopg.connect) from a SQLAlchemy URL."""
    import sqlalchemy as sa

    u = sa.engine.make_url(url)
    if dbname is not None:
        u = u.set(database=dbname)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_admin(url: str):
    """An autocommit psycopg connection to the server's ``postgres`` database (CREATE/DROP DATABASE)."""
    import psycopg

    return psycopg.connect(pg_dsn(url, "postgres"), autocommit=True)


def pg_drop(admin, dbname: str) -> None:
    assert dbname.startswith(PG_PREFIX), dbname
    admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def pg_restore(admin, template: str, dbname: str) -> None:
    """``dbname`` := a fresh copy of ``template``, then a CHECKPOINT so that the copy's writes are not
    paid for inside the next measurement. FILE_COPY copies the files instead of WAL-logging every block."""
    pg_drop(admin, dbname)
    admin.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    admin.execute("CHECKPOINT")


def pg_settings(admin) -> str:
    names = ("server_version", "shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_wal_size", "jit")
    return ", ".join(f"{n}={admin.execute(f'SHOW {n}').fetchone()[0]}" for n in names)


def _sqlite_copy_text(conn: sqlite3.Connection, table: str, columns: Sequence[str]) -> Iterable[str]:
    """Rows of ``table`` as PostgreSQL COPY text lines, formatted by SQLite (tab-separated, NULL = \\N).
    The generator's values hold no tab, newline or backslash; timestamps are naive UTC text, booleans 0/1."""
    expr = " || char(9) || ".join(f"ifnull(CAST({c} AS TEXT), '\\N')" for c in columns)
    cur = conn.execute(f"SELECT {expr} FROM {table} ORDER BY rowid")
    while True:
        rows = cur.fetchmany(20_000)
        if not rows:
            return
        yield "\n".join(r[0] for r in rows) + "\n"


def pg_ledger(
    url: str, led: Ledger, fingerprint: str, admin, log: Callable[[str], None] = print, suffix: str = ""
) -> str:
    """The pristine PostgreSQL copy of SQLite ledger ``led``; returns its database name.

    Kept between runs when the fingerprint (stored as the database comment) matches, i.e. reused by a later
    ``--pg-keep`` run; otherwise rebuilt."""
    import psycopg

    from models.db import create_schema, make_engine

    name = f"{PG_PREFIX}l{led.size}_{led.due}{suffix}"
    comment = f"{fingerprint}:{led.path.stat().st_mtime_ns}"
    got = admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    if got is not None and got[0] == comment:
        return name
    log(f"  building PostgreSQL ledger {name} from {led.path.name} ...")
    t0 = time.perf_counter()
    pg_drop(admin, name)
    admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(pg_url(url, name))
    create_schema(engine)
    engine.dispose()
    src = sqlite3.connect(led.path)
    with psycopg.connect(pg_dsn(url, name)) as conn:
        conn.execute("SET TimeZone = 'UTC'")  # the SQLite text is naive UTC
        index_ddl = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'problem' AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).fetchall()
        for index_name, _ in index_ddl:
            conn.execute(f'DROP INDEX "{index_name}"')
        # Row triggers (search index, tally) off during the load; both are rebuilt in one pass afterwards.
        conn.execute("ALTER TABLE problem DISABLE TRIGGER USER")
        for table, columns in (
            ("unit", ("id", "code", "name", "kind", "aliases")),
            (
                "user_account",
                ("id", "login", "name", "unit_id", "role", "email", "active", "password_hash", "created_at"),
            ),
            ("project", ("id", "name", "unit_id", "leader_id", "created_at")),
            ("problem", PROBLEM_COLUMNS),
        ):
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for block in _sqlite_copy_text(src, table, columns):
                    copy.write(block)
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        for _, ddl in index_ddl:
            conn.execute(ddl)
        conn.execute("ALTER TABLE problem ENABLE TRIGGER USER")
        from models import search_index, tally

        for sql in tally.rebuild("postgresql") + search_index.rebuild("postgresql"):
            conn.execute(sql)
        conn.commit()
    src.close()
    with psycopg.connect(pg_dsn(url, name), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE, FREEZE)")  # hint bits, visibility map and statistics, as in a settled ledger
        n, due = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE next_check_at <= %s) FROM problem", (NOW,)
        ).fetchone()
    assert (n, due) == (led.size, led.due), f"PostgreSQL ledger has {n} problems, {due} due"
    admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
    log(f"  built in {time.perf_counter() - t0:.1f} s")
    return name


def pg_cleanup(admin, keep: Iterable[str] = ()) -> None:
    """Drop every ``duban_bench_*`` database except ``keep``."""
    keep = set(keep)
    for (name,) in admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (PG_PREFIX.replace("_", r"\_") + "%",)
    ).fetchall():
        if name not in keep:
            pg_drop(admin, name)
