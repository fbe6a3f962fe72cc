"""``duban serve``: the web workspace and the JSON API under uvicorn, with the scheduler in-process."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from commands.support import Command


@click.command("serve", cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option("--no-scheduler", is_flag=True, help="不在本进程运行调度器（另有 duban scheduler 进程时使用）")
@click.pass_obj
def serve(app, host, port, no_scheduler):
    """启动网页工作台和 JSON API（/api/v1），默认同时运行调度器。Ctrl-C / SIGTERM 退出。"""
    import logging

    import uvicorn

    from models import migrate
    from web.app import create_app
    from workflow.errors import InvalidValue

    current, head = migrate.current(app.engine), migrate.head()
    if current != head:
        raise InvalidValue(
            f"数据库结构版本为 {current or '空库'}，最新为 {head}：请先运行 duban init 或 duban db upgrade", field="db"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per callback otherwise
    web_app = create_app(app.engine, app.rules, app.clock if app.at else _utcnow, run_scheduler=not no_scheduler)
    click.echo(
        f"督办网页工作台：http://{host}:{port}/  （API：http://{host}:{port}/api/v1/openapi.json）"
        + ("" if no_scheduler else "；调度器已在本进程运行")
    )
    uvicorn.run(web_app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)


def _utcnow() -> datetime:
    return datetime.now(UTC)


COMMANDS: list[click.Command] = [serve]
