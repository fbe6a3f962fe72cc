"""Delivery beyond e-mail: ``channel`` (work-group robots and SMS numbers), ``inbox`` (站内消息) and ``prefs``
(how each person receives each kind of notice). Thin calls into ``service.channels`` and ``service.inbox``."""

from __future__ import annotations

import click

from commands.support import Command, Group, emit, json_option, printable, table


def _settings():
    from notifications.channel_config import ChannelSettings

    return ChannelSettings.from_env()


def _channels(app):
    from service.channels import ChannelAdmin

    return ChannelAdmin(app.engine, app.clock, _settings())


@click.group("channel", cls=Group)
def channel():
    """通知渠道：单位工作群（企业微信、钉钉群机器人）与短信号码。"""


@channel.command("add")
@click.argument("name")
@click.option("--kind", required=True, help="渠道类型：wecom 企业微信群机器人、dingtalk 钉钉群机器人、sms 短信")
@click.option(
    "--url",
    required=True,
    help="机器人的 Webhook 地址（含 key / access_token）；短信填手机号，如 tel:13800138000",
)
@click.option("--secret", help="钉钉机器人的加签密钥（SEC 开头）")
@click.option("--keyword", help="钉钉机器人的自定义关键词（消息中自动带上）")
@click.option("--unit", help="所属单位（单位工作群；代码、名称或别名）")
@click.option("--user", help="所属用户（个人的机器人或手机号；登录名）")
@json_option
@click.pass_obj
def channel_add(app, name, kind, url, secret, keyword, unit, user, as_json):
    """登记通知渠道（管理员）：属于一个单位（其工作群）或一个用户。"""
    row = _channels(app).add(app.actor(), name, kind, url, secret=secret, keyword=keyword, unit=unit, user=user)
    emit(as_json, row.as_dict(), lambda r: click.echo(f"已登记渠道「{r['name']}」（{r['kind_label']}，{row.owner}）"))


@channel.command("list")
@json_option
@click.pass_obj
def channel_list(app, as_json):
    """列出通知渠道（地址和密钥只显示脱敏后的形式）。"""
    rows = [r.as_dict() for r in _channels(app).list(app.actor())]

    def render(data):
        table(
            ["名称", "类型", "所属", "地址", "加签", "关键词", "状态"],
            [
                [
                    r["name"],
                    r["kind_label"],
                    f"{r['unit_name']}（单位）" if r["unit"] else f"{r['user_name']}（{r['user']}）",
                    r["address"],
                    r["secret"] or "—",
                    r["keyword"] or "—",
                    "启用" if r["active"] else "停用",
                ]
                for r in data
            ],
        )

    emit(as_json, rows, render)


@channel.command("test")
@click.argument("name")
@json_option
@click.pass_obj
def channel_test(app, name, as_json):
    """立即通过该渠道发送一条测试消息，并显示对方服务的应答（管理员）。"""
    row, result = _channels(app).test(app.actor(), name)
    data = {"channel": row.as_dict(), "result": result.as_dict()}

    def render(d):
        r = d["result"]
        head = {"sent": "发送成功", "retry": "暂时无法发送（可稍后重试）", "failed": "发送失败"}[r["outcome"]]
        click.echo(f"渠道「{row.name}」（{row.kind_label}）：{head}")
        if r["reason"]:
            click.echo(f"原因：{printable(r['reason'])}")
        status = f"HTTP {r['status']}" if r["status"] is not None else "无应答"
        click.echo(f"应答：{status} {printable(r['answer'] or '')}".rstrip())

    emit(as_json, data, render)
    if not result.ok:
        raise SystemExit(9)


def _set_active(active: bool):
    @click.argument("name")
    @click.pass_obj
    def command(app, name):
        _channels(app).set_active(app.actor(), name, active)
        click.echo(f"已{'启用' if active else '停用'}渠道「{name}」")

    return command


channel.command("enable", help="启用渠道（管理员）。")(_set_active(True))
channel.command("disable", help="停用渠道（管理员）：待发的消息不再发出，记为发送失败并注明原因。")(_set_active(False))


@click.group("inbox", cls=Group, invoke_without_command=True)
@click.option("--unread", is_flag=True, help="只看未读")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True, help="最多显示多少条（最新的）")
@json_option
@click.pass_context
def inbox(ctx, unread, limit, as_json):
    """当前用户的站内消息（最新的在前）；inbox read ID|--all 标为已读。"""
    if ctx.invoked_subcommand is not None:
        return
    from service import inbox as svc

    app = ctx.obj
    items, count = svc.inbox(app.engine, app.actor(), unread_only=unread, limit=limit)

    def render(data):
        tz = app.rules.timezone
        click.echo(f"未读 {count} 条")
        for item in data["items"]:
            mark = "  " if item["read"] else "● "
            when = item["created_at"].astimezone(tz).strftime("%m-%d %H:%M")
            click.echo(printable(f"{mark}[{item['id']}] {when} {item['title']}"))

    emit(as_json, {"unread": count, "items": [i.as_dict() for i in items]}, render)


@inbox.command("read")
@click.argument("notice", type=int, required=False, metavar="[ID]")
@click.option("--all", "all_items", is_flag=True, help="全部标为已读")
@click.pass_obj
def inbox_read(app, notice, all_items):
    """把一条（或 --all 全部）站内消息标为已读。"""
    from service import inbox as svc
    from workflow.errors import InvalidValue

    if all_items == (notice is not None):
        raise InvalidValue("请指定一条消息的编号，或全部已读（二者选一）", field="notice", label="消息编号")
    if all_items:
        n = svc.mark_all_read(app.engine, app.actor(), app.now)
        click.echo(f"已将 {n} 条站内消息标为已读")
    else:
        svc.mark_read(app.engine, app.actor(), notice, app.now)
        click.echo(f"已将站内消息 {notice} 标为已读")


@click.group("prefs", cls=Group, invoke_without_command=True)
@json_option
@click.pass_context
def prefs(ctx, as_json):
    """当前用户接收各类通知的方式：邮件、工作群、短信、站内消息；prefs set 修改。"""
    if ctx.invoked_subcommand is not None:
        return
    from service import inbox as svc

    data = svc.preferences(ctx.obj.engine, ctx.obj.actor())

    def render(d):
        ways = d["ways"]
        table(
            ["通知类型", "代码", "接收方式", ""],
            [
                [p.label, p.kind, "、".join(ways[w] for w in p.ways) or "不接收", "默认" if p.default else "已修改"]
                for p in d["items"]
            ],
        )
        reach = "、".join(c["name"] for c in d["channels"]) or "无（请管理员登记）"
        click.echo(f"邮箱：{d['email'] or '未登记'}；可达渠道：{reach}")

    json_data = {**data, "items": [p.as_dict() for p in data["items"]]}
    emit(as_json, json_data, lambda _: render(data))


@prefs.command("set")
@click.argument("kind")
@click.argument("ways", nargs=-1)
@click.pass_obj
def prefs_set(app, kind, ways):
    """设置 KIND 类通知的接收方式：WAYS 为 email、channel、sms、inbox 中的若干个（不填表示不接收）。"""
    from service import inbox as svc

    parts = [w for way in ways for w in way.replace("，", ",").split(",")]
    svc.set_preferences(app.engine, app.actor(), {kind: parts}, app.now)
    click.echo(f"已设置 {kind} 的接收方式：{'、'.join(parts) or '不接收'}")


COMMANDS: list[click.Command] = [channel, inbox, prefs]
__all__ = ["COMMANDS", "Command"]
