"""Transitions benchmark (not ``bench/transitions.py``: every script in ``bench/`` has ``bench/`` first on
``sys.path``, so a file of that name would shadow the ``transitions`` state-machine library that
``workflow.machine`` imports, and break every bench).

Persisted workflow actions per second through ``ProblemService.act`` (one transaction each: the problem row, its audit event, its outbox rows), on SQLite (file) and PostgreSQL, each
against raw SQL doing the same writes per transition with sqlite3 / psycopg, one transaction each.

    .venv/bin/python bench/transitions_bench.py                                   # SQLite only
    .venv/bin/python bench/transitions_bench.py --pg postgresql+psycopg://duban:duban@127.0.0.1/postgres
    .venv/bin/python bench/transitions_bench.py --transitions 1000 --repeat 2     # shorter

The ledger is the sweep bench's 10k ledger (``bench/common.py``), with the problem codes rewritten to the
engine's format (``WT-2025-000001``) and ``acked_at`` cleared (assigned, not yet acknowledged) on a
pristine copy. A pool of ``transitions / 5`` assigned or
supervised problems (not due, not in the inspectors' unit) each goes through the same real workflow, in
rounds over the pool: ``ack`` (responsible person), ``feedback``, ``note``, ``resolve`` (outbox: the 3
inspectors) and ``send_back`` (inspector; outbox: responsible person and unit head). That is one event per
transition and 1 outbox row per transition on average. The clock advances one second per action.

Each measured run starts from a fresh copy of the pristine ledger (file copy / CREATE DATABASE … TEMPLATE).
The first run on a new engine records, per transition, the columns ``persist`` wrote; the events and outbox
rows are read back. The raw baselines replay exactly these values on another fresh copy:

- *raw writes*: BEGIN; UPDATE problem SET … , version = version + 1 WHERE id = ? AND version = ?
  (rowcount checked); INSERT event (id returned); INSERT notice … ON CONFLICT (dedup_key) DO NOTHING;
  COMMIT.
- *raw read + writes*: the same, preceded by the SELECT of the problem by code (the same 32 columns and
  join as ``select_loaded``), the least any implementation must read to check the state and version.

After every run the ledger is checked: the pool problems, the events and the outbox rows must be identical
to the engine's. SQLite connections use the engine's pragmas (WAL, synchronous=NORMAL: a commit does not
fsync); PostgreSQL runs with the server's settings (printed; synchronous_commit=on: every commit waits for
the WAL flush).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402,F401
    BENCH_DIR,
    NOW,
    ROOT,
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

LEDGER_SIZE = 10_000
SEQUENCE = ("ack", "feedback", "note", "resolve", "send_back")
INSPECTOR = "inspector0"
CODE = "WT-2025-{:06d}"
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
    "channel",
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
RAW_SELECT = """
SELECT p.id, p.code, p.state, p.level, p.category, p.severity, p.county_level, p.light, p.created_at,
       p.deadline, p.deadline_provisional, p.level_started_at, p.deploy_due, p.feedback_due, p.acked_at,
       p.feedback_at, p.warned_at, p.overdue_reminded_at, p.deploy_reminded_at, p.feedback_reminded_at,
       p.stalled_at, p.overdue_escalations, p.next_check_at, p.suspended_at, p.suspended_from, p.resolved_at,
       p.version, p.responsible_unit_id, p.responsible_person_id, p.leader_id, p.reporter_id,
       pr.leader_id AS project_leader_id
FROM problem p JOIN project pr ON pr.id = p.project_id
WHERE p.code = ?
"""
PG_WORK = "duban_bench_tx_work"


def log(msg: str) -> None:
    print(msg, flush=True)


# -- the plan: which action, on which problem, by whom ----------------------------------------------------


def make_plan(path: Path, n: int) -> list[tuple[int, str, str, str, dict]]:
    """(problem id, code, actor login, action, params) for each of the n transitions."""
    import sqlite3

    pool_size = -(-n // len(SEQUENCE))
    conn = sqlite3.connect(path)
    pool = conn.execute(
        "SELECT p.id, u.login FROM problem p JOIN user_account u ON u.id = p.responsible_person_id "
        "WHERE p.responsible_unit_id <> (SELECT unit_id FROM user_account WHERE login = ?) "
        "AND p.next_check_at > ? AND p.acked_at IS NULL ORDER BY p.id LIMIT ?",
        (INSPECTOR, ts(NOW), pool_size),
    ).fetchall()
    conn.close()
    assert len(pool) == pool_size
    texts = dict(
        ack=("text", "已签收，研究部署"),
        feedback=("text", "已完成现场踏勘，正在协调"),
        note=("text", "补充说明：已约谈施工方"),
        resolve=("resolution", "已办结，请审核"),
        send_back=("reason", "材料不全，退回补充"),
    )
    plan = []
    for k in range(n):
        pid, login = pool[k % pool_size]
        action = SEQUENCE[k // pool_size]
        key, text = texts[action]
        plan.append(
            (pid, CODE.format(pid), INSPECTOR if action == "send_back" else login, action, {key: f"{text}（{k}）"})
        )
    return plan


class Clock:
    def __init__(self):
        self.k = 0

    def __call__(self) -> datetime:
        self.k += 1
        return NOW + timedelta(seconds=self.k)


# -- engine --------------------------------------------------------------------------------------------


def run_engine(engine, rules, plan, record: list | None = None) -> None:
    """All transitions through ProblemService.act. With ``record``: what persist wrote, per transition."""
    import service.problems as problems
    from service.persist import PROBLEM

    svc = problems.ProblemService(engine, rules, Clock())
    original = problems.persist
    if record is not None:

        def recording(session, items, actor, now, view, **kw):
            for loaded, outcomes in items:
                values = {}
                for o in outcomes:
                    values.update((k, v) for k, v in o.changes.items() if k in PROBLEM.c and k not in ("id", "version"))
                values["updated_at"] = now
                record.append((loaded.snap.id, loaded.version, values))
            return original(session, items, actor, now, view, **kw)

        problems.persist = recording
    try:
        for _pid, code, login, action, params in plan:
            svc.act(login, code, action, **params)
    finally:
        problems.persist = original


def count_statements(engine, rules, plan) -> float:
    """SQL statements one act() sends (cursor executions, averaged over the first transitions of the plan).
    Transaction control is not counted: psycopg sends BEGIN implicitly (never a cursor execution), while on
    SQLite the engine sends BEGIN IMMEDIATE through the cursor — counting it would compare unlike things."""
    import sqlalchemy as sa

    count = [0]

    def _count(_conn, _cursor, statement, *_a):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            count[0] += 1

    sa.event.listen(engine, "before_cursor_execute", _count)
    try:
        run_engine(engine, rules, plan)
    finally:
        sa.event.remove(engine, "before_cursor_execute", _count)
    return count[0] / len(plan)


# -- reading back and raw replay --------------------------------------------------------------------------


def read_result(conn, pool_ids: list[int], ph: str) -> dict:
    """The pool problems (all columns), events and outbox rows, comparable between two databases."""
    cur = conn.cursor()
    marks = ", ".join([ph] * len(pool_ids))
    cur.execute(f"SELECT * FROM problem WHERE id IN ({marks}) ORDER BY id", pool_ids)
    problems = cur.fetchall()
    cur.execute(f"SELECT id, {', '.join(EVENT_COLS)} FROM event ORDER BY id")
    events = cur.fetchall()
    order = {row[0]: k for k, row in enumerate(events)}
    cur.execute(f"SELECT {', '.join(NOTICE_COLS)} FROM notice ORDER BY id")
    notices = [tuple(order[v] if c == "event_id" else v for c, v in zip(NOTICE_COLS, row)) for row in cur.fetchall()]
    return dict(problems=[tuple(r) for r in problems], events=[tuple(e[1:]) for e in events], notices=notices)


def replay_items(record: list, result: dict) -> list[tuple]:
    """Per transition: (code, id, version, {column: value}, event row, [notice rows with the event's ordinal])."""
    by_event: dict[int, list] = {}
    ev_col = NOTICE_COLS.index("event_id")
    for n in result["notices"]:
        by_event.setdefault(n[ev_col], []).append(n)
    assert len(record) == len(result["events"])
    return [
        (CODE.format(pid), pid, version, values, event, by_event.get(k, []))
        for k, ((pid, version, values), event) in enumerate(zip(record, result["events"]))
    ]


def _sqlite_value(v):
    if isinstance(v, datetime):
        return ts(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


def raw_sqlite(conn, items: list[tuple], read: bool) -> None:
    ev_col = NOTICE_COLS.index("event_id")
    insert_event = f"INSERT INTO event ({', '.join(EVENT_COLS)}) VALUES ({', '.join('?' * len(EVENT_COLS))})"
    insert_notice = (
        f"INSERT INTO notice ({', '.join(NOTICE_COLS)}) VALUES ({', '.join('?' * len(NOTICE_COLS))}) "
        "ON CONFLICT (dedup_key) DO NOTHING"
    )
    event_ids: list[int] = []
    for code, pid, version, values, event, notices in items:
        conn.execute("BEGIN IMMEDIATE")
        if read:
            row = conn.execute(RAW_SELECT, (code,)).fetchone()
            assert row[26] == version
        cols = list(values)
        cur = conn.execute(
            f"UPDATE problem SET {', '.join(f'{c} = ?' for c in cols)}, version = version + 1 "
            "WHERE id = ? AND version = ?",
            [_sqlite_value(values[c]) for c in cols] + [pid, version],
        )
        assert cur.rowcount == 1
        event_ids.append(conn.execute(insert_event, event).lastrowid)
        if notices:
            conn.executemany(insert_notice, [(*n[:ev_col], event_ids[n[ev_col]], *n[ev_col + 1 :]) for n in notices])
        conn.execute("COMMIT")


def raw_pg(conn, items: list[tuple], read: bool) -> None:
    from psycopg.types.json import Json

    ev_col, pay_col, data_col = NOTICE_COLS.index("event_id"), NOTICE_COLS.index("payload"), EVENT_COLS.index("data")
    insert_event = (
        f"INSERT INTO event ({', '.join(EVENT_COLS)}) VALUES ({', '.join(['%s'] * len(EVENT_COLS))}) RETURNING id"
    )
    insert_notice = (
        f"INSERT INTO notice ({', '.join(NOTICE_COLS)}) VALUES ({', '.join(['%s'] * len(NOTICE_COLS))}) "
        "ON CONFLICT (dedup_key) DO NOTHING"
    )
    select = RAW_SELECT.replace("?", "%s")
    event_ids: list[int] = []
    cur = conn.cursor()
    for code, pid, version, values, event, notices in items:
        # psycopg (not autocommit) sends BEGIN before the first statement of each transaction.
        if read:
            row = cur.execute(select, (code,)).fetchone()
            assert row[26] == version
        cols = list(values)
        cur.execute(
            f"UPDATE problem SET {', '.join(f'{c} = %s' for c in cols)}, version = version + 1 "
            "WHERE id = %s AND version = %s",
            [values[c] for c in cols] + [pid, version],
        )
        assert cur.rowcount == 1
        event_ids.append(
            cur.execute(insert_event, [Json(v) if k == data_col else v for k, v in enumerate(event)]).fetchone()[0]
        )
        if notices:
            cur.executemany(
                insert_notice,
                [
                    tuple(event_ids[v] if k == ev_col else Json(v) if k == pay_col else v for k, v in enumerate(n))
                    for n in notices
                ],
            )
        conn.commit()


def check_counts(result: dict, n: int, pool_size: int) -> None:
    from collections import Counter

    actions = Counter(e[EVENT_COLS.index("action")] for e in result["events"])
    assert actions == {a: pool_size for a in SEQUENCE}, f"events by action: {dict(actions)}"
    kinds = Counter(nt[NOTICE_COLS.index("kind")] for nt in result["notices"])
    # review: the three inspectors; sent_back: the responsible person, the unit head and the 分管领导.
    assert kinds == {"review": 3 * pool_size, "sent_back": 3 * pool_size}, f"notices: {dict(kinds)}"
    # Mail waits for the sender; a person without an e-mail address gets the inbox row, delivered at once.
    status, channel = NOTICE_COLS.index("status"), NOTICE_COLS.index("channel")
    assert all((nt[channel], nt[status]) in {("email", "pending"), ("inbox", "sent")} for nt in result["notices"])


# -- per database --------------------------------------------------------------------------------------


def bench_sqlite(pristine: Path, rules, plan, pool_ids, reps: int) -> dict:
    import sqlite3

    from models.db import make_engine

    n = len(plan)
    work, raw_path = BENCH_DIR / "tx-work.db", BENCH_DIR / "tx-raw.db"
    engine = make_engine(f"sqlite:///{work}")
    t_eng, record, result, stmts = [], [], None, None
    for rep in range(reps + 1):
        engine.dispose()
        copy_db(pristine, work)
        with engine.connect() as c:
            c.exec_driver_sql("SELECT 1")
        t, _ = timed(lambda: run_engine(engine, rules, plan, record if rep == 0 else None))
        t_eng.append(t)
        engine.dispose()
        conn = sqlite3.connect(work)
        got = read_result(conn, pool_ids, "?")
        conn.close()
        if result is None:
            result = got
            check_counts(result, n, len(pool_ids))
        else:
            assert got == result, "two engine runs wrote different rows"
    copy_db(pristine, work)
    stmts = count_statements(engine, rules, plan[:50])
    engine.dispose()
    items = replay_items(record, result)
    raws = {}
    for read in (False, True):
        ts_ = []
        for rep in range(reps + 1):
            copy_db(pristine, raw_path)
            conn = raw_connect(raw_path)
            t, _ = timed(lambda: raw_sqlite(conn, items, read))
            ts_.append(t)
            conn.close()
            if rep == 0:
                conn = sqlite3.connect(raw_path)
                assert read_result(conn, pool_ids, "?") == result, "raw sqlite3 wrote something other than the engine"
                conn.close()
        raws[read] = ts_[1:]
    remove_db(work)
    remove_db(raw_path)
    return summarize(n, t_eng, raws, stmts, result)


def bench_pg(url: str, admin, template: str, rules, plan, pool_ids, reps: int) -> dict:
    import psycopg

    from models.db import make_engine

    n = len(plan)
    engine = make_engine(pg_url(url, PG_WORK))
    t_eng, record, result = [], [], None
    for rep in range(reps + 1):
        engine.dispose()
        pg_restore(admin, template, PG_WORK)
        with engine.connect() as c:
            c.exec_driver_sql("SELECT 1")
        t, _ = timed(lambda: run_engine(engine, rules, plan, record if rep == 0 else None))
        t_eng.append(t)
        engine.dispose()
        with psycopg.connect(pg_dsn(url, PG_WORK)) as conn:
            got = read_result(conn, pool_ids, "%s")
        if result is None:
            result = got
            check_counts(result, n, len(pool_ids))
        else:
            assert got == result, "two engine runs wrote different rows"
    pg_restore(admin, template, PG_WORK)
    stmts = count_statements(engine, rules, plan[:50])
    engine.dispose()
    items = replay_items(record, result)
    raws = {}
    for read in (False, True):
        ts_ = []
        for rep in range(reps + 1):
            pg_restore(admin, template, PG_WORK)
            conn = psycopg.connect(pg_dsn(url, PG_WORK))
            conn.execute("SELECT 1")
            conn.rollback()
            t, _ = timed(lambda: raw_pg(conn, items, read))
            ts_.append(t)
            conn.close()
            if rep == 0:
                with psycopg.connect(pg_dsn(url, PG_WORK)) as conn:
                    assert read_result(conn, pool_ids, "%s") == result, (
                        "raw psycopg wrote something other than the engine"
                    )
        raws[read] = ts_[1:]
    pg_drop(admin, PG_WORK)
    return summarize(n, t_eng, raws, stmts, result)


def summarize(n: int, t_eng: list[float], raws: dict, stmts: float, result: dict) -> dict:
    eng = t_eng[1:]
    return dict(
        first=n / t_eng[0],
        engine=n / median(eng),
        engine_best=n / min(eng),
        raw=n / median(raws[False]),
        raw_best=n / min(raws[False]),
        raw_read=n / median(raws[True]),
        ratio=median(eng) / median(raws[False]),
        ratio_read=median(eng) / median(raws[True]),
        ms_per=median(eng) / n,
        raw_ms_per=median(raws[False]) / n,
        stmts=stmts,
        events=len(result["events"]),
        notices=len(result["notices"]),
    )


# -- pristine ledgers ----------------------------------------------------------------------------------


def sqlite_pristine(fingerprint: str) -> Path:
    import sqlite3

    led = ledger(LEDGER_SIZE, LEDGER_SIZE // 1000, fingerprint, log)
    path = BENCH_DIR / "tx-pristine.db"
    copy_db(led.path, path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE problem SET code = printf('WT-2025-%06d', id), acked_at = NULL")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def pg_pristine(url: str, admin, fingerprint: str) -> tuple[str, str]:
    import psycopg

    led = ledger(LEDGER_SIZE, LEDGER_SIZE // 1000, fingerprint, log)
    base = pg_ledger(url, led, fingerprint, admin, log)
    name = "duban_bench_tx_pristine"
    pg_drop(admin, name)
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base}" STRATEGY FILE_COPY')
    with psycopg.connect(pg_dsn(url, name), autocommit=True) as conn:
        conn.execute("UPDATE problem SET code = 'WT-2025-' || lpad(id::text, 6, '0'), acked_at = NULL")
        conn.execute("VACUUM (FULL, ANALYZE)")
    return base, name


# -- main ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transitions", type=int, default=2000, help="transitions per run (a multiple of 5)")
    ap.add_argument("--repeat", type=int, default=3, help="measured runs of each kind (after one first run)")
    ap.add_argument(
        "--pg",
        metavar="URL",
        help="also measure on this PostgreSQL server (SQLAlchemy URL; the bench "
        "creates and drops its own duban_bench_* databases)",
    )
    ap.add_argument("--pg-keep", action="store_true", help="keep the pristine PostgreSQL ledger of the sweep bench")
    ap.add_argument("--no-sqlite", action="store_true", help="with --pg: measure PostgreSQL only")
    args = ap.parse_args(argv)
    n = args.transitions

    from workflow.rules import load_rules

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    # The cycle closes problems without files: the [evidence] rule (files required to close land and
    # demolition problems) is off here, as in the tests of everything but evidence; the raw baseline has none.
    shipped = load_rules()
    rules = dataclasses.replace(shipped, evidence=dataclasses.replace(shipped.evidence, resolve_requires=frozenset()))
    fingerprint = schema_fingerprint()
    pristine = sqlite_pristine(fingerprint)
    plan = make_plan(pristine, n)
    pool_ids = sorted({p[0] for p in plan})
    log(
        f"{n:,} transitions on a pool of {len(pool_ids):,} problems of a {LEDGER_SIZE:,}-problem ledger: "
        f"{' → '.join(SEQUENCE)}"
    )

    results = {}
    if not (args.no_sqlite and args.pg):
        log("SQLite ...")
        results["SQLite"] = bench_sqlite(pristine, rules, plan, pool_ids, args.repeat)
    remove_db(pristine)
    if args.pg:
        admin = pg_admin(args.pg)
        log(f"PostgreSQL: {pg_settings(admin)}")
        keep: list[str] = []
        try:
            base, template = pg_pristine(args.pg, admin, fingerprint)
            keep = [base] if args.pg_keep else []
            log("PostgreSQL ...")
            results["PostgreSQL"] = bench_pg(args.pg, admin, template, rules, plan, pool_ids, args.repeat)
        finally:
            pg_cleanup(admin, keep=keep)
            admin.close()
    load_end = os.getloadavg()

    print()
    print(
        f"Persisted transitions per second: {n:,} × ProblemService.act (one transaction each), median (and best) "
        f"of {args.repeat} runs on fresh copies after a first run on a new engine; raw = the same writes per "
        "transition, one transaction each; ratio = engine time / raw time"
    )
    names = list(results)
    rows = [
        ("engine transitions/s (median)", lambda r: f"{r['engine']:,.0f}"),
        ("engine transitions/s (best)", lambda r: f"{r['engine_best']:,.0f}"),
        ("engine, first run on a new engine", lambda r: f"{r['first']:,.0f}"),
        ("engine ms per transition", lambda r: f"{r['ms_per'] * 1000:.2f}"),
        ("SQL statements per act()", lambda r: f"{r['stmts']:.1f}"),
        ("raw writes transitions/s (median)", lambda r: f"{r['raw']:,.0f}"),
        ("raw writes transitions/s (best)", lambda r: f"{r['raw_best']:,.0f}"),
        ("raw ms per transition", lambda r: f"{r['raw_ms_per'] * 1000:.2f}"),
        ("ratio to raw writes", lambda r: f"{r['ratio']:.1f}x"),
        ("raw read + writes transitions/s", lambda r: f"{r['raw_read']:,.0f}"),
        ("ratio to raw read + writes", lambda r: f"{r['ratio_read']:.1f}x"),
        ("events / outbox rows per run", lambda r: f"{r['events']:,} / {r['notices']:,}"),
    ]
    print(table(["", *names], [[label, *(f(results[k]) for k in names)] for label, f in rows]))
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in load_start)} at start, "
        f"{' '.join(f'{x:.2f}' for x in load_end)} at end ({os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
