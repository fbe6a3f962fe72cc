"""The text gate on the command line: a title, note or directory name holding a control, bidi or invisible
character is refused with one Chinese line naming the field (and its option), nothing changes; and text stored
before the gate existed is shown to the operator escaped, never as live terminal control sequences."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.db import make_engine
from models.tables import Problem
from tests import backends
from tests.acceptance.test_winter import setup_county

pytestmark = pytest.mark.acceptance

AT = "2024-01-09T09:00"
PROJECT = "嘉润综合物流园区"


@pytest.fixture(scope="module", params=backends.BACKENDS)
def template(request, tmp_path_factory):
    from tests.acceptance.conftest import Duban

    folder = tmp_path_factory.mktemp("county")
    duban = Duban(backends.new_database_url(request.param, folder), folder)
    setup_county(duban)
    args = ("log", "--project", PROJECT, "--category", "land", "--title", "用地预审")
    code = duban(*args, at="2024-01-08T09:00", user="xu.kfq").stdout.strip()
    return duban, code


@pytest.fixture
def county(template, tmp_path):
    duban, code = template
    return duban.copy_to(tmp_path), code


CASES = [
    (
        ["log", "--project", PROJECT, "--category", "land", "--title", "清屏\x1b[2J"],
        ["问题标题（--title）", "控制字符"],
    ),
    (["log", "--project", PROJECT, "--category", "land", "--title", "第一行\n第二行"], ["只能是一行文字"]),
    (["log", "--project", PROJECT, "--category", "land", "--title", "invoice\u202egnp.exe"], ["文字方向控制符"]),
    (["log", "--project", PROJECT, "--category", "land", "--title", "零\u200b宽"], ["不可见字符", "U+200B"]),
    (["log", "--project", PROJECT, "--category", "land", "--title", "长" * 201], ["过长", "最多 200"]),
    (["note", "{code}", "--text", "备注\x07响铃"], ["备注内容", "控制字符"]),
    (["user", "add", "newbie", "--name", "王" * 10_000, "--unit", "督查室", "--role", "staff"], ["姓名", "最多 64"]),
    (["unit", "add", "newunit", "--name", "新\u202e单位", "--kind", "town"], ["单位名称", "文字方向控制符"]),
    (["project", "add", "新\x01项目", "--unit", "kaifaqu"], ["项目名称", "控制字符"]),
]


@pytest.mark.parametrize("args,fragments", CASES, ids=[f"{c[0][0]}-{i}" for i, c in enumerate(CASES)])
def test_hostile_text_is_refused_and_changes_nothing(county, args, fragments):
    duban, code = county
    before = duban.dump()
    result = duban(*[a.replace("{code}", code) for a in args], ok=False, at=AT)
    assert result.returncode == 2, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr  # the value is echoed escaped
    assert duban.dump() == before


def test_clean_text_is_normalised_before_it_is_stored(county):
    duban, _ = county
    code = duban(
        "log", "--project", PROJECT, "--category", "land", "--title", "  e\u0301 全角 ", at=AT, user="xu.kfq"
    ).stdout.strip()
    assert duban.json("show", code)["title"] == "\u00e9 全角"  # NFC, ends trimmed, inner space kept


def test_old_rows_are_shown_escaped_on_the_terminal(county):
    duban, code = county
    engine = make_engine(duban.db)
    with engine.begin() as conn:  # as a row stored before the text gate existed
        conn.execute(sa.update(Problem.__table__).where(Problem.__table__.c.code == code).values(title="旧\x1b[2J标题"))
    engine.dispose()
    for args in (("show", code), ("list",)):
        out = duban(*args, at=AT).stdout
        assert "\x1b" not in out and "\\x1b[2J" in out, out
