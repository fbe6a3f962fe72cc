"""Running the loop: ``sweep``, ``scheduler``, ``outbox``, ``notices``, ``rules``, ``calendar`` and ``diagram``."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from commands.support import Command, Group, emit, json_option, parse_at, printable, table


def _mail_config():
    from notifications.config import MailConfig

    return MailConfig.from_env()


@click.command("sweep", cls=Command)
@click.option("--dry-run", is_flag=True, help="只显示将要执行的操作，不写入")
@json_option
@click.pass_obj
def sweep(app, dry_run, as_json):
    """巡检：更新预警灯，催办，超期升级，记录待发通知。"""
    from service.sweep import run_sweep
    from workflow.actions import label

    report = run_sweep(app.engine, app.rules, app.now, dry_run=dry_run)

    def render(d):
        when = app.now.astimezone(app.rules.timezone).strftime("%Y-%m-%d %H:%M")
        head = "巡检预演（未写入）" if dry_run else "巡检完成"
        summary = "，".join(f"{label(k)} {v}" for k, v in d["actions"].items()) or "无需处理"
        click.echo(f"{head}（{when}）：检查到期问题 {d['selected']} 个；{summary}")
        for item in d["items"]:
            click.echo(f"  {item['code']}  {label(item['action'])}：{printable(item['comment'])}")

    emit(as_json, report.as_dict(), render)


@click.group("rules", cls=Group)
def rules():
    """规则文件。"""


@rules.command("check")
@click.argument("path", required=False)
@click.pass_obj
def rules_check(app, path):
    """检查规则文件是否有效；数据库已初始化时，说明按该文件的日历有多少个未销号问题的时限会变（不写入）。"""
    from workflow.rules import load_rules
    from workflow.states import Role

    r = load_rules(path or app.rules_path)
    click.echo(f"规则文件有效：{r.source}")
    for level, rule in r.levels.items():
        click.echo(
            f"  {level.value}（{rule.label}）：时限 {rule.time_limit.label}，提前 {rule.warn_before.label} 预警，"
            f"超期宽限 {rule.remind_after.label}"
        )
    for severity, ladder in r.ladders.items():
        county = (
            f"，需县级协调的从 {ladder.county_level_start.value} 开始"
            if ladder.county_level_start != ladder.start
            else ""
        )
        every = f"每 {ladder.remind_every.label} 再提醒" if ladder.remind_every.amount else "不再提醒"
        click.echo(
            f"  {severity.label}问题：{' → '.join(ladder.rungs)}（交办进入 {ladder.start.value}{county}；"
            f"顶端超期保持红灯，{every}）"
        )
    who = f"单位 {r.organiser.unit}" if r.organiser.unit else f"角色 {Role(r.organiser.role).label}"
    click.echo(f"  会议组织单位：{who}；销号审核时限 {r.review_limit.label}")
    if not _database_exists(app):
        click.echo("  （未找到已初始化的数据库，未统计受影响的问题）")
        return
    from service.recalc import impact

    report = impact(app.engine, r, app.now)
    if report is None:
        click.echo("  （数据库尚未初始化，未统计受影响的问题）")
    elif not report.checked:
        click.echo("  按此文件的日历，没有未销号问题的办结时限需要重新核定")
    else:
        click.echo(
            f"  按此文件的日历：{report.moved} 个未销号问题的办结时限或“13710”节点将变化，"
            f"{report.changed - report.moved} 个只是不再暂定（共检查 {report.checked} 个；未写入）"
        )
        for code, comment in report.items[:50]:
            click.echo(f"    {code}  {printable(comment)}")


def _database_exists(app) -> bool:
    """Whether the configured database can hold a ledger (an SQLite file that is not there is not created)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from models.db import database_url

    url = make_url(database_url(app.db_url))
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and url.database != ":memory:" and Path(url.database).exists()


@click.group("calendar", cls=Group)
def calendar():
    """工作日日历。"""


@calendar.command("add")
@click.argument("start")
@click.argument("period")
@json_option
@click.pass_obj
def calendar_add(app, start, period, as_json):
    """计算期限：从 START 起算 PERIOD（如 "3 workdays"、"7天"、"1个月"）的最后一天。"""
    from workflow.calendar import Period
    from workflow.dates import parse_date

    due = app.rules.calendar.add(parse_date(start, "起始日期", "start"), Period.parse(period))
    emit(
        as_json,
        {"start": start, "period": period, "date": due.date.isoformat(), "provisional": due.provisional},
        lambda d: click.echo(
            d["date"] + ("（暂定：该年节假日安排尚未公布，按法定节假日和周一至周五推算）" if due.provisional else "")
        ),
    )


@calendar.command("refresh")
@json_option
@click.pass_obj
def calendar_refresh(app, as_json):
    """按规则文件中的日历立即重新核定未销号问题的办结时限（不必等下一次巡检）。"""
    from service.recalc import recalculate

    report = recalculate(app.engine, app.rules, app.now)

    def render(d):
        click.echo(
            f"重新核定完成：检查 {d['checked']} 个按旧日历计算的问题，{d['changed']} 个有变化，"
            f"{d['moved']} 个日期变动已通知责任人"
        )
        for item in d["items"]:
            click.echo(f"  {item['code']}  {printable(item['comment'])}")

    emit(as_json, report.as_dict(), render)


@click.command("diagram", cls=Command)
def diagram():
    """输出状态机的 Mermaid 图（由状态机本身生成）。"""
    from workflow.machine import mermaid

    click.echo(mermaid(), nl=False)


@click.group("outbox", cls=Group)
def outbox():
    """通知发件箱。"""


@outbox.command("list")
@click.option(
    "--status", help="状态：pending 待发送、sending 发送中、sent 已发送、failed 发送失败、undeliverable 无法投递"
)
@click.option("--problem", "code", help="只看某个问题的通知")
@click.option(
    "--channel",
    help="渠道：email 邮件、wecom 企业微信群、dingtalk 钉钉群、sms 短信、inbox 站内消息（默认除站内消息外全部）",
)
@click.option("--limit", type=click.IntRange(1, 1_000_000), help="最多显示多少条（最新的）")
@json_option
@click.pass_obj
def outbox_list(app, status, code, channel, limit, as_json):
    """列出通知及其发送状态。"""
    from service.notices import listing

    rows, counts = listing(app.engine, status, code, channel)
    if limit:
        rows = rows[-limit:]

    def render(data):
        tz = app.rules.timezone
        table(
            ["编号", "类型", "问题", "渠道", "收件人", "状态", "尝试", "时间", "说明"],
            [
                [
                    r["id"],
                    r["kind_label"],
                    r["problem_code"] or "—",
                    r["channel_label"],
                    r["channel_name"] or r["recipient_login"] or f"（{r['recipient_role']}）",
                    r["status_label"],
                    r["attempts"],
                    (r["sent_at"] or r["created_at"]).astimezone(tz).strftime("%m-%d %H:%M"),
                    (r["last_error"] or "")[:60],
                ]
                for r in data
            ],
        )
        click.echo("合计：" + "，".join(f"{k} {v}" for k, v in sorted(counts.items())))

    emit(as_json, rows, render)


@outbox.command("retry")
@click.argument("notice", type=int, required=False, metavar="[ID]")
@click.pass_obj
def outbox_retry(app, notice):
    """把发送失败的通知（全部或指定编号）重新放回待发送队列（管理员）。"""
    from service.notices import retry_failed

    n = retry_failed(app.engine, app.actor(), notice, app.now)
    click.echo(f"已重新排队 {n} 条通知")


@outbox.command("send")
@click.option("--ignore-hours", is_flag=True, help="不受发送时段限制（默认只在规则文件 [delivery] 的时段内发送）")
@json_option
@click.pass_obj
def outbox_send(app, ignore_hours, as_json):
    """立即发送待发送的通知：邮件（未配置 SMTP 时写入 var/mail/*.eml）、工作群和短信。"""
    from notifications.channel_config import ChannelSettings
    from notifications.channel_sender import deliver_channels
    from notifications.sender import deliver_pending
    from service.scheduler import worker_name

    config = _mail_config()
    hours = None if ignore_hours else app.rules.office_hours()
    stats = deliver_pending(app.engine, config, app.now, worker_name(), office_hours=hours)
    robots = deliver_channels(app.engine, ChannelSettings.from_env(), app.now, worker_name(), office_hours=hours)

    def render(d):
        where = f"SMTP {config.smtp_host}" if config.smtp_host else f"文件 {config.mail_dir}/"
        click.echo(
            f"邮件发送完成（{where}）：已发送 {d['sent']}，稍后重试 {d['retried']}，失败 {d['failed']}"
            + (f"；中止原因：{d['stopped']}" if d["stopped"] else "")
        )
        r = d["channels"]
        click.echo(
            f"工作群与短信：已发送 {r['sent']} 条通知（{r['messages']} 条消息，其中合并 {r['merged']} 条），"
            f"稍后重试 {r['retried']}，失败 {r['failed']}" + (f"；{r['skipped']}，未发送" if r["skipped"] else "")
        )

    emit(as_json, {**stats.as_dict(), "channels": robots.as_dict()}, render)
    if stats.stopped:
        raise SystemExit(9)


@click.group("notices", cls=Group)
def notices():
    """通知预览。"""


@notices.command("preview")
@click.argument("code")
@click.option("--all", "all_statuses", is_flag=True, help="包括已发送和失败的通知")
@json_option
@click.pass_obj
def notices_preview(app, code, all_statuses, as_json):
    """显示某个问题待发送通知的邮件内容。"""
    from notifications.render import preview
    from service.notices import STATUSES
    from service.problems import normalize_code

    code = normalize_code(code)
    app.service.get(code)  # NotFound for an unknown problem
    with app.session() as session:
        items = preview(session, code, _mail_config(), STATUSES if all_statuses else ("pending",))

    def render(data):
        if not data:
            click.echo(f"{code} 没有{'任何' if all_statuses else '待发送的'}通知")
        for m in data:
            click.echo(f"── 通知 {m['id']}（{m['kind_label']}，{m['status']}）" + "─" * 20)
            if m.get("error"):
                click.echo(f"无法生成：{m['error']}")
                continue
            click.echo(printable(f"发件人：{m['from']}\n收件人：{m['to']}\n主题：{m['subject']}\n"))
            click.echo(printable(m["text"]))

    emit(as_json, items, render)


@click.command("scheduler", cls=Command)
@click.option("--once", is_flag=True, help="只运行一轮（巡检、汇总、发送）后退出")
@click.option(
    "--until", metavar="DATETIME", help="模拟运行：从 --at 起到此时刻，每隔 --step 运行一轮（不等待真实时间）"
)
@click.option("--step", default="1h", show_default=True, help="模拟运行的间隔，如 30m、1h、1d")
@click.option("--no-deliver", is_flag=True, help="只记录通知，不发送")
@click.pass_obj
def scheduler(app, once, until, step, no_deliver):
    """调度器：每隔数分钟巡检，工作日早上发每日汇总，半月调度重大问题，并发送通知。Ctrl-C / SIGTERM 退出。"""
    from service import process_log
    from service.scheduler import Jobs, serve, simulate

    process_log.configure()
    from notifications.channel_config import ChannelSettings

    jobs = Jobs(
        app.engine,
        app.rules,
        _mail_config(),
        app.clock if app.at else _utcnow,
        deliver=not no_deliver,
        channels=ChannelSettings.from_env(),
    )
    if until:
        end = parse_at(until, app.rules.timezone, "until")
        reports = simulate(
            jobs,
            app.now,
            end,
            parse_step(step),
            on_tick=lambda r: (
                r.actions and click.echo(f"{r.now.astimezone(app.rules.timezone):%Y-%m-%d %H:%M} {r.actions}")
            ),
        )
        total: dict = {}
        for r in reports:
            for k, v in r.actions.items():
                total[k] = total.get(k, 0) + v
        click.echo(
            f"模拟结束：{len(reports)} 轮；操作 {total}；每日汇总 {sum(r.digests for r in reports)}，"
            f"半月调度 {sum(r.dispatches for r in reports)}，发送 {sum(r.sent for r in reports)}"
        )
        return
    if once:
        r = jobs.tick()
        click.echo(
            f"本轮完成：操作 {r.actions}；每日汇总 {r.digests}，半月调度 {r.dispatches}，发送 {r.sent}，失败 {r.failed}"
        )
        return
    import asyncio

    click.echo(f"调度器已启动（{jobs.worker}），每 {app.rules.sweep_minutes} 分钟巡检；Ctrl-C 退出")
    asyncio.run(serve(jobs, app.rules))
    click.echo("调度器已停止")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_step(text: str):
    from datetime import timedelta

    from workflow.errors import InvalidValue

    units = {"m": "minutes", "h": "hours", "d": "days"}
    raw = text.strip()
    if len(raw) >= 2 and raw[:-1].isdigit() and raw[-1] in units and int(raw[:-1]) > 0:
        return timedelta(**{units[raw[-1]]: int(raw[:-1])})
    raise InvalidValue(
        f"间隔「{text}」无效，应为正整数加单位 m/h/d，如 30m、1h、1d", field="step", value=text, label="间隔"
    )


COMMANDS: list[click.Command] = [sweep, scheduler, outbox, notices, rules, calendar, diagram]
