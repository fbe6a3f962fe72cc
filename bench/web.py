"""Web benchmark: the ledger page and the API list endpoint on a 100k-problem ledger, served by one
uvicorn worker (``web.app.create_app``, the scheduler off), under a local load generator.

    .venv/bin/python bench/web.py                      # 100k problems, 400 requests per case, 1 and 4 clients
    .venv/bin/python bench/web.py --size 10000 --requests 200 --clients 1,2

The ledger file is bench/common.py's (cached under var/bench/), copied so the bench can add a password and an
API token. The server runs as a subprocess on 127.0.0.1 (a free port) with the clock fixed at the bench's
``NOW``; the load generator sends a bounded number of requests over keep-alive connections, only to that
address, one thread per client, and stops by itself. Each case is warmed up first (20 requests).
Latency is measured client-side, per request, from send to the last byte of the body.

Goal (issue 5): p95 < 50 ms on one worker for the ledger page and the API list endpoint.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

# bench/ holds modules named like packages (bench/transitions.py): keep it off sys.path and load common.py
# by its path, so ``import transitions`` still finds the library.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
_spec = importlib.util.spec_from_file_location("bench_common", _HERE / "common.py")
common = importlib.util.module_from_spec(_spec)
sys.modules["bench_common"] = common
_spec.loader.exec_module(common)
BENCH_DIR, NOW, ROOT, copy_db, ledger, schema_fingerprint, table = (
    common.BENCH_DIR,
    common.NOW,
    common.ROOT,
    common.copy_db,
    common.ledger,
    common.schema_fingerprint,
    common.table,
)

GOAL_P95_MS = 50.0
PASSWORD = "bench-password-1"
WARMUP = 20

CASES = [
    # (name, path, auth, in the goal)
    ("台账页 /ledger（默认：第 1 页，编号倒序）", "/ledger", "cookie", True),
    ("API /api/v1/problems（默认）", "/api/v1/problems", "token", True),
    ("台账页 按状态+单位筛选", "/ledger?state=supervised&unit=bench-u03", "cookie", False),
    ("台账页 第 500 页", "/ledger?page=500", "cookie", False),
    ("台账页 按办结时限排序", "/ledger?sort=deadline", "cookie", False),
    ("API 全文搜索 q=基准问题4242", "/api/v1/problems?q=%E5%9F%BA%E5%87%86%E9%97%AE%E9%A2%984242", "token", False),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(size: int) -> tuple[Path, str]:
    """A copy of the cached ledger with a password for inspector0 and an API token for it."""
    from models.db import make_engine, session
    from models.migrate import upgrade
    from service import directory, passwords, tokens

    led = ledger(size, max(1, size // 1000), schema_fingerprint())
    path = BENCH_DIR / f"web-{size}.db"
    copy_db(led.path, path)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session(engine) as s, s.begin():
        user = passwords.set_password(s, "inspector0", PASSWORD)
        token = tokens.create(s, directory.view(s).user("inspector0").id, "bench", NOW)
        assert user.id
    engine.dispose()
    return path, token


def serve(path: str, port: int) -> None:
    """The server process: one uvicorn worker, scheduler off, clock fixed at NOW."""
    import logging

    import uvicorn

    from models.db import make_engine
    from web.app import create_app
    from web.settings import WebSettings
    from workflow.rules import load_rules

    logging.disable(logging.INFO)
    app = create_app(
        make_engine(f"sqlite:///{path}"),
        load_rules(),
        lambda: NOW,
        WebSettings(secret_key="bench-" * 10, login_max_failures=1000),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=1)


def _login(base: str):
    import re

    import httpx

    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"login": "inspector0", "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303, r.text[:300]
    return client


def run_case(base: str, path: str, auth: str, token: str, clients: int, requests: int) -> dict:
    import httpx

    per_client = max(1, requests // clients)
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def worker():
        client = (
            _login(base)
            if auth == "cookie"
            else httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
        )
        try:
            for _ in range(WARMUP // clients + 1):
                client.get(path)
            mine = []
            for _ in range(per_client):
                t0 = time.perf_counter()
                r = client.get(path)
                _ = r.content
                mine.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                    return
            with lock:
                latencies.extend(mine)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{path}: {errors[0]}")
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p * (len(latencies) - 1))))] * 1000

    return {
        "n": len(latencies),
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000,
        "mean": statistics.fmean(latencies) * 1000,
        "rps": len(latencies) / wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=400, help="measured requests per case and client count")
    ap.add_argument("--clients", default="1,4", help="concurrent clients, comma-separated")
    ap.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0

    print(f"web bench: {args.size:,} problems; load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    path, token = prepare(args.size)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(path), str(port)], env=env, cwd=ROOT)
    try:
        import httpx

        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        rows, failed = [], []
        for clients in [int(c) for c in args.clients.split(",")]:
            for name, url, auth, goal in CASES:
                r = run_case(base, url, auth, token, clients, args.requests)
                ok = r["p95"] < GOAL_P95_MS
                if goal and not ok:
                    failed.append(f"{name} ×{clients}")
                rows.append(
                    [
                        name,
                        clients,
                        r["n"],
                        f"{r['p50']:.1f}",
                        f"{r['p95']:.1f}",
                        f"{r['p99']:.1f}",
                        f"{r['max']:.1f}",
                        f"{r['rps']:.0f}",
                        ("✓" if ok else "✗") if goal else "—",
                    ]
                )
                print(
                    f"  {name} ×{clients}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, {r['rps']:.0f} req/s",
                    flush=True,
                )
        print()
        print(
            table(
                [
                    "case",
                    "clients",
                    "requests",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "max ms",
                    "req/s",
                    f"p95<{GOAL_P95_MS:.0f}ms",
                ],
                rows,
            )
        )
        print(f"load after: {os.getloadavg()[0]:.2f}")
        if failed:
            print("goal missed: " + "; ".join(failed))
            return 1
        return 0
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    sys.exit(main())
