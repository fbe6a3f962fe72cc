"""Ledger files and reports: ``export-ledger``, ``import-ledger`` and ``report``. Thin calls into ``reports``."""

from __future__ import annotations

import json

import click

from commands.problems import LEDGER_FILTERS, ledger_query
from commands.support import Command, Group, options
from commands.support import json_option as _json_option


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _progress():
    """A Rich progress bar on stderr when it is a terminal; a no-op otherwise (pipes, tests, cron)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@click.command("export-ledger", cls=Command)
@click.argument("path", metavar="PATH.xlsx|PATH.csv")
@options(*LEDGER_FILTERS)
@_json_option
@click.pass_obj
def export_ledger(app, path, state, level, unit, project, category, severity, light, overdue, open_only, q, as_json):
    """导出问题台账为 Excel 工作簿（.xlsx）或 CSV（UTF-8 带 BOM，Excel 可直接打开），筛选条件与 duban list 相同。"""
    from pathlib import Path

    from reports.ledger_export import export_ledger as run

    target = Path(path)
    lq = ledger_query(state, level, unit, project, category, severity, light, overdue, open_only, q)
    with _progress() as bar:
        task = None

        def tick(advance, total):
            nonlocal task
            if task is None:
                task = bar.add_task("导出台账", total=total)
            bar.advance(task, advance)

        count = run(app.engine, app.rules, app.now, target, lq, app.actor(), progress=tick)
    data = {"file": str(target), "rows": count}
    if as_json:
        _echo_json(data)
    else:
        click.echo(f"已导出 {count} 个问题到 {target}")


@click.command("import-ledger", cls=Command)
@click.argument("path", metavar="PATH.xlsx|PATH.csv")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@_json_option
@click.pass_obj
def import_ledger(app, path, dry_run, as_json):
    """导入问题台账：先逐行检查，全部无误才导入（按问题编号或项目+问题名称去重，可重复导入）。"""
    from pathlib import Path

    from reports.importer import import_ledger as run
    from workflow.errors import InvalidValue

    login = app.actor()
    with _progress() as bar:
        tasks: dict = {}

        def tick(phase, advance, total):
            names = {"read": "读取", "check": "检查", "write": "写入"}
            if phase not in tasks:
                tasks[phase] = bar.add_task(names[phase], total=total)
            bar.advance(tasks[phase], advance)

        report = run(app.engine, app.rules, app.now, login, Path(path), dry_run=dry_run, progress=tick)
    if as_json:
        _echo_json(report.as_dict())
    else:
        _render_import(report)
    if report.issues:
        raise InvalidValue(
            f"台账「{report.source}」有 {len(report.issues)} 处错误，未导入任何数据"
            f"（{'错误列表见 --json 输出' if as_json else '逐条错误见上方列表'}）"
        )


def _render_import(report) -> None:
    where = f"台账「{report.source}」" + (f"（工作表「{report.sheet}」）" if report.sheet != "CSV" else "")
    if report.issues:
        click.echo(f"{where}有 {len(report.issues)} 处错误，未导入任何数据：")
        for issue in report.issues:
            click.echo(f"  {issue.line()}")
        return
    from workflow.states import State

    states = "，".join(
        f"{State(k).label} {v}"
        for k, v in sorted(report.by_state.items(), key=lambda kv: list(State).index(State(kv[0])))
    )
    new = sum(report.by_state.values())
    head = "检查通过（--dry-run，未写入）" if report.dry_run else "导入完成"
    click.echo(
        f"{head}：{where}共 {report.rows} 行；{'将新增' if report.dry_run else '新增'} {new} 个问题"
        + (f"（{states}）" if states else "")
        + f"；已存在跳过 {len(report.skipped)} 行"
        + (f"；空行 {report.blank_rows} 行" if report.blank_rows else "")
        + (f"；写入审计记录 {report.events} 条" if not report.dry_run else "")
    )
    for w in report.warnings:
        click.echo(f"  提示：{w.line()}")


@click.group("report", cls=Group)
def report():
    """调度通报、会议议题与督查通报。"""


def _out_dir(path: str):
    from pathlib import Path

    from workflow.errors import InvalidValue

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InvalidValue(f"输出目录「{path}」已存在且不是目录", field="out", value=path, label="输出目录")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidValue(
            f"无法创建输出目录「{path}」：{exc.strerror}", field="out", value=path, label="输出目录"
        ) from None
    return out


@report.command("dispatch", cls=Command)
@click.option("--period", required=True, help="统计月份，如 2024-01 或 2024年1月")
@click.option("--half", help="半月：1（1–15 日）或 2（16 日至月末）；不填为整月")
@click.option("--out", "out", default=".", show_default=True, help="输出目录")
@_json_option
@click.pass_obj
def report_dispatch(app, period, half, out, as_json):
    """调度通报：各单位新交办、销号、按期率、超期、升级、上会情况与排名（HTML + Excel）。"""
    from reports.dispatch import Period, build
    from reports.dispatch_render import pct, write_dispatch

    p = Period.parse(period, half)
    r = build(app.engine, app.rules, p, app.now, app.actor())
    out_dir = _out_dir(out)
    files = write_dispatch(r, app.rules, out_dir, app.now)
    if as_json:
        _echo_json({**r.as_dict(), "files": [str(f) for f in files]})
        return
    t = r.total
    click.echo(
        f"调度通报（{p.label}）：新交办 {t.new}，销号 {t.closed}（按期 {t.on_time}，按期率 {pct(t.on_time_rate)}），"
        f"超期未办结 {t.overdue}，红灯 {t.red}，升级13710 {t.to_13710}，提交县政府会议 {t.to_meeting}"
    )
    for f in files:
        click.echo(f"已生成 {f}")


@report.command("agenda", cls=Command)
@click.option("--meeting", required=True, help="会议日期，如 2024-01-25")
@click.option("--out", "out", default=".", show_default=True, help="输出目录")
@_json_option
@click.pass_obj
def report_agenda(app, meeting, out, as_json):
    """县政府会议议题：所有处于“县政府会议研究”层级的未销号问题（HTML + Word）。"""
    from reports.agenda import build, parse_meeting_date, write_agenda

    day = parse_meeting_date(meeting)
    agenda = build(app.engine, app.rules, day, app.now, app.actor())
    files = write_agenda(agenda, app.rules, _out_dir(out))
    if as_json:
        _echo_json({**agenda.as_dict(), "files": [str(f) for f in files]})
        return
    click.echo(
        f"会议议题（{day}）：{len(agenda.items)} 项"
        + (
            f"；其中超过半月未调度 {sum(1 for i in agenda.items if i.dispatch_overdue)} 项"
            if any(i.dispatch_overdue for i in agenda.items)
            else ""
        )
    )
    for f in files:
        click.echo(f"已生成 {f}")


@report.command("inspections", cls=Command)
@click.option("--month", required=True, help="月份，如 2024-03 或 2024年3月")
@click.option("--out", "out", default=".", show_default=True, help="输出目录")
@_json_option
@click.pass_obj
def report_inspections(app, month, out, as_json):
    """督查通报：本月督查发现（含照片缩略图）、点名通报的单位、督查计划完成情况（HTML + Word）。"""
    from reports.inspections import build, write_bulletin
    from workflow.inspections import Month

    b = build(app.engine, app.rules, Month.parse(month), app.now, app.actor())
    files = write_bulletin(b, app.rules, _out_dir(out))
    if as_json:
        _echo_json({**b.as_dict(), "files": [str(f) for f in files]})
        return
    click.echo(
        f"督查通报（{b.month.label}）：督查 {len(b.inspections)} 次，应督查项目 {b.plan.due} 个、已督查 {b.plan.visited} 个"
        + (f"；点名通报：{'、'.join(n.unit for n in b.named)}" if b.named else "")
    )
    for f in files:
        click.echo(f"已生成 {f}")


COMMANDS: list = [export_ledger, import_ledger, report]
