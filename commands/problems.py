"""Problem commands: ``log``, one command per workflow action (built from the action table), ``show`` and
``list``. Each is a thin call into ``service``."""

from __future__ import annotations

import click

from commands.evidence import attach_option, staged
from commands.support import Command, emit, json_option, options, printable
from workflow.actions import ACTIONS, USER_ACTIONS, ActionSpec, FieldKind, FieldSpec

# The ledger's filters, shared by ``list`` and ``export-ledger`` (service.ledger.LedgerQuery).
LEDGER_FILTERS = [
    click.option("--state", help="状态：discovered、assigned、supervised、suspended、review、closed（或中文）"),
    click.option("--level", help="层级：unit、county_leader、supervision_13710、government_meeting（或中文）"),
    click.option("--unit", help="责任单位（代码、名称或别名）"),
    click.option("--project", help="项目（名称或编号）"),
    click.option("--category", help="问题类型：land、demolition、permit、funding、factor、other（或中文）"),
    click.option("--severity", help="问题性质：general 一般、major 重大"),
    click.option("--light", help="预警灯：green、blue、yellow、red（或中文）"),
    click.option("--overdue", is_flag=True, help="只看已超期的"),
    click.option("--open-only", is_flag=True, help="只看未销号的"),
    click.option("--search", "q", default="", help="按编号、标题、描述、反馈、意见、项目或单位名称中的任意片段搜索"),
]


def ledger_query(state, level, unit, project, category, severity, light, overdue, open_only, q, sort="code"):
    from service.ledger import LedgerQuery

    return LedgerQuery(
        state=state or "",
        level=level or "",
        unit=unit or "",
        project=project or "",
        category=category or "",
        severity=severity or "",
        light=light or "",
        overdue=overdue,
        open_only=open_only,
        q=q or "",
        sort=sort,
    )


def _option(spec: FieldSpec):
    """A click option for one field of an action."""
    help_text = spec.label + (f"（{spec.hint}）" if spec.hint else "")
    if spec.choices:
        help_text += "：" + "、".join(f"{v} {label}" for v, label in spec.choices)
    flag = "--" + spec.name.replace("_", "-")
    if spec.kind == FieldKind.BOOL:
        return click.option(flag, spec.name, is_flag=True, help=help_text)
    return click.option(flag, spec.name, required=spec.required, help=help_text)


@click.command("log", cls=Command)
@options(*[_option(f) for f in ACTIONS["log"].fields])
@attach_option
@json_option
@click.pass_obj
def log(app, project, category, title, description, unit, severity, county_level, attachments, as_json):
    """登记（发现）一个问题，输出新问题编号。"""
    with staged(app, attachments) as batch:
        p = app.service.log(
            app.actor(),
            project,
            category,
            title,
            unit=unit,
            description=description or "",
            severity=severity or "general",
            county_level=county_level,
            attachments=batch,
        )
    data = {"code": p.code, "state": p.state, "level": p.level, "attachments": list(p.attachment_ids)}
    emit(as_json, data, lambda d: click.echo(d["code"]))


def _action_command(spec: ActionSpec) -> click.Command:
    @click.argument("code")
    @click.option("--expect-version", type=int, help="仅当问题仍是该版本时执行（防止覆盖他人修改）")
    @json_option
    @click.pass_obj
    def command(app, code, expect_version, as_json, attachments=(), **fields):
        params = {k: v for k, v in fields.items() if v is not None}
        with staged(app, attachments) as batch:
            p = app.service.act(
                app.actor(), code, spec.name, expected_version=expect_version, attachments=batch, **params
            )
        _print_result(p, spec, as_json)

    command = options(*[_option(f) for f in spec.fields])(command)
    if spec.evidence:
        command = attach_option(command)
    return click.command(spec.name.replace("_", "-"), cls=Command, help=spec.help)(command)


def _print_result(p, spec: ActionSpec, as_json: bool) -> None:
    from workflow.states import Level, Light, State

    data = {
        "code": p.code,
        "action": spec.name,
        "state": p.state,
        "level": p.level,
        "light": p.light,
        "deadline": p.deadline.isoformat() if p.deadline else None,
        "deadline_provisional": p.deadline_provisional,
        "version": p.version,
        "attachments": list(p.attachment_ids),
        "warnings": list(p.warnings),
    }

    def render(d):
        line = (
            f"{p.code} 已{spec.label}：状态 {State(p.state).label}，层级 {Level(p.level).label}，{Light(p.light).label}"
        )
        if p.deadline:
            line += f"，办结时限 {p.deadline}"
            if p.deadline_provisional:
                line += "（暂定：该年节假日安排尚未公布，按法定节假日和周一至周五推算）"
        if p.attachment_ids:
            line += f"；附件 {len(p.attachment_ids)} 个（ID {'、'.join(map(str, p.attachment_ids))}）"
        click.echo(line)
        for warning in p.warnings:
            click.echo(f"提示：{warning}")

    emit(as_json, data, render)


@click.command("show", cls=Command)
@click.argument("code")
@json_option
@click.pass_obj
def show(app, code, as_json):
    """显示问题详情及完整历史。"""
    from commands.terminal import render_detail
    from service.problems import normalize_code
    from service.queries import problem_page

    page = problem_page(app.engine, normalize_code(code), app.actor(), app.rules, app.today())
    emit(as_json, {**page.detail, "actions": [a.name for a in page.actions]}, render_detail)


@click.command("list", cls=Command)
@options(*LEDGER_FILTERS)
@click.option(
    "--sort",
    default="code",
    show_default=True,
    help="排序：code、deadline、updated、light、state、level；前加 - 为倒序",
)
@click.option("--limit", type=click.IntRange(1, 1_000_000), help="最多显示多少条")
@json_option
@click.pass_obj
def list_cmd(app, state, level, unit, project, category, severity, light, overdue, open_only, q, sort, limit, as_json):
    """列出问题台账（带预警灯）。"""
    from commands.terminal import render_ledger
    from service import ledger

    lq = ledger_query(state, level, unit, project, category, severity, light, overdue, open_only, q, sort)
    emit(as_json, ledger.listing(app.engine, app.actor(), lq, app.today(), limit), render_ledger)


COMMANDS: list[click.Command] = [log, show, list_cmd, *[_action_command(ACTIONS[name]) for name in USER_ACTIONS]]
__all__ = ["COMMANDS", "LEDGER_FILTERS", "ledger_query", "printable"]
