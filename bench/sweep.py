"""Sweep benchmark: selecting due problems and running the whole sweep on ledgers of 10k, 100k and 1M open
problems, each against raw sqlite3 doing the same work on the same file; plus ``duban --help`` start-up.

    .venv/bin/python bench/sweep.py                       # all sizes (make bench)
    .venv/bin/python bench/sweep.py --sizes 10000,100000  # fewer
    .venv/bin/python bench/sweep.py --profile             # also cProfile one sweep and one selection
    .venv/bin/python bench/sweep.py --pg postgresql+psycopg://duban:duban@127.0.0.1/postgres  # + PostgreSQL

With ``--pg URL`` the same ledgers are also copied into PostgreSQL (databases ``duban_bench_*`` on that
server, dropped at the end unless ``--pg-keep``) and measured the same way: the selection as the sweep runs
it there (``due_query(now, limit, lock=True)``: FOR UPDATE OF problem SKIP LOCKED) against raw psycopg, and
the whole sweep against raw psycopg writes, each run on a fresh ``CREATE DATABASE … TEMPLATE`` copy.

For each size N two ledgers are measured: 0.1 % of N due, and exactly 1,000 due (the same file at 1M).
Every due problem has missed its deadline and grace, so the sweep must escalate it (unit → county_leader):
one UPDATE, one event and three outbox rows per problem. Each measured sweep runs on a fresh copy of the
pristine ledger file, and is checked to have escalated exactly the due problems. The raw baseline replays,
on another fresh copy, exactly the rows the engine wrote (read back from the engine's result) in one
transaction, and its result is compared with the engine's.

Goals (docs/benchmarks.md): selection within 2x of raw sqlite3 and flat (±25 %) from 10k to 1M; a sweep
escalating 1,000 problems in under 0.3 s; ``duban --help`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datetime import UTC

from common import (  # noqa: E402
    BENCH_DIR,
    NOW,
    ROOT,
    Ledger,
    check_timestamp_format,
    copy_db,
    ledger,
    median,
    ms,
    pg_admin,
    pg_cleanup,
    pg_drop,
    pg_dsn,
    pg_ledger,
    pg_restore,
    pg_settings,
    pg_url,
    raw_connect,
    remove_db,
    schema_fingerprint,
    table,
    timed,
    ts,
)

LIMIT = 2000  # run_sweep's default batch: the LIMIT of the sweep's own due query
SELECT_GOAL_RATIO = 2.0
FLAT_TOLERANCE = 0.25
SWEEP_GOAL_S = 0.3
HELP_GOAL_S = 0.3
NOTICES_BY_KIND = "SELECT kind || '/' || channel || '/' || status, count(*) FROM notice GROUP BY 1"


def check_notices(notices: dict, due: int) -> None:
    """Escalation notices only, the same number for every escalated problem: mail waiting for the sender, and
    for the recipients the rules send to the inbox, inbox rows (delivered at once). The raw baseline writes
    back exactly the rows the engine wrote, whatever their number."""
    assert set(notices) <= {"escalation/email/pending", "escalation/inbox/sent"}, f"notices: {notices}"
    total = sum(notices.values())
    assert total > 0 and total % due == 0, f"notices: {notices} for {due} escalations"


# The same columns as service.persist.select_loaded(), by the same filter and order, written by hand.
RAW_SELECT = """
SELECT p.id, p.code, p.state, p.level, p.category, p.severity, p.county_level, p.light, p.created_at,
       p.deadline, p.deadline_provisional, p.level_started_at, p.deploy_due, p.feedback_due, p.acked_at,
       p.feedback_at, p.warned_at, p.overdue_reminded_at, p.deploy_reminded_at, p.feedback_reminded_at,
       p.stalled_at, p.overdue_escalations, p.next_check_at, p.suspended_at, p.suspended_from, p.resolved_at,
       p.version, p.responsible_unit_id, p.responsible_person_id, p.leader_id, p.reporter_id,
       pr.leader_id AS project_leader_id
FROM problem p JOIN project pr ON pr.id = p.project_id
WHERE p.next_check_at <= ?
ORDER BY p.next_check_at, p.id
LIMIT ?
"""

# The problem columns an automatic escalation writes (service.persist.persist: outcome.changes + updated_at).
UPDATED = (
    "state",
    "level",
    "light",
    "level_started_at",
    "deadline",
    "deadline_provisional",
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
    "updated_at",
)
EVENT_COLS = (
    "problem_id",
    "at",
    "actor",
    "action",
    "from_state",
    "to_state",
    "from_level",
    "to_level",
    "comment",
    "data",
)
NOTICE_COLS = (
    "dedup_key",
    "kind",
    "problem_id",
    "event_id",
    "level",
    "deadline",
    "recipient_role",
    "recipient_login",
    "recipient_email",
    "status",
    "attempts",
    "created_at",
    "next_attempt_at",
    "claimed_by",
    "claimed_until",
    "sent_at",
    "last_error",
    "payload",
)


def log(msg: str) -> None:
    print(msg, flush=True)


# -- 1. selection --------------------------------------------------------------------------------------


def measure_select(led: Ledger, rounds: int, reps: int) -> dict:
    import sqlalchemy as sa

    from models.db import make_engine, session
    from service.persist import loaded_from_row
    from service.sweep import due_query

    work = BENCH_DIR / "work-select.db"
    copy_db(led.path, work)
    engine = make_engine(f"sqlite:///{work}")
    captured: list = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if "next_check_at <=" in statement:
            captured.append((statement, parameters))

    def engine_select(conn_or_session):
        return [loaded_from_row(r) for r in conn_or_session.execute(due_query(NOW, LIMIT)).all()]

    raw = raw_connect(work)
    raw_params = (ts(NOW), LIMIT)

    def raw_select():
        return raw.execute(RAW_SELECT, raw_params).fetchall()

    # A second, typed baseline: the same raw rows with their text converted to the Python types the
    # workflow needs (aware datetimes, dates, bools) and unpacked into the same snapshots. Any engine that
    # hands the workflow typed values pays this; the ratio to it is what the ORM layer itself adds.
    from datetime import date, datetime

    from models.types import UTCDateTime
    from service.persist import select_loaded

    def _conv(col):
        if isinstance(col.type, UTCDateTime):
            return lambda v: datetime.fromisoformat(v).replace(tzinfo=UTC)
        if isinstance(col.type, sa.Date):
            return date.fromisoformat
        if isinstance(col.type, sa.Boolean):
            return bool
        return None

    from types import SimpleNamespace

    columns = list(select_loaded().selected_columns)
    convs = [_conv(c) for c in columns]
    names = [c.key for c in columns]

    def raw_typed_select():
        return [
            loaded_from_row(
                SimpleNamespace(
                    _mapping=dict(zip(names, [v if v is None or f is None else f(v) for f, v in zip(convs, r)]))
                )
            )
            for r in raw.execute(RAW_SELECT, raw_params).fetchall()
        ]

    t_sess, t_conn, t_raw, t_typed = [], [], [], []
    for _ in range(rounds):
        # As the sweep does: a Session in a transaction. Its own Connection (same DBAPI connection, same
        # transaction) shows what the ORM Session layer adds. The three are interleaved, so that load from
        # elsewhere on the machine hits them alike.
        with session(engine) as s, s.begin():
            c = s.connection()
            engine_select(s), engine_select(c), raw_select()  # warm-up
            for _ in range(reps):
                t, loaded = timed(lambda: engine_select(s))
                t_sess.append(t)
                t, _r = timed(lambda: engine_select(c))
                t_conn.append(t)
                t, rows = timed(raw_select)
                t_raw.append(t)
                t, _typed = timed(raw_typed_select)
                t_typed.append(t)

    # The engine and the raw query must select the same rows, and all due ones, through the index.
    assert [x.snap.id for x in loaded] == [r[0] for r in rows], "engine and raw selected different rows"
    assert sorted(x.snap.id for x in loaded) == led.due_ids, f"selected {len(loaded)} rows, expected {led.due}"
    statement, parameters = captured[-1]
    assert parameters[0] == raw_params[0], f"engine bound now as {parameters[0]!r}, raw as {raw_params[0]!r}"
    plan_engine = " / ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
    plan_raw = " / ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + RAW_SELECT, raw_params))
    raw.close()
    engine.dispose()
    remove_db(work)
    # Each engine timing is paired with the raw one taken right after it: the median of the pairwise ratios
    # is what load from elsewhere on the machine disturbs least.
    return dict(
        session=median(t_sess),
        connection=median(t_conn),
        raw=median(t_raw),
        session_min=min(t_sess),
        raw_min=min(t_raw),
        ratio=median([a / b for a, b in zip(t_sess, t_raw)]),
        ratio_conn=median([a / b for a, b in zip(t_conn, t_raw)]),
        rows=len(rows),
        raw_typed=median(t_typed),
        ratio_typed=median([a / b for a, b in zip(t_sess, t_typed)]),
        plan_engine=plan_engine,
        plan_raw=plan_raw,
    )


# -- 2. whole sweep ------------------------------------------------------------------------------------


def measure_sweep(led: Ledger, rules, reps: int) -> dict:
    from models.db import make_engine
    from service.sweep import run_sweep

    work = BENCH_DIR / "work-sweep.db"
    engine = make_engine(f"sqlite:///{work}")
    times: list[float] = []
    written = None
    for rep in range(reps + 1):
        engine.dispose()
        copy_db(led.path, work)
        with engine.connect() as c:  # open the pooled connection (pragmas) outside the measurement
            c.exec_driver_sql("SELECT 1")
        t, report = timed(lambda: run_sweep(engine, rules, NOW))
        times.append(t)
        engine.dispose()
        got = verify_escalated(work, led)
        assert report.selected == led.due and report.actions == Counter(escalate=led.due), (
            f"sweep report: selected {report.selected}, actions {dict(report.actions)}"
        )
        if written is None:
            written = got
    engine.dispose()

    # Raw baseline: the same rows, written by plain sqlite3 in one transaction on a fresh copy.
    base = BENCH_DIR / "work-raw.db"
    t_raw: list[float] = []
    for rep in range(reps + 1):
        copy_db(led.path, base)
        conn = raw_connect(base)
        t, _ = timed(lambda: raw_writes(conn, written))
        t_raw.append(t)
        conn.close()
        if rep == 0:
            assert read_written(base, led) == written, "raw baseline wrote something other than the engine"
    remove_db(work)
    remove_db(base)
    return dict(
        first=times[0],
        sweep=median(times[1:]),
        best=min(times[1:]),
        raw=median(t_raw[1:]),
        raw_best=min(t_raw[1:]),
        events=len(written["events"]),
        notices=len(written["notices"]),
    )


def verify_escalated(path: Path, led: Ledger) -> dict:
    """Check the sweep escalated exactly the due problems; return what it wrote."""
    import sqlite3

    conn = sqlite3.connect(path)
    changed = [r[0] for r in conn.execute("SELECT id FROM problem WHERE version <> 1 ORDER BY id")]
    assert changed == led.due_ids, f"{len(changed)} problems changed, expected the {led.due} due ones"
    levels = dict(conn.execute("SELECT level, count(*) FROM problem WHERE version = 2 GROUP BY level").fetchall())
    assert levels == {"county_leader": led.due}, f"levels after sweep: {levels}"
    actions = dict(conn.execute("SELECT action, count(*) FROM event GROUP BY action").fetchall())
    assert actions == {"escalate": led.due}, f"events by action: {actions}"
    notices = dict(conn.execute(NOTICES_BY_KIND).fetchall())
    check_notices(notices, led.due)
    conn.close()
    return read_written(path, led)


def read_written(path: Path, led: Ledger) -> dict:
    import sqlite3

    conn = sqlite3.connect(path)
    problems = conn.execute(
        f"SELECT id, version, {', '.join(UPDATED)} FROM problem WHERE version <> 1 ORDER BY id"
    ).fetchall()
    events = conn.execute(f"SELECT id, {', '.join(EVENT_COLS)} FROM event ORDER BY id").fetchall()
    order = {row[0]: k for k, row in enumerate(events)}  # event id -> position, to compare across files
    notices = [
        tuple(order[v] if c == "event_id" else v for c, v in zip(NOTICE_COLS, row))
        for row in conn.execute(f"SELECT {', '.join(NOTICE_COLS)} FROM notice ORDER BY id")
    ]
    conn.close()
    return dict(problems=problems, events=[e[1:] for e in events], notices=notices)


def raw_writes(conn, written: dict) -> None:
    update = (
        f"UPDATE problem SET {', '.join(f'{c} = ?' for c in UPDATED)}, version = version + 1 "
        "WHERE id = ? AND version = ?"
    )
    params = [(*row[2:], row[0], row[1] - 1) for row in written["problems"]]
    insert_event = f"INSERT INTO event ({', '.join(EVENT_COLS)}) VALUES ({', '.join('?' * len(EVENT_COLS))})"
    insert_notice = (
        f"INSERT INTO notice ({', '.join(NOTICE_COLS)}) VALUES ({', '.join('?' * len(NOTICE_COLS))}) "
        "ON CONFLICT (dedup_key) DO NOTHING"
    )
    event_col = NOTICE_COLS.index("event_id")
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.executemany(update, params)
    assert cur.rowcount == len(params)
    ids = [conn.execute(insert_event, e).lastrowid for e in written["events"]]
    notices = [(*n[:event_col], ids[n[event_col]], *n[event_col + 1 :]) for n in written["notices"]]
    conn.executemany(insert_notice, notices)
    conn.execute("COMMIT")


# -- PostgreSQL ----------------------------------------------------------------------------------------

RAW_SELECT_PG = RAW_SELECT.replace("?", "%s").rstrip() + "\nFOR UPDATE OF p SKIP LOCKED"
RAW_SELECT_PG_NOLOCK = RAW_SELECT.replace("?", "%s")
PG_WORK = "duban_bench_work"
PG_RAW = "duban_bench_raw"


def measure_select_pg(url: str, admin, template: str, led: Ledger, rounds: int, reps: int) -> dict:
    """The selection as the sweep runs it on PostgreSQL, each in its own transaction (begun outside the
    timing, rolled back after it), vs raw psycopg; with and without FOR UPDATE SKIP LOCKED."""
    import psycopg
    import sqlalchemy as sa

    from models.db import make_engine, session
    from service.persist import loaded_from_row
    from service.sweep import due_query

    pg_restore(admin, template, PG_WORK)
    engine = make_engine(pg_url(url, PG_WORK))
    captured: list = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if "next_check_at <=" in statement:
            captured.append((statement, parameters))

    raw = psycopg.connect(pg_dsn(url, PG_WORK), autocommit=True)
    params = (NOW, LIMIT)

    def engine_run(lock: bool):
        with session(engine) as s:
            s.begin()
            s.execute(sa.text("SELECT 1"))  # checkout, pre-ping and BEGIN outside the timing
            t, loaded = timed(lambda: [loaded_from_row(r) for r in s.execute(due_query(NOW, LIMIT, lock=lock)).all()])
            s.rollback()
        return t, loaded

    def raw_run(sql: str):
        raw.execute("BEGIN")
        t, rows = timed(lambda: raw.execute(sql, params).fetchall())
        raw.execute("ROLLBACK")
        return t, rows

    t_eng, t_raw, t_eng_nl, t_raw_nl = [], [], [], []
    engine_run(True), raw_run(RAW_SELECT_PG), engine_run(False), raw_run(RAW_SELECT_PG_NOLOCK)  # warm-up
    for _ in range(rounds * reps):
        t, loaded = engine_run(True)
        t_eng.append(t)
        t, rows = raw_run(RAW_SELECT_PG)
        t_raw.append(t)
        t, loaded_nl = engine_run(False)
        t_eng_nl.append(t)
        t, rows_nl = raw_run(RAW_SELECT_PG_NOLOCK)
        t_raw_nl.append(t)
    assert (
        [x.snap.id for x in loaded] == [r[0] for r in rows] == [x.snap.id for x in loaded_nl] == [r[0] for r in rows_nl]
    ), "engine and raw selected different rows"
    assert sorted(x.snap.id for x in loaded) == led.due_ids, f"selected {len(loaded)} rows, expected {led.due}"
    statement, parameters = next(c for c in reversed(captured) if "FOR UPDATE" in c[0])
    with engine.connect() as c:
        plan_engine = " / ".join(r[0].strip() for r in c.exec_driver_sql("EXPLAIN " + statement, parameters))
        c.rollback()
    raw.execute("BEGIN")
    plan_raw = " / ".join(r[0].strip() for r in raw.execute("EXPLAIN " + RAW_SELECT_PG, params))
    raw.execute("ROLLBACK")
    raw.close()
    engine.dispose()
    pg_drop(admin, PG_WORK)
    return dict(
        session=median(t_eng),
        session_min=min(t_eng),
        raw=median(t_raw),
        raw_min=min(t_raw),
        ratio=median([a / b for a, b in zip(t_eng, t_raw)]),
        nolock=median(t_eng_nl),
        raw_nolock=median(t_raw_nl),
        ratio_nolock=median([a / b for a, b in zip(t_eng_nl, t_raw_nl)]),
        plan_engine=plan_engine,
        plan_raw=plan_raw,
    )


def measure_sweep_pg(url: str, admin, template: str, led: Ledger, rules, reps: int) -> dict:
    import psycopg

    from models.db import make_engine
    from service.sweep import run_sweep

    engine = make_engine(pg_url(url, PG_WORK))
    times: list[float] = []
    written = None
    for rep in range(reps + 1):
        engine.dispose()
        pg_restore(admin, template, PG_WORK)
        with engine.connect() as c:  # open the pooled connection outside the measurement
            c.exec_driver_sql("SELECT 1")
        t, report = timed(lambda: run_sweep(engine, rules, NOW))
        times.append(t)
        engine.dispose()
        got = verify_escalated_pg(pg_dsn(url, PG_WORK), led)
        assert report.selected == led.due and report.actions == Counter(escalate=led.due), (
            f"sweep report: selected {report.selected}, actions {dict(report.actions)}"
        )
        if written is None:
            written = got
        else:
            assert got == written, "two sweeps of the same ledger wrote different rows"
    engine.dispose()
    pg_drop(admin, PG_WORK)

    t_raw: list[float] = []
    for rep in range(reps + 1):
        pg_restore(admin, template, PG_RAW)
        conn = psycopg.connect(pg_dsn(url, PG_RAW))
        conn.execute("SELECT 1")
        conn.rollback()
        t, _ = timed(lambda: raw_writes_pg(conn, written))
        t_raw.append(t)
        conn.close()
        if rep == 0:
            assert read_written_pg(pg_dsn(url, PG_RAW)) == written, "raw baseline wrote something other than the engine"
    pg_drop(admin, PG_RAW)
    return dict(
        first=times[0],
        sweep=median(times[1:]),
        best=min(times[1:]),
        raw=median(t_raw[1:]),
        raw_best=min(t_raw[1:]),
        events=len(written["events"]),
        notices=len(written["notices"]),
    )


def verify_escalated_pg(dsn: str, led: Ledger) -> dict:
    """Check the sweep escalated exactly the due problems; return what it wrote."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        changed = [r[0] for r in conn.execute("SELECT id FROM problem WHERE version <> 1 ORDER BY id")]
        assert changed == led.due_ids, f"{len(changed)} problems changed, expected the {led.due} due ones"
        levels = dict(conn.execute("SELECT level, count(*) FROM problem WHERE version = 2 GROUP BY level").fetchall())
        assert levels == {"county_leader": led.due}, f"levels after sweep: {levels}"
        actions = dict(conn.execute("SELECT action, count(*) FROM event GROUP BY action").fetchall())
        assert actions == {"escalate": led.due}, f"events by action: {actions}"
        notices = dict(conn.execute(NOTICES_BY_KIND).fetchall())
        check_notices(notices, led.due)
    return read_written_pg(dsn)


def read_written_pg(dsn: str) -> dict:
    import psycopg

    with psycopg.connect(dsn) as conn:
        problems = conn.execute(
            f"SELECT id, version, {', '.join(UPDATED)} FROM problem WHERE version <> 1 ORDER BY id"
        ).fetchall()
        events = conn.execute(f"SELECT id, {', '.join(EVENT_COLS)} FROM event ORDER BY id").fetchall()
        order = {row[0]: k for k, row in enumerate(events)}
        notices = [
            tuple(order[v] if c == "event_id" else v for c, v in zip(NOTICE_COLS, row))
            for row in conn.execute(f"SELECT {', '.join(NOTICE_COLS)} FROM notice ORDER BY id")
        ]
    return dict(problems=problems, events=[e[1:] for e in events], notices=notices)


def raw_writes_pg(conn, written: dict) -> None:
    """The same rows in one transaction with psycopg: executemany (pipelined) UPDATE on id and version,
    INSERT event … RETURNING id (executemany, returning), INSERT notice … ON CONFLICT DO NOTHING."""
    from psycopg.types.json import Json

    update = (
        f"UPDATE problem SET {', '.join(f'{c} = %s' for c in UPDATED)}, version = version + 1 "
        "WHERE id = %s AND version = %s"
    )
    params = [(*row[2:], row[0], row[1] - 1) for row in written["problems"]]
    json_ev = EVENT_COLS.index("data")
    insert_event = (
        f"INSERT INTO event ({', '.join(EVENT_COLS)}) VALUES ({', '.join(['%s'] * len(EVENT_COLS))}) RETURNING id"
    )
    events = [tuple(Json(v) if k == json_ev else v for k, v in enumerate(e)) for e in written["events"]]
    insert_notice = (
        f"INSERT INTO notice ({', '.join(NOTICE_COLS)}) VALUES ({', '.join(['%s'] * len(NOTICE_COLS))}) "
        "ON CONFLICT (dedup_key) DO NOTHING"
    )
    event_col, json_no = NOTICE_COLS.index("event_id"), NOTICE_COLS.index("payload")
    cur = conn.cursor()
    cur.executemany(update, params)
    assert cur.rowcount == len(params), cur.rowcount
    cur.executemany(insert_event, events, returning=True)
    ids = []
    while True:
        ids.append(cur.fetchone()[0])
        if not cur.nextset():
            break
    notices = [
        tuple(ids[v] if k == event_col else Json(v) if k == json_no else v for k, v in enumerate(n))
        for n in written["notices"]
    ]
    cur.executemany(insert_notice, notices)
    conn.commit()


# -- 3. start-up ---------------------------------------------------------------------------------------


def measure_cli(args: list[str], runs: int = 5) -> float:
    exe = ROOT / ".venv" / "bin" / "duban"
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([str(exe), *args], check=True, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - t0)
    return best


def measure_cli_sweep(led: Ledger, runs: int = 3) -> float:
    """``duban sweep`` as a new process on the ledger (informative: includes imports and rules loading)."""
    exe = ROOT / ".venv" / "bin" / "duban"
    work = BENCH_DIR / "work-cli.db"
    best = float("inf")
    for _ in range(runs):
        copy_db(led.path, work)
        local = NOW.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M:%S")
        t0 = time.perf_counter()
        subprocess.run(
            [str(exe), "--db", f"sqlite:///{work}", "--at", local, "sweep"], check=True, capture_output=True, cwd=ROOT
        )
        best = min(best, time.perf_counter() - t0)
        verify_escalated(work, led)
    remove_db(work)
    return best


# -- profiling -----------------------------------------------------------------------------------------


def profile(led: Ledger, rules) -> None:
    from models.db import make_engine, session
    from service.persist import loaded_from_row
    from service.sweep import due_query, run_sweep

    work = BENCH_DIR / "work-profile.db"
    copy_db(led.path, work)
    engine = make_engine(f"sqlite:///{work}")
    with session(engine) as s, s.begin():
        [loaded_from_row(r) for r in s.execute(due_query(NOW, LIMIT)).all()]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(20):
            [loaded_from_row(r) for r in s.execute(due_query(NOW, LIMIT)).all()]
        prof.disable()
    _print_profile(f"selection x20, {led.size:,} problems, {led.due:,} due", prof)
    engine.dispose()
    copy_db(led.path, work)
    run_sweep(engine, rules, NOW, dry_run=True)  # warm the engine's compiled cache; writes nothing
    prof = cProfile.Profile()
    prof.enable()
    run_sweep(engine, rules, NOW)
    prof.disable()
    engine.dispose()
    verify_escalated(work, led)
    remove_db(work)
    _print_profile(f"whole sweep, {led.size:,} problems, {led.due:,} due", prof)


def _print_profile(title: str, prof: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)
    log(f"\n== profile: {title} ==\n{out.getvalue()}")


# -- main ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="ledger sizes, comma-separated")
    ap.add_argument("--repeat", type=int, default=5, help="measured sweeps per ledger (after one first run)")
    ap.add_argument("--select-rounds", type=int, default=3, help="rounds (transactions) of selection timings")
    ap.add_argument("--select-reps", type=int, default=15, help="timed selections of each kind per round")
    ap.add_argument("--profile", action="store_true", help="cProfile a selection and a sweep on the largest ledger")
    ap.add_argument(
        "--pg",
        metavar="URL",
        help="also measure on this PostgreSQL server (SQLAlchemy URL; the bench "
        "creates and drops its own duban_bench_* databases)",
    )
    ap.add_argument("--pg-repeat", type=int, default=3, help="measured sweeps per ledger on PostgreSQL")
    ap.add_argument("--pg-keep", action="store_true", help="keep the pristine PostgreSQL ledgers for the next run")
    ap.add_argument("--no-sqlite", action="store_true", help="with --pg: measure PostgreSQL only")
    args = ap.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    do_sqlite = not (args.no_sqlite and args.pg)

    from workflow.rules import load_rules

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    raw_ts = check_timestamp_format(BENCH_DIR)
    log(f"now = {NOW.isoformat()} (stored as {ts(NOW)!r}; ORM format check: {raw_ts!r} ok)")
    rules = load_rules()
    fingerprint = schema_fingerprint()
    admin = pg_admin(args.pg) if args.pg else None
    if admin is not None:
        log(f"PostgreSQL: {pg_settings(admin)}")

    configs: list[tuple[int, int]] = []
    for n in sizes:
        for due in dict.fromkeys((max(1, n // 1000), 1000)):
            if due <= n:
                configs.append((n, due))

    results = []  # (ledger, SQLite selection, SQLite sweep, PostgreSQL selection, PostgreSQL sweep)
    pristine: list[str] = []
    try:
        for n, due in configs:
            log(f"ledger {n:,} problems, {due:,} due")
            led = ledger(n, due, fingerprint, log)
            sel = sw = psel = psw = None
            if do_sqlite:
                sel = measure_select(led, args.select_rounds, args.select_reps)
                log(
                    f"  select: engine {ms(sel['session'])} ms (Connection {ms(sel['connection'])} ms), "
                    f"raw {ms(sel['raw'])} ms, ratio {sel['ratio']:.2f}"
                )
                sw = measure_sweep(led, rules, args.repeat)
                log(
                    f"  sweep: {ms(sw['sweep'])} ms (first {ms(sw['first'])} ms), raw writes {ms(sw['raw'])} ms, "
                    f"ratio {sw['sweep'] / sw['raw']:.1f}; {sw['events']} events, {sw['notices']} notices"
                )
            if admin is not None:
                template = pg_ledger(args.pg, led, fingerprint, admin, log)
                pristine.append(template)
                psel = measure_select_pg(args.pg, admin, template, led, args.select_rounds, args.select_reps)
                log(
                    f"  PG select (FOR UPDATE SKIP LOCKED): engine {ms(psel['session'])} ms, raw {ms(psel['raw'])} ms, "
                    f"ratio {psel['ratio']:.2f}; without lock {ms(psel['nolock'])} / {ms(psel['raw_nolock'])} ms"
                )
                psw = measure_sweep_pg(args.pg, admin, template, led, rules, args.pg_repeat)
                log(
                    f"  PG sweep: {ms(psw['sweep'])} ms (first {ms(psw['first'])} ms), raw writes "
                    f"{ms(psw['raw'])} ms, ratio {psw['sweep'] / psw['raw']:.1f}"
                )
            results.append((led, sel, sw, psel, psw))
    finally:
        if admin is not None:
            pg_cleanup(admin, keep=pristine if args.pg_keep else ())
    help_s = measure_cli(["--help"])
    big = max((r for r in results if r[0].due == 1000), key=lambda r: r[0].size, default=None)
    cli_sweep = measure_cli_sweep(big[0]) if big and do_sqlite else None

    # -- report ------------------------------------------------------------------------------------
    load_end = os.getloadavg()
    sq = [(l, s, w) for l, s, w, _, _ in results if s is not None]
    pg = [(l, s, w) for l, _, _, s, w in results if s is not None]
    if sq:
        print()
        print(
            f"Selection: due_query(now, {LIMIT}) on a Session in a transaction, rows -> Loaded, vs raw sqlite3 "
            f"fetchall() of the same columns; median (and min) of {args.select_rounds}x{args.select_reps} "
            "interleaved runs; ratio = median of paired ratios"
        )
        print(
            table(
                [
                    "ledger",
                    "due",
                    "engine ms",
                    "engine min",
                    "raw sqlite3 ms",
                    "raw min",
                    "ratio",
                    "via Connection ms",
                    "ratio (Connection)",
                    "raw typed ms",
                    "ratio to typed",
                ],
                [
                    [
                        f"{l.size:,}",
                        f"{l.due:,}",
                        ms(s["session"]),
                        ms(s["session_min"]),
                        ms(s["raw"]),
                        ms(s["raw_min"]),
                        f"{s['ratio']:.2f}x",
                        ms(s["connection"]),
                        f"{s['ratio_conn']:.2f}x",
                        ms(s["raw_typed"]),
                        f"{s['ratio_typed']:.2f}x",
                    ]
                    for l, s, _ in sq
                ],
            )
        )
        print()
        print(
            f"Whole sweep: run_sweep(engine, rules, now), median (and min) of {args.repeat} on fresh copies after a "
            "first run on a new engine, vs raw sqlite3 writing the same rows in one transaction"
        )
        print(
            table(
                [
                    "ledger",
                    "due",
                    "sweep ms",
                    "sweep min",
                    "first run ms",
                    "raw writes ms",
                    "raw min",
                    "ratio",
                    "events",
                    "notices",
                ],
                [
                    [
                        f"{l.size:,}",
                        f"{l.due:,}",
                        ms(w["sweep"]),
                        ms(w["best"]),
                        ms(w["first"]),
                        ms(w["raw"]),
                        ms(w["raw_best"]),
                        f"{w['sweep'] / w['raw']:.1f}x",
                        f"{w['events']:,}",
                        f"{w['notices']:,}",
                    ]
                    for l, _, w in sq
                ],
            )
        )
    if pg:
        print()
        print(
            f"PostgreSQL selection: due_query(now, {LIMIT}, lock=True) (FOR UPDATE OF problem SKIP LOCKED) on a "
            "Session, rows -> Loaded, vs raw psycopg fetchall() of the same columns with the same lock; each in its "
            f"own transaction (begun before the timing, rolled back after); median (and min) of "
            f"{args.select_rounds * args.select_reps} interleaved runs"
        )
        print(
            table(
                [
                    "ledger",
                    "due",
                    "engine ms",
                    "engine min",
                    "raw psycopg ms",
                    "raw min",
                    "ratio",
                    "engine no lock ms",
                    "raw no lock ms",
                    "ratio (no lock)",
                ],
                [
                    [
                        f"{l.size:,}",
                        f"{l.due:,}",
                        ms(s["session"]),
                        ms(s["session_min"]),
                        ms(s["raw"]),
                        ms(s["raw_min"]),
                        f"{s['ratio']:.2f}x",
                        ms(s["nolock"]),
                        ms(s["raw_nolock"]),
                        f"{s['ratio_nolock']:.2f}x",
                    ]
                    for l, s, _ in pg
                ],
            )
        )
        print()
        print(
            f"PostgreSQL whole sweep: run_sweep(engine, rules, now), median (and min) of {args.pg_repeat} on fresh "
            "CREATE DATABASE … TEMPLATE copies after a first run on a new engine, vs raw psycopg writing the same "
            "rows in one transaction"
        )
        print(
            table(
                [
                    "ledger",
                    "due",
                    "sweep ms",
                    "sweep min",
                    "first run ms",
                    "raw writes ms",
                    "raw min",
                    "ratio",
                    "events",
                    "notices",
                ],
                [
                    [
                        f"{l.size:,}",
                        f"{l.due:,}",
                        ms(w["sweep"]),
                        ms(w["best"]),
                        ms(w["first"]),
                        ms(w["raw"]),
                        ms(w["raw_best"]),
                        f"{w['sweep'] / w['raw']:.1f}x",
                        f"{w['events']:,}",
                        f"{w['notices']:,}",
                    ]
                    for l, _, w in pg
                ],
            )
        )
    both = [r for r in results if r[1] is not None and r[3] is not None]
    if both:
        print()
        print("Side by side (medians, ms; ratio to the raw baseline on the same database)")
        print(
            table(
                [
                    "ledger",
                    "due",
                    "select SQLite",
                    "ratio",
                    "select PostgreSQL",
                    "ratio",
                    "sweep SQLite",
                    "ratio",
                    "sweep PostgreSQL",
                    "ratio",
                ],
                [
                    [
                        f"{l.size:,}",
                        f"{l.due:,}",
                        ms(s["session"]),
                        f"{s['ratio']:.1f}x",
                        ms(ps["session"]),
                        f"{ps['ratio']:.1f}x",
                        ms(w["sweep"]),
                        f"{w['sweep'] / w['raw']:.1f}x",
                        ms(pw["sweep"]),
                        f"{pw['sweep'] / pw['raw']:.1f}x",
                    ]
                    for l, s, w, ps, pw in both
                ],
            )
        )
    print()
    print(f"duban --help: {ms(help_s)} ms (best of 5)")
    if cli_sweep is not None:
        print(
            f"duban sweep as a new process, {big[0].size:,} problems / 1,000 due: {ms(cli_sweep)} ms (best of 3; "
            "informative, includes start-up)"
        )
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in load_start)} at start, "
        f"{' '.join(f'{x:.2f}' for x in load_end)} at end ({os.cpu_count()} CPUs)"
    )

    # Plans (the same for every ledger; print the largest).
    if sq:
        s = sq[-1][1]
        print(f"\nQuery plan, engine: {s['plan_engine']}\nQuery plan, raw:    {s['plan_raw']}")
    if pg:
        s = pg[-1][1]
        print(f"\nPostgreSQL plan, engine: {s['plan_engine']}\nPostgreSQL plan, raw:    {s['plan_raw']}")

    print("\nGoals")
    for label, rows in (("SQLite", sq), ("PostgreSQL", pg)):
        if not rows:
            continue
        for l, s, _ in rows:
            r = s["ratio"]
            print(
                f"  [{label}] select within {SELECT_GOAL_RATIO:.0f}x of raw, {l.size:>9,} / {l.due:>5,} due: "
                f"{r:5.2f}x  {'MET' if r <= SELECT_GOAL_RATIO else 'MISSED'}"
            )
        series = [(l, s) for l, s, _ in rows if l.due == 1000]
        if len(series) >= 2:
            # Judged on the best times: the least disturbed by other load on a shared machine (medians shown too).
            times = [s["session_min"] for _, s in series]
            spread = max(times) / min(times) - 1
            print(
                f"  [{label}] select flat (±{FLAT_TOLERANCE:.0%}) over {', '.join(f'{l.size:,}' for l, _ in series)} "
                f"(1,000 due): min {', '.join(ms(t) for t in times)} ms (median "
                f"{', '.join(ms(s['session']) for _, s in series)}), max/min - 1 = {spread:.0%}  "
                f"{'MET' if spread <= FLAT_TOLERANCE else 'MISSED'}"
            )
        for l, _, w in rows:
            if l.due == 1000:
                print(
                    f"  [{label}] sweep escalating 1,000 < {SWEEP_GOAL_S * 1000:.0f} ms, {l.size:>9,}: median "
                    f"{ms(w['sweep'])} ms, min {ms(w['best'])} ms  {'MET' if w['sweep'] < SWEEP_GOAL_S else 'MISSED'}"
                )
    print(
        f"  duban --help < {HELP_GOAL_S * 1000:.0f} ms: {ms(help_s)} ms  {'MET' if help_s < HELP_GOAL_S else 'MISSED'}"
    )

    if args.profile and big and do_sqlite:
        profile(big[0], rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
