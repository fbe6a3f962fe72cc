"""`duban serve` as a real process: it refuses an unmigrated database, serves pages and the API on
127.0.0.1, runs the scheduler in the same process, and stops cleanly on SIGTERM (scheduler included)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DUBAN = Path(sys.executable).with_name("duban")  # the installed command


def duban(*args, env=None, **kw):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    full_env.update(env or {}, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [str(DUBAN), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_refuses_an_unmigrated_database(tmp_path):
    p = duban("--db", f"sqlite:///{tmp_path / 'empty.db'}", "serve", "--port", str(_free_port()), cwd=tmp_path)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 2 and out.startswith("错误：数据库结构版本为 空库") and "duban init" in out


def test_serve_runs_pages_api_and_scheduler_then_stops_on_sigterm(tmp_path):
    db = f"sqlite:///{tmp_path / 'duban.db'}"
    init = duban("--db", db, "init", "--sample", cwd=tmp_path)
    assert init.wait(120) == 0, init.stdout.read()
    port = _free_port()
    env = {"DUBAN_MAIL_DIR": str(tmp_path / "mail"), "DUBAN_SECRET_FILE": str(tmp_path / "secret")}
    server = duban("--db", db, "serve", "--port", str(port), env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        assert httpx.get(f"{base}/api/v1/openapi.json").json()["info"]["title"].startswith("督办")
        assert httpx.get(f"{base}/api/v1/problems").status_code == 401
        # The scheduler's first round runs at start-up: the sample's notices get delivered as .eml files.
        while not list((tmp_path / "mail").glob("*.eml")):
            assert time.monotonic() < deadline, "the in-process scheduler delivered nothing"
            time.sleep(0.1)
        assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (systemd counts SIGTERM as clean).
    assert server.returncode in (0, -signal.SIGTERM), out
    assert "Application shutdown complete" in out
    assert "调度器已在本进程运行" in out and "scheduler started in the web process" in out
    assert "stopped" in out and "Traceback" not in out
