"""``duban serve``: the web workspace and the JSON API under uvicorn, with the scheduler in-process.

``--workers N`` (PostgreSQL only) starts N worker processes on one port (``web.workers``); the scheduler
runs in exactly one of them, or in none with ``--no-scheduler`` (a separate ``duban scheduler``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import click

from commands.support import Command


@click.command("serve", cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="工作进程数（多于 1 个仅支持 PostgreSQL；调度器只在其中一个进程运行）",
)
@click.option("--no-scheduler", is_flag=True, help="不在本进程运行调度器（另有 duban scheduler 进程时使用）")
@click.pass_obj
def serve(app, host, port, workers, no_scheduler):
    """启动网页工作台和 JSON API（/api/v1），默认同时运行调度器。Ctrl-C / SIGTERM 退出。"""
    import uvicorn

    from models import migrate
    from service import process_log
    from workflow.errors import InvalidValue

    if workers > 1 and app.engine.dialect.name != "postgresql":
        raise InvalidValue(
            f"SQLite 数据库只能用 1 个工作进程（指定了 {workers} 个）：多个进程写同一个 SQLite 文件只会互相排队；"
            "需要多个工作进程请改用 PostgreSQL",
            field="workers",
            value=workers,
        )
    current, head = migrate.current(app.engine), migrate.head()
    if current != head:
        raise InvalidValue(
            f"数据库结构版本为 {current or '空库'}，最新为 {head}：请先运行 duban init 或 duban db upgrade", field="db"
        )
    if workers > 1:
        return _serve_workers(app, host, port, workers, no_scheduler)
    from web.app import create_app

    process_log.configure()
    web_app = create_app(app.engine, app.rules, app.clock if app.at else _utcnow, run_scheduler=not no_scheduler)
    click.echo(
        f"督办网页工作台：http://{host}:{port}/  （API：http://{host}:{port}/api/v1/openapi.json）"
        + ("" if no_scheduler else "；调度器已在本进程运行")
    )
    # Behind a reverse proxy every request comes from the proxy's address: name it in DUBAN_TRUSTED_PROXIES
    # (e.g. 127.0.0.1) so the client address — which the per-address login throttle counts — is taken from
    # its X-Forwarded-For. Never trust forwarded headers from anyone else: they are trivially forged.
    trusted = (os.environ.get("DUBAN_TRUSTED_PROXIES") or "").strip()
    uvicorn.run(
        web_app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        server_header=False,
    )


def _serve_workers(app, host: str, port: int, workers: int, no_scheduler: bool) -> None:
    """N uvicorn worker processes; each builds its app from the environment prepared here."""
    import copy
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from models.db import database_url
    from web.settings import load_secret

    # One signing key for every worker: made (or read) here, before any worker starts, so they cannot race
    # to create it.
    secret_file = Path(os.environ.get("DUBAN_SECRET_FILE", "var/secret_key")).resolve()
    load_secret(secret_file)
    url = database_url(app.db_url)
    os.environ.update(DUBAN_DB=url, DUBAN_SECRET_FILE=str(secret_file), DUBAN_RULES=app.rules_path or "")
    if app.at:
        os.environ["DUBAN_WEB_NOW"] = app.now.isoformat()
    lock = ""
    if not no_scheduler:
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        lock = str(Path(tempfile.gettempdir()) / f"duban-scheduler-{digest}.lock")
    os.environ["DUBAN_SCHEDULER_LOCK"] = lock
    # uvicorn's own lines carry the worker's process id (which worker served a request); the app's loggers
    # are configured by each worker (web.workers.create).
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["formatters"]["access"]["fmt"] = (
        '%(levelprefix)s [%(process)d] %(client_addr)s - "%(request_line)s" %(status_code)s'
    )
    log_config["formatters"]["default"]["fmt"] = "%(levelprefix)s [%(process)d] %(message)s"
    click.echo(
        f"督办网页工作台：http://{host}:{port}/  （API：http://{host}:{port}/api/v1/openapi.json）；"
        f"{workers} 个工作进程" + ("" if no_scheduler else "，调度器在其中一个进程运行")
    )
    uvicorn.run(
        "web.workers:create",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        log_config=log_config,
        proxy_headers=False,
        server_header=False,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


COMMANDS: list[click.Command] = [serve]
