"""Text search on both databases: what is found (every text of a problem, project and unit names), the rank,
the index kept in the write's own transaction (and untouched by a refused write), hostile search strings,
short terms, highlighting, and ``duban db reindex``'s service."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.db import session
from service import directory, ledger, search
from service.ledger import LedgerQuery
from service.maintenance import reindex
from workflow.errors import InvalidValue, PermissionDenied

pytestmark = [pytest.mark.integration, pytest.mark.pg]
PROJECT = "嘉润综合物流园区"


def find(engine, q: str, today, **kw) -> list[str]:
    return [r["code"] for r in ledger.browse(engine, "insp", LedgerQuery(q=q, **kw), today).rows]


def lookup(engine, q: str, today) -> ledger.LedgerPage:
    return ledger.browse(engine, "insp", LedgerQuery(q=q), today)


@pytest.fixture
def today(clock, rules):
    return clock().astimezone(rules.timezone).date()


@pytest.fixture
def ledger3(svc):
    """Three problems whose words sit in different places."""
    a = svc.log("town", PROJECT, "land", "泵站用地预审未批复", unit="ziranziyuan", description="涉及基本农田调整")
    b = svc.log("town", PROJECT, "permit", "林地手续办理缓慢", unit="ziranziyuan")
    c = svc.log("town", PROJECT, "other", "施工便道阻工", unit="dingdian", description="村民反映泵站噪声")
    return a.code, b.code, c.code


def test_every_text_of_a_problem_is_found_by_any_fragment(svc, engine, ledger3, today):
    a, b, c = ledger3
    svc.act("insp", b, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    svc.act("staff", b, "feedback", text="已完成林木采伐许可公示")
    svc.act("insp", b, "note", text="请县林业局协调征求意见稿")
    assert find(engine, "用地预审", today) == [a]  # title
    assert find(engine, "基本农田", today) == [a]  # description
    assert find(engine, "采伐许可", today) == [b]  # feedback (progress)
    assert find(engine, "征求意见", today) == [b]  # a note in the audit log
    assert find(engine, "物流园区", today) == [c, b, a]  # the project's name
    assert find(engine, "自然资源", today) == [b, a]  # the responsible unit's name
    assert find(engine, a.lower(), today) == [a]  # the code, in any case
    assert find(engine, "泵站 噪声", today) == [c]  # every term must appear
    assert find(engine, "没有这个词", today) == []
    svc.act("staff", b, "resolve", resolution="取得林地使用批复文件")
    assert find(engine, "使用批复", today) == [b]  # resolution


def test_rank_exact_code_then_title_then_the_rest(svc, engine, ledger3, today):
    a, b, c = ledger3
    # "泵站" is in a's title and c's description: the title match comes first whatever the sort.
    assert find(engine, "泵站噪", today) == [c]
    page = lookup(engine, "泵站", today)
    assert [r["code"] for r in page.rows] == [a, c] and [r["rank"] for r in page.rows] == ["title", "text"]
    assert find(engine, "泵站", today, sort="code") == [a, c]
    # A code typed exactly comes first, before problems that merely mention it.
    svc.act("insp", c, "note", text=f"与 {b} 同一地块")
    assert find(engine, b, today) == [b, c]


def test_highlight_marks_every_match_and_a_snippet_where_the_title_has_none(engine, ledger3, today):
    a, _, c = ledger3
    rows = {r["code"]: r for r in lookup(engine, "泵站", today).rows}
    assert rows[a]["title_marks"] == [("泵站", True), ("用地预审未批复", False)]
    assert rows[a]["snippet"] == []
    assert rows[c]["title_marks"] == [("施工便道阻工", False)]
    assert ("泵站", True) in rows[c]["snippet"] and "".join(t for t, _ in rows[c]["snippet"]).startswith("村民反映")


def test_the_index_follows_each_write_in_its_own_transaction(svc, engine, ledger3, today):
    a, b, _ = ledger3
    svc.act("insp", b, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    with pytest.raises(PermissionDenied):
        svc.act("town", b, "feedback", text="越权写入的反馈内容")  # refused: nothing written
    assert find(engine, "越权写入", today) == []
    # A write rolled back after the trigger ran leaves no trace in the index either.
    with session(engine) as s:
        with pytest.raises(RuntimeError), s.begin():
            s.execute(sa.text("UPDATE problem SET description = '回滚之前的描述' WHERE code = :c"), {"c": a})
            # Inside the transaction the index already has the new text (the trigger ran with the UPDATE)…
            view = directory.view(s)
            inside = LedgerQuery(q="回滚之前").validated(view)
            assert [r["code"] for r in ledger.page(s, inside, today, view).rows] == [a]
            raise RuntimeError("roll back")
    assert find(engine, "回滚之前", today) == []  # … and the rollback took it away with the UPDATE
    # Renaming a project or a unit reaches every problem's document in the same transaction.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE project SET name = '阳城县泵站改造工程' WHERE name = :n"), {"n": PROJECT})
        conn.execute(sa.text("UPDATE unit SET name = '县规划和自然资源局' WHERE code = 'ziranziyuan'"))
    assert len(find(engine, "泵站改造工程", today)) == 3
    assert find(engine, "物流园区", today) == []
    assert find(engine, "规划和自然", today) == [b, a]


HOSTILE = [
    "%",
    "_",
    "\\",
    "100%",
    "a_b",
    "'",
    '"',
    '""',
    "' OR 1=1 --",
    'NEAR("泵站" "用地", 2)',
    "泵站 AND 用地",
    "泵站 OR",
    "NOT 泵站",
    "泵站*",
    "*",
    "^泵站",
    "title:泵站",
    "{doc notes}:泵站",
    "(泵站",
    "😀",
    "泵站😀🚧",
    "ＷＴ－２０２４",
    "    ",
    "\u200b泵站\u200b",
    "泵站\t用地",
    "泵站\n用地",
]


def test_hostile_search_strings_give_results_never_an_error(engine, ledger3, today):
    for q in HOSTILE:  # one ledger for all of them: each search is a read
        page = lookup(engine, q, today)
        assert isinstance(page.rows, list), q


def test_hostile_strings_are_data(svc, engine, today):
    odd = svc.log("town", PROJECT, "other", '含 100% 与 a_b 和 "引号" NEAR 的标题', unit="ziranziyuan")
    plain = svc.log("town", PROJECT, "other", "普通标题 100 ab", unit="ziranziyuan")
    assert find(engine, "100%", today) == [odd.code]
    assert find(engine, "a_b", today) == [odd.code]
    assert find(engine, '"引号"', today) == [odd.code]
    assert find(engine, "NEAR", today) == [odd.code]
    assert find(engine, "%", today) == [odd.code] and find(engine, "_", today) == [odd.code]
    assert plain.code in find(engine, "100", today)


UNUSABLE = [
    ("泵" * 101, "搜索词过长"),
    ("泵" * 1000, "搜索词过长"),
    ("泵站\x01", "控制字符"),
    ("\x1b[31m", "控制字符"),
    ("\x7f", "控制字符"),
    (" ".join(f"词{i}" for i in range(9)), "搜索词过多"),
]


def test_unusable_search_strings_are_refused_with_a_clear_message(engine, ledger3, today):
    for q, message in UNUSABLE:
        with pytest.raises(InvalidValue, match=message) as info:
            lookup(engine, q, today)
        assert info.value.field == "q", q


def test_short_terms_scan_only_the_most_recent_problems_and_say_so(svc, engine, today, monkeypatch):
    old = svc.log("town", PROJECT, "land", "泵站一号", unit="ziranziyuan").code
    recent = [svc.log("town", PROJECT, "land", f"泵站{n}号", unit="ziranziyuan").code for n in "二三"]
    page = lookup(engine, "泵站", today)
    assert {r["code"] for r in page.rows} == {old, *recent} and not page.bounded
    monkeypatch.setattr(search, "SHORT_SCAN", 2)
    page = lookup(engine, "泵站", today)
    assert [r["code"] for r in page.rows] == recent[::-1] and page.bounded
    # A term of three characters or more goes through the index: every problem, not bounded.
    page = lookup(engine, "泵站一", today)
    assert [r["code"] for r in page.rows] == [old] and not page.bounded
    # Short terms beside a long one only narrow what the index found.
    page = lookup(engine, "号 泵站一", today)
    assert [r["code"] for r in page.rows] == [old] and not page.bounded


def test_reindex_rebuilds_a_damaged_index_and_the_tally(svc, engine, ledger3, today):
    a, b, c = ledger3
    svc.act("insp", b, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    svc.act("insp", b, "note", text="重建前写下的备注")
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM problem_search"))
        conn.execute(sa.text("DELETE FROM ledger_tally"))
    assert find(engine, "重建前写下", today) == []
    result = reindex(engine)
    assert result["documents"] == 3 and result["tally_keys"] > 0
    assert find(engine, "重建前写下", today) == [b]
    assert find(engine, "物流园区", today) == [c, b, a]
    # The triggers are back after the rebuild.
    svc.act("insp", b, "note", text="重建后写下的备注")
    assert find(engine, "重建后写下", today) == [b]
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT sum(n) FROM ledger_tally WHERE key LIKE 's|%'")).scalar()
    assert n == 3, dialect
