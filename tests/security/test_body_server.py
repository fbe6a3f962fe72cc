"""The request-body limit against a real ``duban serve`` process: an anonymous 200 MB POST to
/api/v1/problems is refused with 413 after about 1 MiB — streamed (chunked) or declared — and the server's
memory does not grow with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.web]

DUBAN = Path(sys.executable).with_name("duban")
MIB = 1024 * 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def head_of(sock: socket.socket) -> bytes:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except OSError:
        pass
    return data


def start(tmp_path, **extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_DB=f"sqlite:///{tmp_path / 'duban.db'}", DUBAN_SECRET_FILE=str(tmp_path / "secret"), **extra_env)
    subprocess.run([str(DUBAN), "init"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=180)
    port = free_port()
    proc = subprocess.Popen(
        [str(DUBAN), "serve", "--port", str(port), "--no-scheduler"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
    return proc, port


def stop(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert "Traceback" not in out, out


@pytest.fixture
def server(tmp_path):
    proc, port = start(tmp_path)
    yield proc, port
    stop(proc)


def failed_login_from(tmp_path, port: int, forwarded: str) -> str:
    """One wrong password with an X-Forwarded-For header; returns the address the throttle counted."""
    import re

    import httpx
    import sqlalchemy as sa

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post(
            "/login",
            data={"login": "admin", "password": "not-the-password", "csrf_token": token},
            headers={"X-Forwarded-For": forwarded},
        )
        assert r.status_code == 401
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'duban.db'}")
    with engine.connect() as conn:
        ip = conn.execute(sa.text("SELECT ip FROM login_failure ORDER BY id DESC LIMIT 1")).scalar_one()
    engine.dispose()
    return ip


def test_a_200_mb_anonymous_post_is_refused_without_being_read(server, tmp_path):
    proc, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as warm:  # imports, first request
        warm.sendall(b"GET /api/v1/problems HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert b" 401 " in head_of(warm)
    before = rss_mib(proc.pid)

    # Streamed: no Content-Length, 64 KiB chunks, up to 200 MB if the server kept reading.
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /api/v1/problems HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
    sent, started = 0, time.monotonic()
    try:
        while sent < 200 * MIB:
            sock.sendall(chunk)
            sent += 65536
    except OSError:  # the server answered and closed the connection
        pass
    head = head_of(sock)
    sock.close()
    assert sent < 40 * MIB, f"the server read {sent / MIB:.0f} MiB"
    assert time.monotonic() - started < 30
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"connection: close" in head.lower() and b"x-frame-options: DENY" in head

    # Declared: the answer comes at once, before a byte of the body is sent.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/problems HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 209715200\r\n\r\n"
        )
        head = head_of(sock)
    assert head.startswith(b"HTTP/1.1 413") and b"no-store" in head

    assert rss_mib(proc.pid) - before < 30, (before, rss_mib(proc.pid))
    assert proc.poll() is None  # still serving
    # Not behind a trusted proxy: a forged X-Forwarded-For does not change the address counted.
    assert failed_login_from(tmp_path, port, "198.51.100.7") == "127.0.0.1"


def test_behind_a_trusted_proxy_the_throttle_counts_the_forwarded_address(tmp_path):
    proc, port = start(tmp_path, DUBAN_TRUSTED_PROXIES="127.0.0.1")
    try:
        assert failed_login_from(tmp_path, port, "198.51.100.7") == "198.51.100.7"
    finally:
        stop(proc)
