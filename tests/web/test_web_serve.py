"""`duban serve` as a real process: it refuses an unmigrated database, serves pages and the API on
127.0.0.1, runs the scheduler in the same process, and stops cleanly on SIGTERM (scheduler included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import answers, free_port, start_server

DUBAN = str(Path(sys.executable).with_name("duban"))  # the installed script


def environment(**extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | extra


def test_serve_refuses_an_unmigrated_database(tmp_path):
    p = subprocess.run(
        [DUBAN, "--db", f"sqlite:///{tmp_path / 'empty.db'}", "serve", "--port", str(free_port())],
        env=environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2 and p.stderr.startswith("错误：数据库结构版本为 空库") and "duban init" in p.stderr


def test_serve_runs_pages_api_and_scheduler_then_stops_on_sigterm(tmp_path):
    db = f"sqlite:///{tmp_path / 'duban.db'}"
    init = subprocess.run(
        [DUBAN, "--db", db, "init", "--sample"], env=environment(), cwd=tmp_path, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    env = environment(DUBAN_MAIL_DIR=str(tmp_path / "mail"), DUBAN_SECRET_FILE=str(tmp_path / "secret"))
    server, port = start_server(
        lambda port: [DUBAN, "--db", db, "serve", "--port", str(port)],
        lambda port: answers(f"http://127.0.0.1:{port}/login"),
        env=env,
        cwd=tmp_path,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/login").status_code == 200
        assert httpx.get(f"{base}/api/v1/openapi.json").json()["info"]["title"].startswith("督办")
        assert httpx.get(f"{base}/api/v1/problems").status_code == 401
        # The scheduler's first round runs at start-up: the sample's notices get delivered as .eml files.
        deadline = time.monotonic() + 60
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
