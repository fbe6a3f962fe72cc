"""Ledger import/export benchmark: export 10k and 100k problems to .xlsx and .csv, import them into an empty
copy of the same county, and import them again (idempotent: every row skipped).

    .venv/bin/python bench/ledger_io.py                  # 10k and 100k
    .venv/bin/python bench/ledger_io.py --sizes 10000    # fewer

The ledgers are bench/common.py's cached synthetic ledgers (open problems at the unit level, assigned or
supervised, 20 units, 100 staff, 60 projects). Their codes (WT-B-…) are rewritten to the engine's
format (WT-2025-000001 …) on a copy, outside the measurement. The import target is another copy with
the problems, events, notices and counters deleted, so units, people and projects are identical.
Every measured import is checked: the number of problems, that each has a 登记 event first and an
import note last, and that no notice was recorded.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, NOW, copy_db, ledger, remove_db, schema_fingerprint, table  # noqa: E402


def _prepare(size: int, fingerprint: str) -> tuple[Path, Path]:
    src = ledger(size, max(size // 1000, 1), fingerprint).path
    work = BENCH_DIR / "ledger_io"
    work.mkdir(parents=True, exist_ok=True)
    source, empty = work / f"source-{size}.db", work / f"empty-{size}.db"
    copy_db(src, source)
    with sqlite3.connect(source) as conn:
        conn.execute("UPDATE problem SET code = 'WT-2025-' || printf('%06d', id)")
    conn.close()
    copy_db(source, empty)
    with sqlite3.connect(empty) as conn:
        for t in ("notice", "event", "problem", "code_counter"):
            conn.execute(f"DELETE FROM {t}")
    conn.close()
    return source, empty


def _check(path: Path, size: int) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        problems = conn.execute("SELECT count(*) FROM problem").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM event").fetchone()[0]
        notices = conn.execute("SELECT count(*) FROM notice").fetchone()[0]
        bad = conn.execute("""SELECT count(*) FROM problem p WHERE
            (SELECT action FROM event e WHERE e.problem_id = p.id ORDER BY e.id LIMIT 1) != 'log' OR
            (SELECT action FROM event e WHERE e.problem_id = p.id ORDER BY e.id DESC LIMIT 1) != 'note'""").fetchone()[
            0
        ]
    conn.close()
    assert problems == size and notices == 0 and bad == 0, (problems, notices, bad)
    return problems, events


def run(sizes: list[int]) -> list[list]:
    from models.db import make_engine
    from reports.importer import import_ledger
    from reports.ledger_export import Filters, export_ledger
    from workflow.rules import load_rules

    rules = load_rules()
    fingerprint = schema_fingerprint()
    rows = []
    for size in sizes:
        source, empty = _prepare(size, fingerprint)
        engine = make_engine(f"sqlite:///{source}")
        for suffix in (".xlsx", ".csv"):
            out = BENCH_DIR / "ledger_io" / f"ledger-{size}{suffix}"
            t0 = time.perf_counter()
            n = export_ledger(engine, rules, NOW, out, Filters())
            seconds = time.perf_counter() - t0
            assert n == size
            rows.append(
                [
                    f"{size:,}",
                    f"export {suffix}",
                    f"{seconds:.2f}",
                    f"{size / seconds:,.0f}",
                    f"{out.stat().st_size / 2**20:.1f} MiB",
                    "",
                ]
            )
            print(rows[-1], flush=True)
        engine.dispose()
        for suffix in (".xlsx", ".csv"):
            target = BENCH_DIR / "ledger_io" / f"target-{size}.db"
            copy_db(empty, target)
            engine = make_engine(f"sqlite:///{target}")
            path = BENCH_DIR / "ledger_io" / f"ledger-{size}{suffix}"
            t0 = time.perf_counter()
            report = import_ledger(engine, rules, NOW, "inspector0", path)
            seconds = time.perf_counter() - t0
            assert report.ok and report.created == size, report.issues[:3]
            problems, events = _check(target, size)
            rows.append(
                [f"{size:,}", f"import {suffix}", f"{seconds:.2f}", f"{size / seconds:,.0f}", "", f"{events:,} events"]
            )
            print(rows[-1], flush=True)
            if suffix == ".xlsx":
                t0 = time.perf_counter()
                again = import_ledger(engine, rules, NOW, "inspector0", path)
                seconds = time.perf_counter() - t0
                assert again.created == 0 and len(again.skipped) == size
                rows.append(
                    [
                        f"{size:,}",
                        "re-import .xlsx (all skipped)",
                        f"{seconds:.2f}",
                        f"{size / seconds:,.0f}",
                        "",
                        "0 changes",
                    ]
                )
                print(rows[-1], flush=True)
            engine.dispose()
            remove_db(target)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated ledger sizes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}; now = {NOW.isoformat()}")
    rows = run(sizes)
    print()
    print(table(["problems", "operation", "seconds", "rows/s", "file", "written"], rows))


if __name__ == "__main__":
    main()
