"""Keyset paging on both databases: walking every sort forwards and backwards by cursor gives exactly the
ledger's order, rows logged between two pages do not shift them, every batch walk agrees, and a forged,
stale or mismatched cursor is refused as bad input naming the field. Also the dashboard's tally against a
count of the ledger, and the shared login throttle."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models.db import make_engine, reader, session
from service import directory, ledger, login_throttle, tally
from service.dashboard import open_closed_series
from service.ledger import LedgerQuery
from service.ledger_rows import ledger_select
from tests.integration.conftest import assign
from workflow.errors import InvalidValue

pytestmark = [pytest.mark.integration, pytest.mark.pg]
PROJECT = "嘉润综合物流园区"
SORTS = ["-code", "code", "deadline", "-deadline", "light", "-light", "state", "-updated", "level"]


@pytest.fixture
def today(clock, rules):
    return clock().astimezone(rules.timezone).date()


@pytest.fixture
def varied(svc, clock):
    """23 problems: some only logged (no deadline), some assigned with deadlines that repeat, one escalated,
    one resolved and closed — NULLs and ties in every sort key."""
    codes = []
    for n in range(23):
        p = svc.log("town", PROJECT, "land", f"分页测试问题{n:02d}", unit="ziranziyuan")
        codes.append(p.code)
        if n % 3:
            deadline = (clock() + timedelta(days=14 + 7 * (n % 4))).date().isoformat()
            assign(svc, p.code, deadline=deadline)
        clock.now += timedelta(minutes=5)
    svc.act("insp", codes[1], "supervise", reason="督办")
    svc.act("insp", codes[2], "escalate", reason="升级")
    svc.act("staff", codes[4], "resolve", resolution="已办结")
    svc.act("insp", codes[4], "close", rating="good")
    return codes


def read(engine, lq: LedgerQuery, today) -> ledger.LedgerPage:
    return ledger.browse(engine, "insp", lq, today)


def numbered(engine, lq: LedgerQuery, today) -> list[str]:
    """Every row by page number (OFFSET), the reference order."""
    out, n = [], 1
    while True:
        page = read(engine, LedgerQuery(**{**lq.__dict__, "page": n}), today)
        out += [r["code"] for r in page.rows]
        if not page.next_cursor:
            return out
        n += 1


def test_cursor_walk_matches_the_order_both_ways(engine, varied, today):
    for sort in SORTS:  # one ledger for every sort: each walk is a read
        _walk(engine, varied, today, sort)


def _walk(engine, varied, today, sort: str) -> None:
    lq = LedgerQuery(sort=sort, per_page=4)
    expected = numbered(engine, lq, today)
    assert sorted(expected) == sorted(varied), sort
    pages, page = [], read(engine, lq, today)
    while True:
        pages.append([r["code"] for r in page.rows])
        assert page.position == len(pages), sort
        if not page.next_cursor:
            break
        page = read(engine, LedgerQuery(sort=sort, per_page=4, cursor=page.next_cursor), today)
    assert [c for p in pages for c in p] == expected, sort
    # And back from the last page to the first by the previous-page cursors.
    back = [[r["code"] for r in page.rows]]
    while page.prev_cursor:
        page = read(engine, LedgerQuery(sort=sort, per_page=4, cursor=page.prev_cursor), today)
        back.append([r["code"] for r in page.rows])
    assert back[::-1] == pages, sort
    # The batch walk (exports, duban list) agrees, in batches smaller than a page.
    with session(reader(engine)) as s:
        valid = lq.validated(directory.view(s))
        walked = [r.code for r in ledger.batches(s, ledger_select(), valid, today, size=3)]
    assert walked == expected, sort


def test_search_results_page_by_cursor_in_rank_order(engine, svc, varied, today):
    other = svc.log("town", PROJECT, "other", "另一个问题", unit="ziranziyuan").code
    svc.act("insp", other, "note", text="与分页测试问题相关")
    lq = LedgerQuery(q="分页测试问题", per_page=5)
    expected = numbered(engine, lq, today)
    assert len(expected) == 24 and expected[-1] == other  # the newest, but found only in a note: ranked last
    assert expected[:-1] == sorted(varied, reverse=True)
    page, seen = read(engine, lq, today), []
    while True:
        seen += [r["code"] for r in page.rows]
        if not page.next_cursor:
            break
        page = read(engine, LedgerQuery(q="分页测试问题", per_page=5, cursor=page.next_cursor), today)
    assert seen == expected


def test_rows_logged_between_pages_do_not_shift_the_next_page(engine, svc, varied, today):
    first = read(engine, LedgerQuery(per_page=5), today)
    for n in range(3):  # newer codes: they sort before everything already shown
        svc.log("town", PROJECT, "other", f"翻页期间新登记{n}", unit="ziranziyuan")
    second = read(engine, LedgerQuery(per_page=5, cursor=first.next_cursor), today)
    shown = [r["code"] for r in first.rows]
    assert [r["code"] for r in second.rows] == sorted(varied, reverse=True)[5:10]
    assert not set(shown) & {r["code"] for r in second.rows}
    # Going back from the second page shows the newcomers too: the page before it now starts with them.
    back = read(engine, LedgerQuery(per_page=5, cursor=second.prev_cursor), today)
    assert [r["code"] for r in back.rows] == shown


def _tampered(cursor: str, change) -> str:
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    change(raw)
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def test_bad_cursors_and_deep_page_numbers_are_refused_naming_the_field(engine, varied, today):
    good = read(engine, LedgerQuery(per_page=5), today).next_cursor
    bad = [
        "x",
        "不是游标",
        "%%%%",
        "A" * 700,
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"[1,1,2]").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(json.dumps([[[[[[1]]]]]] * 3).encode()).decode(),
        _tampered(good, lambda r: r.__setitem__(0, 99)),  # another format version
        _tampered(good, lambda r: r.__setitem__(2, 0)),  # position out of range
        _tampered(good, lambda r: r.__setitem__(2, True)),
        _tampered(good, lambda r: r[4].__setitem__(0, 12345)),  # a number where the code goes
        _tampered(good, lambda r: r[4].__setitem__(0, None)),  # NULL where the key cannot be NULL
        _tampered(good, lambda r: r[4].append("WT-2024-0001")),  # one key too many
        _tampered(good, lambda r: r.__setitem__(3, "0" * 16)),  # made for other filters
    ]
    for cursor in bad:
        with pytest.raises(InvalidValue, match="翻页位置") as info:
            read(engine, LedgerQuery(per_page=5, cursor=cursor), today)
        assert info.value.field == "cursor", cursor
    # A real cursor, but for another sort or other filters: stale for this query.
    for other in (LedgerQuery(sort="code", cursor=good), LedgerQuery(state="assigned", cursor=good)):
        with pytest.raises(InvalidValue, match="翻页位置"):
            read(engine, other, today)
    # Page size may change between pages: the cursor is about where, not how many.
    assert len(read(engine, LedgerQuery(per_page=2, cursor=good), today).rows) == 2
    with pytest.raises(InvalidValue, match="下一页") as info:
        read(engine, LedgerQuery(page=ledger.MAX_PAGE + 1), today)
    assert info.value.field == "page"
    with pytest.raises(InvalidValue, match="只能指定一个"):
        read(engine, LedgerQuery(page=2, cursor=good), today)
    # A deadline cursor with a date that does not exist.
    dl = read(engine, LedgerQuery(sort="deadline", per_page=5), today).next_cursor
    with pytest.raises(InvalidValue):
        read(
            engine,
            LedgerQuery(sort="deadline", cursor=_tampered(dl, lambda r: r[4].__setitem__(0, "2024-02-30"))),
            today,
        )


def test_the_tally_equals_a_count_of_the_ledger_after_every_kind_of_write(engine, svc, varied, rules, today):
    def counted():
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT state, level, light, count(*) FROM problem GROUP BY 1, 2, 3")).all()
        return Counter({(s, lv, li): n for s, lv, li, n in rows})

    def tallied():
        with session(reader(engine)) as s:
            return +tally.by_state(tally.sums(s)[0])

    assert tallied() == counted()
    from service.sweep import run_sweep

    run_sweep(engine, rules, svc.clock() + timedelta(days=90))  # lights, escalations
    assert tallied() == counted()
    with engine.begin() as conn:  # a deletion (a restore replacing data deletes every problem)
        conn.execute(sa.text("DELETE FROM notice"))
        conn.execute(sa.text("DELETE FROM event WHERE problem_id = (SELECT max(id) FROM problem)"))
        conn.execute(sa.text("DELETE FROM problem WHERE id = (SELECT max(id) FROM problem)"))
    assert tallied() == counted()
    with session(reader(engine)) as s:
        totals, rows = tally.sums(s)
        before = open_closed_series(s, rules.timezone, today)
    assert rows > len(totals)
    removed = tally.compact(engine)
    assert removed == rows
    with session(reader(engine)) as s:
        after_totals, after_rows = tally.sums(s)
        assert open_closed_series(s, rules.timezone, today) == before
    assert after_totals == totals and after_rows == len(totals)
    assert tally.compact(engine, patient=False) == after_rows  # again: nothing changes
    assert tallied() == counted()
    # The closed series: the closed problem is counted on its local closing day.
    with session(reader(engine)) as s:
        closed = tally.per_day(tally.sums(s)[0], "x|", rules.timezone)
    assert sum(closed.values()) == 1


def test_failed_sign_ins_are_shared_by_every_process(engine):
    """Every worker asks the same table, so failures counted by one process lock the pair out in all."""
    now = datetime(2024, 1, 8, 1, 0, tzinfo=UTC)
    policy = login_throttle.ThrottlePolicy(per_login=3, per_ip=100, window=timedelta(seconds=600))
    other = make_engine(engine.url.render_as_string(hide_password=False))  # a second process's engine
    try:
        login_throttle.failed(engine, "Staff", "10.0.0.1", now, policy)
        login_throttle.failed(other, "staff", "10.0.0.1", now, policy)
        assert login_throttle.check(engine, "staff", "10.0.0.1", now, policy).retry_after == 0
        login_throttle.failed(engine, "staff ", "10.0.0.1", now, policy)
        assert login_throttle.check(other, "staff", "10.0.0.1", now, policy) == login_throttle.Verdict(600, "login")
        assert login_throttle.check(other, "staff", "10.0.0.2", now, policy).retry_after == 0
        assert login_throttle.check(other, "head", "10.0.0.1", now, policy).retry_after == 0
        assert login_throttle.check(engine, "staff", "10.0.0.1", now + timedelta(seconds=599), policy).retry_after == 1
        later = now + timedelta(seconds=600)
        assert login_throttle.check(engine, "staff", "10.0.0.1", later, policy).retry_after == 0  # window passed
        login_throttle.failed(other, "staff", "10.0.0.1", later, policy)  # purges what left the window
        login_throttle.succeeded(other, "staff", "10.0.0.1")
        assert login_throttle.check(engine, "staff", "10.0.0.1", later, policy).retry_after == 0
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM login_failure")).scalar() == 0
    finally:
        other.dispose()
