"""Web benchmark: the ledger page, the API list, search, a deep page and the dashboard on a synthetic ledger
(100k or 1M problems), on SQLite (one uvicorn worker) and on PostgreSQL (``--pg-workers``, default two,
through ``web.workers`` as ``duban serve --workers`` runs them), under a local load generator.

    .venv/bin/python bench/web.py                                  # 100k, SQLite and PostgreSQL, 1 and 4 clients
    .venv/bin/python bench/web.py --sizes 100000,1000000 --databases sqlite,postgresql
    .venv/bin/python bench/web.py --sizes 10000 --databases sqlite --requests 100 --clients 1

PostgreSQL comes from ``DUBAN_BENCH_PG`` or ``DUBAN_TEST_PG`` (a SQLAlchemy URL whose server the bench may
create ``duban_bench_*`` databases on). Ledgers are bench/common.py's (cached under var/bench/; PostgreSQL
copies made from them); each run works on a fresh copy with a password and an API token added and, on
SQLite, the planner statistics the scheduler's housekeeping would have taken (``refresh_statistics``), on
PostgreSQL the search's common pieces it would have measured (``search_grams.refresh``).

The server runs as a subprocess on 127.0.0.1 (a free port) with the clock fixed at the bench's ``NOW`` and
the scheduler off; the load generator sends a bounded number of requests over keep-alive connections, only
to that address, one process per client (the standard library's http.client: the lightest client at
hand, as the clients share the CPUs with the server), and stops by itself. Each case is warmed up first. Latency is
measured client-side, per request, from send to the last byte of the body. The machine's load average is
printed beside every figure: on a shared machine it moves the figures more than anything else.

Goals (issue 15), printed as ratios at the end of each run:
- search p95 ≤ 2 × list p95 (API, one client); page 500 p95 ≤ 1.5 × page 1 p95 (ledger page, one client);
- with 4 clients: list, filtered list and search p95 < 50 ms;
- dashboard p95 < 50 ms (at 1M). The dashboard's figures are kept between views until a write
  (``service.write_stamp``), so it is measured twice: views one after another, and each view preceded by a
  write of the same client (a note through the API, not timed), which makes every view compute them again.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

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
SECRET = "bench-" * 10
WARMUP = 20
SEARCH = "基准问题4242"
DEEP_PAGE = 500

# (key, name, path, auth). "{deep}" is replaced by the cursor of page DEEP_PAGE, found before measuring.
CASES = [
    ("page1", "台账页 /ledger（第 1 页，编号倒序）", "/ledger", "cookie"),
    ("list", "API /api/v1/problems（默认）", "/api/v1/problems", "token"),
    ("filtered", "台账页 按状态+单位筛选", "/ledger?state=supervised&unit=bench-u03", "cookie"),
    ("deep", f"台账页 第 {DEEP_PAGE} 页（游标）", "/ledger?cursor={deep}", "cookie"),
    ("search", f"API 全文搜索 q={SEARCH}", f"/api/v1/problems?q={quote(SEARCH)}", "token"),
    ("search_page", f"台账页 搜索 q={SEARCH}", f"/ledger?q={quote(SEARCH)}", "cookie"),
    ("dashboard", "工作台 /dashboard", "/dashboard", "cookie"),
    # Each view preceded by a write of the same client (a 备注 through the API, not timed): the figures kept
    # between views (service.write_stamp) are computed again every time, as in a busy office.
    ("dashboard_w", "工作台 /dashboard（每次之前写入一条备注）", "/dashboard", "cookie+write"),
]
FOUR_CLIENT_GOALS = ("list", "page1", "filtered", "search")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


CAMPAIGN = ("基准专项行动", date(2025, 5, 15), date(2025, 6, 30))  # under way at NOW


def _credentials(url: str) -> str:
    """Give inspector0 a password and an API token; a campaign under way, so the dashboard's progress card
    counts real members (the generator logs problems evenly over 60 days; the campaign takes the last 2.4 of
    them, 4% of the ledger); planner statistics and the search's common pieces as the scheduler would."""
    from models.db import make_engine, session
    from models.migrate import upgrade
    from service import campaigns, directory, passwords, search_grams, tokens
    from service.maintenance import refresh_statistics
    from workflow.rules import load_rules

    engine = make_engine(url)
    upgrade(engine)
    with session(engine) as s, s.begin():
        passwords.set_password(s, "inspector0", PASSWORD)
        token = tokens.create(s, directory.view(s).user("inspector0").id, "bench", NOW)
    rules = load_rules()
    name, start, end = CAMPAIGN
    campaigns.add(engine, rules, "inspector0", name, start, end, 90, NOW)
    members = campaigns.show(engine, rules, "inspector0", name, NOW.date())["total"]
    print(f"  campaign {name} {start}–{end}: {members:,} problems", flush=True)
    refresh_statistics(engine)
    search_grams.refresh(engine)
    engine.dispose()
    return token


def prepare_sqlite(size: int) -> tuple[str, str]:
    led = ledger(size, max(1, size // 1000), schema_fingerprint())
    path = BENCH_DIR / f"web-{size}.db"
    copy_db(led.path, path)
    url = f"sqlite:///{path}"
    return url, _credentials(url)


def prepare_pg(size: int, pg: str) -> tuple[str, str]:
    fingerprint = schema_fingerprint()
    led = ledger(size, max(1, size // 1000), fingerprint)
    admin = common.pg_admin(pg)
    try:
        pristine = common.pg_ledger(pg, led, fingerprint, admin)
        work = f"{common.PG_PREFIX}web_{size}"
        common.pg_restore(admin, pristine, work)
    finally:
        admin.close()
    url = common.pg_url(pg, work)
    return url, _credentials(url)


def serve(url: str, port: int, workers: int) -> None:
    """The server process: scheduler off, clock fixed at NOW; one worker in-process, or N through
    ``web.workers`` (what ``duban serve --workers N`` runs)."""
    import logging

    import uvicorn

    logging.disable(logging.INFO)
    if workers > 1:
        os.environ.update(
            DUBAN_DB=url,
            DUBAN_WEB_NOW=NOW.isoformat(),
            DUBAN_SECRET_KEY=SECRET,
            DUBAN_SCHEDULER_LOCK="",
            DUBAN_LOGIN_MAX_FAILURES="1000",
        )
        uvicorn.run(
            "web.workers:create",
            factory=True,
            workers=workers,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
        return
    from models.db import make_engine
    from web.app import create_app
    from web.settings import WebSettings
    from workflow.rules import load_rules

    app = create_app(
        make_engine(url), load_rules(), lambda: NOW, WebSettings(secret_key=SECRET, login_max_failures=1000)
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=1)


def _api(base: str, token: str):
    import httpx

    return httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})


def deep_cursor(base: str, token: str, page: int) -> str:
    """The cursor of page ``page`` (50 per page, default sort), walked page by page through the API."""
    with _api(base, token) as c:
        body, cursor = c.get("/api/v1/problems").json(), ""
        for _ in range(page - 1):
            cursor = body["next_cursor"]
            body = c.get("/api/v1/problems", params={"cursor": cursor}).json()
        assert body["page"] == page, body["page"]
        return cursor


class _Connection:
    """The load generator's client: one keep-alive HTTP/1.1 connection with the cookies its site set. The
    standard library's http.client costs a third of httpx's CPU per request (0.26 against 0.87 ms, measured
    here), and the clients share the machine's CPUs with the server they measure."""

    def __init__(self, base: str, headers: dict[str, str] | None = None):
        url = urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, kind: str = "") -> tuple[int, bytes]:
        headers = {**self.headers, **({"Content-Type": kind} if kind else {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the server closed an idle keep-alive connection: connect again, once
                if attempt == 2:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post_json(self, path: str, value: object) -> tuple[int, bytes]:
        return self.request("POST", path, json.dumps(value).encode(), "application/json")

    def close(self) -> None:
        self.conn.close()


def _light_client(base: str, auth: str, token: str) -> _Connection:
    """A client of inspector0: logged in through the login form (cookie) or carrying the API token."""
    if auth == "token":
        return _Connection(base, {"Authorization": f"Bearer {token}"})
    client = _Connection(base)
    _, page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)  # type: ignore[union-attr]
    form = urlencode({"login": "inspector0", "password": PASSWORD, "csrf_token": csrf}).encode()
    status, body = client.request("POST", "/login", form, "application/x-www-form-urlencoded")
    if status != 303:
        raise RuntimeError(f"login: {status} {body[:300]!r}")
    return client


def _client(base: str, path: str, auth: str, token: str, warmup: int, requests: int, start) -> list[float] | str:
    """One client (its own process, as each person has their own browser): log in, warm up, wait for the
    others, then send ``requests`` requests one after another; the latencies, or the first error."""
    client = _light_client(base, "token" if auth == "token" else "cookie", token)
    writer = _light_client(base, "token", token) if auth == "cookie+write" else None
    code = ""

    def write() -> None:
        nonlocal code
        if writer is None:
            return
        if not code:  # a problem of its own to write notes on (the generator's codes are not the API's format)
            project = json.loads(writer.get("/api/v1/problems")[1])["items"][0]["project"]
            status, body = writer.post_json(
                "/api/v1/problems", {"project": project, "category": "land", "title": "基准写入"}
            )
            if status != 201:
                raise RuntimeError(f"{status} {body[:200]!r}")
            code = json.loads(body)["code"]
        status, body = writer.post_json(f"/api/v1/problems/{code}/transitions/note", {"text": "基准备注"})
        if status != 200:
            raise RuntimeError(f"{status} {body[:200]!r}")

    try:
        for _ in range(warmup):
            write()
            client.get(path)
        start.wait()
        mine = []
        for _ in range(requests):
            write()
            t0 = time.perf_counter()
            status, body = client.get(path)
            mine.append(time.perf_counter() - t0)
            if status != 200:
                return f"{status} {body[:200]!r}"
        return mine
    except Exception as exc:  # noqa: BLE001 — reported by the parent, which would otherwise wait for a result
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
        if writer is not None:
            writer.close()


def run_case(base: str, path: str, auth: str, token: str, clients: int, requests: int) -> dict:
    """``clients`` client processes at once, ``requests`` measured requests in all. Processes rather than
    threads: threads of one Python process would queue for its interpreter lock and add that wait to the
    latencies measured."""
    per_client = max(1, requests // clients)
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(clients + 1), ctx.Queue()
    args = (base, path, auth, token, WARMUP // clients + 1, per_client, start)
    procs = [ctx.Process(target=lambda: out.put(_client(*args))) for _ in range(clients)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    results = [out.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    errors = [r for r in results if isinstance(r, str)]
    if errors:
        raise SystemExit(f"{path}: {errors[0]}")
    latencies = [x for r in results for x in r]
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p * (len(latencies) - 1))))] * 1000

    return {
        "n": len(latencies),
        "p50": pct(0.50),
        "p95": pct(0.95),
        "max": latencies[-1] * 1000,
        "mean": statistics.fmean(latencies) * 1000,
        "rps": len(latencies) / wall,
    }


def _wait_up(base: str, server: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("server did not start")
        time.sleep(0.2)


def bench_one(db: str, size: int, args, pg: str | None) -> tuple[list, list]:
    """Every case on one database and size; returns the table rows and the goal lines."""
    workers = args.pg_workers if db == "postgresql" else 1
    print(f"\n== {db}, {size:,} problems, {workers} worker(s); load {_load()} ==", flush=True)
    url, token = prepare_pg(size, pg) if db == "postgresql" else prepare_sqlite(size)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, __file__, "--serve", url, str(port), str(workers)]
    server = subprocess.Popen(cmd, env=env, cwd=ROOT)
    rows, p95 = [], {}
    try:
        _wait_up(base, server)
        deep = deep_cursor(base, token, min(DEEP_PAGE, size // 100))  # small ledgers: half-way down
        for clients in [int(c) for c in args.clients.split(",")]:
            for key, name, path, auth in CASES:
                load = _load()
                r = run_case(base, path.replace("{deep}", deep), auth, token, clients, args.requests)
                p95[(key, clients)] = r["p95"]
                goal = (clients == 4 and key in FOUR_CLIENT_GOALS) or (
                    key.startswith("dashboard") and size >= 1_000_000
                )
                ok = r["p95"] < GOAL_P95_MS
                rows.append(
                    [
                        db,
                        f"{size:,}",
                        name,
                        clients,
                        r["n"],
                        f"{r['p50']:.1f}",
                        f"{r['p95']:.1f}",
                        f"{r['max']:.1f}",
                        f"{r['rps']:.0f}",
                        load,
                        ("✓" if ok else "✗") if goal else "—",
                    ]
                )
                print(f"  {name} ×{clients}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms (load {load})", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    goals = []
    if ("search", 1) in p95 and ("list", 1) in p95:
        ratio = p95[("search", 1)] / p95[("list", 1)]
        goals.append((db, size, "search p95 / list p95 (API, 1 client)", f"{ratio:.2f}", "≤ 2", ratio <= 2))
    if ("deep", 1) in p95 and ("page1", 1) in p95:
        ratio = p95[("deep", 1)] / p95[("page1", 1)]
        goals.append((db, size, f"page {DEEP_PAGE} p95 / page 1 p95 (1 client)", f"{ratio:.2f}", "≤ 1.5", ratio <= 1.5))
    for key in FOUR_CLIENT_GOALS:
        if (key, 4) in p95:
            v = p95[(key, 4)]
            goals.append((db, size, f"{key} p95, 4 clients", f"{v:.1f} ms", "< 50 ms", v < GOAL_P95_MS))
    if size >= 1_000_000:
        for clients in (1, 4):
            for key, label in (("dashboard", "dashboard"), ("dashboard_w", "dashboard after a write")):
                if (key, clients) in p95:
                    v = p95[(key, clients)]
                    goals.append(
                        (db, size, f"{label} p95, {clients} client(s)", f"{v:.1f} ms", "< 50 ms", v < GOAL_P95_MS)
                    )
    return rows, goals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000", help="ledger sizes, comma-separated")
    ap.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    ap.add_argument("--requests", type=int, default=200, help="measured requests per case and client count")
    ap.add_argument("--clients", default="1,4", help="concurrent clients, comma-separated")
    ap.add_argument("--pg-workers", type=int, default=2, help="uvicorn workers on PostgreSQL")
    ap.add_argument("--serve", nargs=3, metavar=("URL", "PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return 0
    pg = os.environ.get("DUBAN_BENCH_PG") or os.environ.get("DUBAN_TEST_PG")
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if "postgresql" in databases and not pg:
        raise SystemExit("PostgreSQL: set DUBAN_BENCH_PG (or DUBAN_TEST_PG) to a server URL")
    print(f"web bench: sizes {args.sizes}, {', '.join(databases)}; {os.cpu_count()} CPUs; load {_load()}")
    rows, goals = [], []
    for size in [int(s) for s in args.sizes.split(",")]:
        for db in databases:
            r, g = bench_one(db, size, args, pg)
            rows += r
            goals += g
    headers = ["db", "problems", "case", "clients", "requests", "p50 ms", "p95 ms", "max ms", "req/s", "load", "goal"]
    print()
    print(table(headers, rows))
    print()
    print(
        table(["db", "problems", "goal", "measured", "target", "met"], [[*g[:5], "✓" if g[5] else "✗"] for g in goals])
    )
    print(f"load after: {_load()}")
    return 0 if all(g[5] for g in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
