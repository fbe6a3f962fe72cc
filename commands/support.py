"""What every command module shares: the per-invocation ``App`` (settings, lazily built engine, rules and
services), click classes whose help is Chinese, ``--json`` output, and how an error is worded for a person at
a terminal (``describe``). Imports click only at module level: ``duban --help`` must start fast.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from functools import cached_property
from typing import Any

import click

from workflow.text import printable as text_printable

DEMO_PASSWORD = "duban-demo-2024"  # sample data only: `init --sample` sets it for the fictional users


class App:
    """Per-invocation settings (the global options) and lazily built engine, rules and services."""

    def __init__(self, db: str | None, rules: str | None, user: str | None, at: str | None):
        self.db_url, self.rules_path, self.user, self.at = db, rules, user, at

    @cached_property
    def rules(self):
        from workflow.rules import load_rules

        return load_rules(self.rules_path)

    @cached_property
    def engine(self):
        from models.db import make_engine

        return make_engine(self.db_url)

    @cached_property
    def now(self) -> datetime:
        from datetime import UTC

        if not self.at:
            return datetime.now(UTC)
        return parse_at(self.at, self.rules.timezone, "at")

    def clock(self) -> datetime:
        return self.now

    @cached_property
    def service(self):
        from service.problems import ProblemService

        return ProblemService(self.engine, self.rules, self.clock)

    @cached_property
    def admin(self):
        from service.directory_admin import DirectoryAdmin

        return DirectoryAdmin(self.engine, self.clock)

    def actor(self) -> str:
        """The acting user's login (--as / DUBAN_USER); refused when missing."""
        if not self.user:
            from workflow.errors import MissingField

            raise MissingField("请指定当前用户（如 admin）", field="actor")
        return self.user

    def today(self):
        return self.now.astimezone(self.rules.timezone).date()

    def session(self):
        from models.db import session

        return session(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def parse_at(text: str, tz, field: str) -> datetime:
    """ISO 8601; a time without offset is local (Asia/Shanghai); a bare date means 09:00 local."""
    from workflow.dates import check_window
    from workflow.errors import InvalidValue

    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(
            f"时间「{text}」不是 ISO 8601 时间，应形如 2024-02-08T09:00 或 2024-02-08", field=field, value=text
        ) from None
    check_window(value, "时间", field, shown=text)  # before any arithmetic: 9999-12-31 + 8 h overflows
    if len(raw) == 10:
        value = value.replace(hour=9)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    check_window(value.astimezone(tz), "时间", field, shown=text)
    return value


# -- click classes ------------------------------------------------------------------------------------------


class _ChineseHelp:
    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = "显示帮助并退出"
        return option


class Command(_ChineseHelp, click.Command):
    """A click command whose --help is Chinese and whose errors learn which option they are about."""

    def invoke(self, ctx):
        from workflow.errors import DubanError

        try:
            return super().invoke(ctx)
        except DubanError as exc:
            exc.cli_option = option_for(ctx, exc.field)  # type: ignore[attr-defined]
            raise


class Group(_ChineseHelp, click.Group):
    """A click group whose commands and sub-groups are the Chinese-help kinds too."""

    command_class = Command
    group_class = type  # sub-groups are Groups too


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")(f)


def options(*decorators):
    """Apply click option decorators given as a list (top one first)."""

    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


# -- errors, worded for the command line ---------------------------------------------------------------------

# Fields whose option is named otherwise on the command line.
_FIELD_OPTION = {"actor": "--as / DUBAN_USER", "at": "--at / DUBAN_NOW", "db": "--db / DUBAN_DB"}
# Where to look next, per field that was not found.
_LIST_HINTS = {
    "code": "运行 duban list 查看全部问题",
    "unit": "运行 duban unit list 查看全部单位",
    "person": "运行 duban user list 查看全部用户",
    "leader": "运行 duban user list 查看全部用户",
    "login": "运行 duban user list 查看全部用户",
    "actor": "运行 duban user list 查看全部用户",
    "project": "运行 duban project list 查看全部项目，或先用 duban project add 登记",
    "token": "运行 duban token list 查看",
}


def option_for(ctx: click.Context, field: str | None) -> str | None:
    """The command-line option (or argument) that supplied ``field``, searching the command then its parents."""
    if not field:
        return None
    if field in _FIELD_OPTION:
        return _FIELD_OPTION[field]
    c: click.Context | None = ctx
    while c is not None:
        for param in c.command.params:
            if param.name == field:
                if isinstance(param, click.Argument):
                    return None  # the message already quotes the value given
                longs = [o for o in param.opts if o.startswith("--")]
                return longs[0] if longs else param.opts[0]
        c = c.parent
    return None


def describe(exc) -> str:
    """A domain error as one line for the terminal: the option named where the message names the field,
    and where to look when something was not found."""
    message = exc.message
    option = getattr(exc, "cli_option", None)
    if option:
        mark = f"（{option}）"
        label = getattr(exc, "label", None)
        if label and label in message:
            message = message.replace(label, label + mark, 1)
        else:
            message += mark
    if getattr(exc, "code", "") == "not_found" and exc.field in _LIST_HINTS:
        message += f"；{_LIST_HINTS[exc.field]}"
    return printable(message)


# -- output -------------------------------------------------------------------------------------------------


def printable(text: Any) -> str:
    """Text for a terminal: control, bidi and invisible characters shown escaped (``\\x1b``), never sent raw
    (``workflow.text.printable``, the text gate's other half)."""
    return text_printable(str(text))


def emit(as_json: bool, data, render) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        render(data)


def emit_table(as_json: bool, rows: list[dict], headers: list[str], cells) -> None:
    """Rows as JSON, or as a table whose row ``r`` shows ``cells(r)``."""
    emit(as_json, rows, lambda data: table(headers, [cells(r) for r in data]))


def console():
    """A Rich console wide enough for Chinese tables even when output goes to a pipe or a file."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def table(headers: list[str], rows: list[list], title: str | None = None) -> None:
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title)
    for h in headers:
        t.add_column(h)
    for r in rows:
        t.add_row(*[Text(printable(c)) for c in r])  # Text: a value is never read as Rich markup
    console().print(t)
