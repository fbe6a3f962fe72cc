"""duban — the command line's entry point: the global options, the command groups (each in its own module
under ``commands/``, each a thin call into ``service``), and how an error becomes one Chinese line and an
exit code. Command modules import their heavy dependencies lazily so that ``duban --help`` starts fast.

Exit codes: 0 success; 1 a domain error without a more specific code; 2 bad input (also usage errors);
3 not found; 4 not permitted; 5 not allowed in the problem's state; 6 changed by someone else; 7 rules file
invalid; 8 conflict with existing data; 9 delivery stopped; 10 database unreachable or not initialised;
70 internal error; 130 cancelled.
"""

from __future__ import annotations

import os
import sys

import click

from commands.support import App, Group, describe

CONTEXT = dict(help_option_names=["-h", "--help"], max_content_width=100)


@click.group(cls=Group, context_settings=CONTEXT)
@click.option(
    "--db", envvar="DUBAN_DB", metavar="URL", help="数据库 URL（环境变量 DUBAN_DB；默认 sqlite:///var/duban.db）"
)
@click.option(
    "--rules",
    "rules_path",
    envvar="DUBAN_RULES",
    metavar="PATH",
    help="规则文件（DUBAN_RULES；默认 escalation_rules.toml）",
)
@click.option(
    "--as", "user", envvar="DUBAN_USER", metavar="LOGIN", help="当前用户登录名（DUBAN_USER），用于权限检查与审计"
)
@click.option(
    "--at", envvar="DUBAN_NOW", metavar="DATETIME", help="模拟“当前时间”（DUBAN_NOW），ISO 8601，无时区按北京时间"
)
@click.version_option("0.1.0", prog_name="duban", message="%(prog)s %(version)s", help="显示版本并退出")
@click.pass_context
def main_group(ctx, db, rules_path, user, at):
    """督办 duban：项目问题台账“发现—交办—督办—销号”闭环管理。"""
    ctx.obj = App(db, rules_path, user, at)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from commands import channels, documents, evidence, operations, people, problems, reports, serve, setup

    for module in (setup, people, problems, evidence, operations, reports, documents, serve, channels):
        for command in module.COMMANDS:
            main_group.add_command(command)


_register()


# -- entry point: one Chinese line per error, never a traceback -------------------------------------------


def main(argv: list[str] | None = None) -> int:
    try:
        main_group.main(args=argv, prog_name="duban", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("已取消", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"错误：{_click_message(exc)}", err=True)
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001 — the last line of defence for people at a terminal
        return _report(exc)
    return 0


def _click_message(exc: click.ClickException) -> str:
    if isinstance(exc, click.MissingParameter):
        param = exc.param
        names = "/".join(param.opts) if param is not None and param.opts else (param.name if param else "")
        helptext = getattr(param, "help", None)
        return f"缺少必填参数 {names}" + (f"（{helptext}）" if helptext else "")
    if isinstance(exc, click.NoSuchOption):
        hint = f"，是否想用 {'、'.join(exc.possibilities)}" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{hint}；用 --help 查看用法"
    if isinstance(exc, click.BadParameter):
        name = "/".join(exc.param.opts) if exc.param is not None and exc.param.opts else "参数"
        return f"{name} 的值无效：{exc.message}"
    if isinstance(exc, click.UsageError):
        text = exc.format_message()
        if text.startswith("No such command"):
            return (
                f"没有这个命令：{text.split(chr(39))[1] if chr(39) in text else text}；运行 duban --help 查看全部命令"
            )
        if text.startswith("Got unexpected extra argument"):
            return f"多余的参数：{text.split('(')[-1].rstrip(')')}；含空格的值请加引号"
        return f"用法错误：{text}；用 --help 查看用法"
    return exc.format_message()


def _report(exc: Exception) -> int:
    from workflow.errors import DubanError

    if isinstance(exc, DubanError):
        click.echo(f"错误：{describe(exc)}", err=True)
        return exc.exit_code
    from notifications.errors import NoticeError

    if isinstance(exc, NoticeError):
        click.echo(f"错误：{exc}", err=True)
        return 2
    import sqlalchemy.exc as sa_exc

    if isinstance(exc, (sa_exc.OperationalError, sa_exc.ProgrammingError)) and (
        "no such table" in str(exc) or type(getattr(exc, "orig", None)).__name__ == "UndefinedTable"
    ):
        click.echo("错误：数据库尚未初始化，请先运行 duban init", err=True)
        return 10
    if isinstance(exc, sa_exc.OperationalError):
        if os.environ.get("DUBAN_DEBUG"):
            import traceback

            traceback.print_exception(exc)
        click.echo(f"错误：无法访问数据库：{str(exc.orig).splitlines()[0] if exc.orig else exc}", err=True)
        return 10
    if isinstance(exc, sa_exc.ArgumentError):
        click.echo(f"错误：数据库 URL（--db / DUBAN_DB）无效：{exc}", err=True)
        return 2
    if os.environ.get("DUBAN_DEBUG"):
        raise exc
    click.echo(f"错误：内部错误（{type(exc).__name__}：{exc}）；设置 DUBAN_DEBUG=1 可查看详细信息", err=True)
    return 70


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
