"""``duban serve --workers 2`` on PostgreSQL as real processes: what one worker process starts (a session, a
CSRF token, failed sign-ins, a logout) holds in the other, and the in-process scheduler runs in exactly one
of them, the one holding the scheduler lock.

Both workers accept connections on one listening socket, so a request cannot name its worker. It does not
need to: an HTTP/1.1 connection stays with the worker that accepted it. The test opens connections until it
has one held by each worker (uvicorn's access log names the process that served each request), then sends
every request deliberately through one or the other, like a browser whose requests a load balancer spreads
over the workers — and checks in the access log, request by request, that the intended process answered.
Two separate one-worker servers would share the database too, but not what ``--workers`` itself prepares
for its workers (the one signing key made before they start, the environment, the scheduler lock); this is
the path a county's deployment runs.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from webkit import PASSWORD, PROJECT, at, build_db

from service.problems import ProblemService
from tests import backends
from tests.conftest import Clock
from tests.servers import answers, start_server

pytestmark = [pytest.mark.web]

DUBAN = str(Path(sys.executable).with_name("duban"))  # the installed script
REPO = Path(__file__).resolve().parents[2]
MAX_FAILURES = 3


class Server:
    """A ``duban serve --workers 2`` process, its output read line by line as it comes."""

    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc, self.base = proc, f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def served_by(self, marker: str, timeout: float = 10) -> int:
        """The process id uvicorn's access log names for the request whose URL carries ``via=marker``."""
        pattern = re.compile(rf'\[(\d+)\] \S+ - "\w+ [^"]*[?&]via={marker} HTTP/1\.1"')
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := pattern.search(line):
                    return int(m.group(1))
            time.sleep(0.01)
        raise AssertionError(f"no access-log line for via={marker}:\n{self.output()[-3000:]}")

    def pids(self, message: str) -> list[int]:
        """The processes that logged ``message`` (web.workers' format: ``… [pid] LEVEL name: message``)."""
        return [
            int(m.group(1)) for m in re.finditer(rf"\[(\d+)\] \w+ [\w.]+: {re.escape(message)}$", self.output(), re.M)
        ]


@pytest.fixture(scope="module")
def served(tmp_path_factory, web_rules, password_hash):
    """(server, engine, problem code, directory): two worker processes on a fresh PostgreSQL database."""
    backends.require_pg()
    tmp = tmp_path_factory.mktemp("workers")
    url = backends.new_migrated_url("postgresql", tmp)
    engine = build_db(url, password_hash)
    code = (
        ProblemService(engine, web_rules, Clock(at("2024-01-08")))
        .log("town", PROJECT, "land", "两个工作进程之间的问题", unit="ziranziyuan")
        .code
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {
        "DUBAN_SECRET_FILE": str(tmp / "secret"),
        "DUBAN_MAIL_DIR": str(tmp / "mail"),
        "DUBAN_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "TMPDIR": str(tmp),  # where serve puts the scheduler lock
    }
    proc, port = start_server(
        lambda port: [DUBAN, "--db", url, "--at", "2024-01-08T09:00", "serve", "--workers", "2", "--port", str(port)],
        lambda port: answers(f"http://127.0.0.1:{port}/login"),
        env=env,
        cwd=tmp,
    )
    server = Server(proc, port)
    try:
        deadline = time.monotonic() + 30  # both workers up (the first may answer before the second started)
        while len(set(re.findall(r"\[(\d+)\] Application startup complete", server.output()))) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, server.output()
            time.sleep(0.05)
        yield server, engine, code, tmp
    finally:
        proc.terminate()
        proc.wait(30)
        server._reader.join(10)
        engine.dispose()
        backends.release(url)
    assert "Traceback" not in server.output(), server.output()


class Browser:
    """One browser (one cookie jar) whose requests go through a chosen worker's connection."""

    def __init__(self, server: Server, workers: dict[str, httpx.Client], pid: dict[str, int]):
        self.server, self.workers, self.pid = server, workers, pid
        self.cookies = httpx.Cookies()

    def send(self, worker: str, method: str, path: str, **kw) -> httpx.Response:
        marker = next(MARKERS)
        client = self.workers[worker]
        client.cookies = self.cookies
        r = client.request(method, f"{path}{'&' if '?' in path else '?'}via={marker}", **kw)
        self.cookies = httpx.Cookies(client.cookies)
        assert self.server.served_by(marker) == self.pid[worker], f"{method} {path} was not served by worker {worker}"
        return r

    def csrf(self, worker: str, path: str) -> str:
        r = self.send(worker, "GET", path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


MARKERS = (str(n) for n in itertools.count())


@pytest.fixture
def worker_pair(served):
    """Browsers and one keep-alive connection to each of the two workers: {"A": client, "B": client}."""
    server = served[0]
    held: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    for _ in range(60):  # each new connection goes to whichever worker accepts it first
        client = httpx.Client(base_url=server.base, limits=httpx.Limits(max_connections=1), timeout=10)
        marker = next(MARKERS)
        assert client.get(f"/login?via={marker}").status_code == 200
        pid = server.served_by(marker)
        if pid in held:
            spare.append(client)
        else:
            held[pid] = client
        if len(held) == 2:
            break
    assert len(held) == 2, f"all {len(spare) + 1} connections went to one worker:\n{server.output()[-2000:]}"
    (a_pid, a), (b_pid, b) = held.items()
    workers, pid = {"A": a, "B": b}, {"A": a_pid, "B": b_pid}
    yield lambda: Browser(server, workers, pid)
    for client in [a, b, *spare]:
        client.close()


@pytest.mark.pg
def test_session_csrf_throttle_and_logout_hold_across_two_worker_processes(served, worker_pair):
    _, engine, code, _ = served
    browser = worker_pair()
    # Sign in: the form (and its pre-login CSRF token) from A, the post to B; the session read on A.
    token = browser.csrf("A", "/login")
    r = browser.send("B", "POST", "/login", data={"login": "insp", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard", r.text[:300]
    token = browser.csrf("A", f"/problems/{code}")  # signed in on B, the page (and the session's token) from A
    assert "张督查" in browser.send("B", "GET", "/dashboard").text
    # A CSRF-protected write: the token A issued, the post to B, the result on A.
    r = browser.send(
        "B", "POST", f"/problems/{code}/actions/note", data={"text": "经由乙进程的备注", "csrf_token": token}
    )
    assert r.status_code == 303, r.text[:300]
    assert "经由乙进程的备注" in browser.send("A", "GET", f"/problems/{code}").text
    forged = browser.send("A", "POST", f"/problems/{code}/actions/note", data={"text": "x", "csrf_token": "forged"})
    assert forged.status_code == 403
    # Log out on A: the cookie as it was before is refused by B (and A) — the session ended in the database.
    kept = httpx.Cookies(browser.cookies)
    assert browser.send("A", "POST", "/logout", data={"csrf_token": token}).status_code == 303
    browser.cookies = kept
    for worker in ("B", "A"):
        r = browser.send(worker, "GET", "/dashboard")
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), worker
    r = browser.send("B", "POST", f"/problems/{code}/actions/note", data={"text": "退出后", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    # Failed sign-ins alternate between the workers and are counted together: after MAX_FAILURES of them,
    # the right password is refused by both.
    intruder = worker_pair()
    token = intruder.csrf("A", "/login")
    for n in range(MAX_FAILURES):
        r = intruder.send(
            "AB"[n % 2], "POST", "/login", data={"login": "head", "password": "wrong", "csrf_token": token}
        )
        assert r.status_code == 401, (n, r.text[:300])
    for worker in ("A", "B"):
        r = intruder.send(worker, "POST", "/login", data={"login": "head", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 429 and "登录失败次数过多" in r.text, worker
    with engine.connect() as c:
        notes = c.execute(sa.text("SELECT comment FROM event WHERE action = 'note'")).scalars().all()
    assert notes == ["经由乙进程的备注"]  # the note after logging out was not written


@pytest.mark.pg
def test_the_scheduler_runs_in_exactly_one_worker_the_one_holding_the_lock(served):
    server, _, _, tmp = served
    started = server.pids("scheduler started in the web process")
    elsewhere = server.pids("scheduler runs in another worker")
    workers = set(map(int, re.findall(r"\[(\d+)\] Application startup complete", server.output())))
    assert len(workers) == 2 and len(started) == 1 and len(elsewhere) == 1, server.output()
    assert {started[0], elsewhere[0]} == workers
    # The lock is held, by the scheduler's worker: the kernel's lock table names it, and nobody else gets it.
    (lock,) = tmp.glob("duban-scheduler-*.lock")
    inode = os.stat(lock).st_ino
    holders = [
        int(f[4])
        for f in (line.split() for line in Path("/proc/locks").read_text().splitlines())
        if f[1] == "FLOCK" and f[5].endswith(f":{inode}")
    ]
    assert holders == [started[0]]
    with open(lock, "a+") as handle, pytest.raises(BlockingIOError):
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_scheduler_lock_goes_to_one_process_and_passes_on_when_it_dies(tmp_path):
    """web.workers.take_scheduler_lock in competing processes: the first holds it for its life, a second is
    refused while the first lives, and the process started after the holder died (as uvicorn replaces a
    dead worker) takes it over."""
    lock = str(tmp_path / "scheduler.lock")
    contend = (
        "import sys; from web.workers import take_scheduler_lock as take; print(take(sys.argv[1]), flush=True); input()"
    )
    procs: list[subprocess.Popen] = []

    def contender() -> str:
        p = subprocess.Popen(
            [sys.executable, "-c", contend, lock], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        procs.append(p)
        return p.stdout.readline().strip()

    try:
        assert contender() == "True"
        assert contender() == "False"
        assert contender() == "False"
        procs[0].kill()
        procs[0].wait(10)
        assert contender() == "True"
        assert contender() == "False"
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
