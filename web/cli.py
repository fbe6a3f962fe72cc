"""Click commands for the web workspace, registered on the main ``duban`` group by cli.py:

    duban serve [--host 127.0.0.1] [--port 8000] [--no-scheduler]
    duban token create LOGIN [--name N] [--days D] | token list [LOGIN] | token revoke ID
    duban passwd LOGIN [--password-stdin]

Keep this module light (click only at import): ``duban --help`` imports it.
"""

from __future__ import annotations

from datetime import UTC

import click

from cli_support import Command, Group


def _require_admin_or_self(app, login: str) -> None:
    from service import directory
    from workflow.errors import PermissionDenied
    from workflow.states import Role

    with app.session() as session:
        actor = directory.actor_for(session, app.actor())
    if actor.role != Role.ADMIN and actor.login != login:
        raise PermissionDenied(f"只有管理员或 {login} 本人可以这样做，{actor.name}（{actor.login}）不是")


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

    current, head = migrate.current(app.engine), migrate.head()
    if current != head:
        from workflow.errors import InvalidValue

        raise InvalidValue(
            f"数据库结构版本为 {current or '空库'}，最新为 {head}：请先运行 duban init 或 duban db upgrade"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per callback otherwise
    web_app = create_app(app.engine, app.rules, app.clock if app.at else _utcnow, run_scheduler=not no_scheduler)
    click.echo(
        f"督办网页工作台：http://{host}:{port}/  （API：http://{host}:{port}/api/v1/openapi.json）"
        + ("" if no_scheduler else "；调度器已在本进程运行")
    )
    uvicorn.run(web_app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)


def _utcnow():
    from datetime import datetime

    return datetime.now(UTC)


@click.group("token", cls=Group)
def token():
    """API 令牌（供脚本调用 /api/v1）。"""


@token.command("create")
@click.argument("login")
@click.option("--name", default="", help="令牌用途说明")
@click.option("--days", type=click.IntRange(1, 3650), help="有效天数（不填则长期有效，可吊销）")
@click.pass_obj
def token_create(app, login, name, days):
    """为用户 LOGIN 生成 API 令牌（只显示这一次；库中只存其 SHA-256 摘要）。需 --as 管理员或本人。"""
    from datetime import timedelta

    from service import directory
    from web import tokens

    _require_admin_or_self(app, login)
    with app.session() as session, session.begin():
        user = directory.find_user(session, login, "用户")
        expires = app.now + timedelta(days=days) if days else None
        value = tokens.create(session, user, name, app.now, expires)
    click.echo(value)
    click.echo(f"已为 {login} 生成令牌；请立即保存，之后无法再次查看。用法：Authorization: Bearer <令牌>", err=True)


@token.command("list")
@click.argument("login", required=False)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.pass_obj
def token_list(app, login, as_json):
    """列出 API 令牌（只显示前缀）。"""
    import json

    from web import tokens

    with app.session() as session:
        rows = tokens.listing(session, login)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    tz = app.rules.timezone
    for r in rows:
        state = (
            "已吊销"
            if r["revoked_at"]
            else ("有效至 " + r["expires_at"].astimezone(tz).strftime("%Y-%m-%d") if r["expires_at"] else "有效")
        )
        click.echo(
            f"{r['id']:>4}  {r['login']:<16} {r['prefix']}…  {r['name'] or '—'}  "
            f"{r['created_at'].astimezone(tz):%Y-%m-%d %H:%M}  {state}"
        )
    if not rows:
        click.echo("没有令牌")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def token_revoke(app, token_id):
    """吊销令牌（需 --as 管理员或令牌所属用户）。"""
    from models.tables import ApiToken, User
    from web import tokens
    from workflow.errors import NotFound

    with app.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"令牌编号 {token_id} 不存在；运行 duban token list 查看")
        owner = session.get(User, row.user_id).login
    _require_admin_or_self(app, owner)
    with app.session() as session, session.begin():
        tokens.revoke(session, token_id, app.now)
    click.echo(f"已吊销令牌 {token_id}")


@click.command("passwd", cls=Command)
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（供脚本使用）")
@click.pass_obj
def passwd(app, login, password_stdin):
    """设置用户 LOGIN 的登录密码（argon2 哈希）。首次使用：duban --as admin passwd admin。"""
    import sys

    from web import passwords

    _require_admin_or_self(app, login)
    if password_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = click.prompt("新密码", hide_input=True, confirmation_prompt="再次输入")
    with app.session() as session, session.begin():
        passwords.set_password(session, login, value)
    click.echo(f"已设置 {login} 的密码")


COMMANDS: list = [serve, token, passwd]
