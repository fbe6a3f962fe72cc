"""Pieces every command module shares (cli.py, reports/cli.py, web/cli.py). Imports click only."""

from __future__ import annotations

import click


class _ChineseHelp:
    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "显示帮助并退出"
        return option


class Command(_ChineseHelp, click.Command):
    """A click command whose --help is described in Chinese."""


class Group(_ChineseHelp, click.Group):
    """A click group whose commands and sub-groups are the Chinese-help kinds too."""

    command_class = Command
    group_class = type  # sub-groups are Groups too


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")(f)
