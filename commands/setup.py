"""Setting up and looking after the database: ``init``, ``db``, ``export`` and ``import``."""

from __future__ import annotations

import click

from commands.support import DEMO_PASSWORD, Group, emit, json_option


@click.command("init")
@click.option("--sample", is_flag=True, help="同时载入示例台账（8 个项目 10 个问题，人物虚构）")
@click.option("--admin-email", default="admin@localhost", show_default=True, help="admin 账号的邮箱")
@click.pass_obj
def init(app, sample, admin_email):
    """建库，载入阳城县单位名录，创建 admin 账号。"""
    from service.setup import initialise, load_demo

    added = initialise(app.engine, app.now, admin_email)
    click.echo(
        f"数据库已就绪：{app.engine.url.render_as_string(hide_password=True)}；新增单位 {added} 个；管理员账号 admin"
    )
    if sample:
        result = load_demo(app.engine, app.rules, app.now, DEMO_PASSWORD)
        click.echo(
            f"已载入示例数据：用户 {result['users']} 个，项目 {result['projects']} 个，"
            f"问题 {len(result['problems'])} 个（{result['problems'][0]} … {result['problems'][-1]}）"
        )
        click.echo(
            f"网页登录演示密码：{DEMO_PASSWORD}（适用于 {len(result['demo_logins'])} 个示例账号，"
            "如 admin、zhang.dcs、wang.fxz、sun.zrzy）"
        )


@click.group("db", cls=Group)
def db():
    """数据库结构（迁移）。"""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app):
    """把数据库结构升级到最新版本（升级软件后运行；升级前请先备份）。"""
    from models import migrate

    before = migrate.current(app.engine)
    migrate.upgrade(app.engine)
    after = migrate.current(app.engine)
    click.echo(
        f"数据库结构已是最新版本 {after}" if before == after else f"数据库结构已从 {before or '空库'} 升级到 {after}"
    )


@db.command("current")
@json_option
@click.pass_obj
def db_current(app, as_json):
    """显示数据库结构的当前版本和最新版本。"""
    from models import migrate

    data = {"current": migrate.current(app.engine), "head": migrate.head()}
    emit(
        as_json,
        data,
        lambda d: click.echo(
            f"当前版本：{d['current'] or '未初始化'}；最新版本：{d['head']}"
            + ("" if d["current"] == d["head"] else "（请运行 duban db upgrade）")
        ),
    )


@db.command("reindex")
@click.pass_obj
def db_reindex(app):
    """重建全文搜索索引和工作台统计（平时由数据库触发器随每次写入自动维护；批量导入或怀疑索引损坏后运行）；
    PostgreSQL 上同时重新统计多数问题共有的字段片段（搜索时不向索引查询这些片段）。"""
    from service.maintenance import reindex

    result = reindex(app.engine)
    pieces = result["common_pieces"]
    measured = "" if pieces is None else f"，重新统计了常见字段片段（{pieces} 个，搜索时跳过）"
    click.echo(
        f"已重建搜索索引（{result['documents']} 个问题）和工作台统计（{result['tally_keys']} 项）{measured}，"
        f"用时 {result['seconds']} 秒"
    )


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.pass_obj
def export_cmd(app, path):
    """导出全部数据（单位、用户、项目、问题、历史、通知）为带版本的 JSONL 备份文件（管理员）。"""
    from pathlib import Path

    from service.dump import export_dump

    header = export_dump(app.engine, Path(path), app.now, app.actor())
    total = sum(header["tables"].values())
    click.echo(
        f"已导出 {total} 行到 {path}（结构版本 {header['schema']}）："
        + "，".join(f"{k} {v}" for k, v in header["tables"].items() if v)
    )


@click.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True, help="目标库已有数据时，用备份替换全部数据（默认拒绝；需管理员）")
@click.pass_obj
def import_cmd(app, path, replace):
    """从 duban export 的备份文件恢复全部数据（默认只导入空库）。"""
    from pathlib import Path

    from service.dump import import_dump

    result = import_dump(app.engine, Path(path), replace=replace, actor_login=app.user)
    click.echo(f"已从 {path} 导入 {sum(result['tables'].values())} 行（结构版本 {result['schema']}）")


COMMANDS: list[click.Command] = [init, db, export_cmd, import_cmd]
