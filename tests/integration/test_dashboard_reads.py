"""The reads that keep the dashboard and a search cheap at a million problems, on both databases, checked
against their definitions: a campaign's progress (two index reads) equals a count of its members one by
one; the chart's days summed by the database equal the tally's hours summed here; the dashboard and the
campaign card kept between page views equal a fresh count after every kind of write; a text search reads
the index, never every problem."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from models.db import reader, session
from models.tables import Problem, table_of
from service import campaigns, dashboard, directory, search, tally, write_stamp
from service.sweep import run_sweep
from tests.integration.conftest import assign
from workflow import deadlines as dl
from workflow.states import CLOCK_STATES, OPEN_STATES, State

pytestmark = [pytest.mark.integration, pytest.mark.pg]
PROJECT = "嘉润综合物流园区"
P = table_of(Problem)


def counted_one_by_one(engine, rules, c, today: date) -> dict:
    """The campaign's figures from its definition (logged within its dates, or included by hand)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(P.c.state, P.c.deadline, P.c.closed_at).where(campaigns.member_condition(c, rules))
        ).all()
    end = dl.after_day(c.end, rules)
    clock_states = {s.value for s in CLOCK_STATES}
    open_states = {s.value for s in OPEN_STATES}
    by_state = {s.value: sum(1 for r in rows if r.state == s.value) for s in State}
    return {
        "total": len(rows),
        "by_state": by_state,
        "overdue": sum(1 for r in rows if r.state in clock_states and r.deadline and r.deadline < today),
        "deadline_after_end": sum(1 for r in rows if r.state in open_states and r.deadline and r.deadline > c.end),
        "closed_by_end": sum(1 for r in rows if r.state == State.CLOSED.value and r.closed_at < end),
    }


def test_a_campaigns_progress_counts_every_member_once(svc, engine, rules, clock):
    clock.set("2023-10-20")  # before 冬季行动 (2023-11-01 – 2024-02-20): a member only by hand
    early = svc.log("town", PROJECT, "land", "行动前登记的问题", unit="ziranziyuan").code
    clock.set("2023-11-06")
    inside = [svc.log("town", PROJECT, "land", f"行动期间登记{n}", unit="ziranziyuan").code for n in range(5)]
    assign(svc, inside[0], deadline="2023-12-01")  # overdue by March
    assign(svc, inside[1], deadline="2024-03-20")  # after the campaign's end
    assign(svc, inside[2], deadline="2023-12-15")
    assign(svc, early, deadline="2024-01-10")
    clock.set("2023-12-10")
    svc.act("staff", inside[2], "resolve", resolution="已办结")
    svc.act("insp", inside[2], "close", rating="good")  # closed before the end
    clock.set("2024-03-01")  # after the end: logged now, not a member
    svc.log("town", PROJECT, "land", "行动结束后登记", unit="ziranziyuan")
    campaigns.include(engine, rules, "insp", "冬季行动", [early, inside[3]], clock())  # one of them twice over
    today = date(2024, 3, 1)
    got = campaigns.show(engine, rules, "insp", "冬季行动", today)
    with session(reader(engine)) as s:
        winter = campaigns.find(s, rules, "冬季行动")
    want = counted_one_by_one(engine, rules, winter, today)
    assert {k: got[k] for k in want} == want
    assert (want["total"], want["overdue"], want["deadline_after_end"], want["closed_by_end"]) == (6, 2, 1, 1)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kolkata"])  # a whole-hour offset and a half-hour one
def test_the_charts_days_summed_by_the_database_equal_the_hours_summed_here(svc, engine, clock, zone):
    codes = []
    for moment in ("2024-01-08T07:40", "2024-01-08T08:20", "2024-01-08T23:50", "2024-01-09T00:10", "2024-01-11T13:00"):
        clock.set(moment)
        codes.append(svc.log("town", PROJECT, "land", f"图表问题{len(codes)}", unit="ziranziyuan").code)
    assign(svc, codes[0], deadline="2024-01-30")
    clock.set("2024-01-10T05:00")
    svc.act("staff", codes[0], "resolve", resolution="已办结")
    svc.act("insp", codes[0], "close", rating="good")
    tz = ZoneInfo(zone)
    days = [date(2024, 1, 6) + timedelta(days=n) for n in range(8)]
    with session(reader(engine)) as s:
        totals, _ = tally.sums(s)
        for prefix in ("c|", "x|"):
            per_day = tally.per_day(totals, prefix, tz)
            want = [sum(n for d, n in per_day.items() if d <= day) for day in days]
            assert tally.cumulative(s, prefix, days, tz) == want
        assert tally.first_day(s, "c|", tz) == min(tally.per_day(totals, "c|", tz))
        assert tally.first_day(s, "c|", tz) != tally.first_day(s, "x|", tz)


def test_a_search_reads_the_index_not_every_problem(svc, engine):
    svc.log("town", PROJECT, "land", "泵站用地预审未批复", unit="ziranziyuan")
    for q in ("泵站用地", "泵站用地 批复", "预审未批复 泵站"):  # terms of two characters alone scan by design
        stmt = sa.select(P.c.id).where(search.condition(search.parse(q)))
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        assert not sql.rstrip().endswith("= 1"), sql  # a condition, not a value compared with true
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SET enable_seqscan = off"))  # a tiny table would be scanned anyway
                plan = "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + sql)))
                assert "Seq Scan on problem " not in plan, plan
            else:
                plan = "\n".join(r[-1] for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
                assert not re.search(r"\bSCAN problem\b(?!_)", plan), plan


def test_the_dashboards_campaign_card_is_counted_again_after_every_write(svc, engine, rules, clock):
    """The card is kept between page views and counted again when anything it shows may have changed: a
    problem logged, an action on one (state, deadline), a problem included by hand."""
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    today = date(2023, 12, 20)

    def card() -> dict:
        statements.clear()
        with session(reader(engine)) as s:
            (shown,) = campaigns.current(s, rules, today)
            winter = campaigns.find(s, rules, "冬季行动")
        want = counted_one_by_one(engine, rules, winter, today)
        assert {k: shown[k] for k in want} == want
        return shown

    clock.set("2023-11-06")
    codes = [svc.log("town", PROJECT, "land", f"卡片问题{n}", unit="ziranziyuan").code for n in range(2)]
    assert card()["total"] == 2
    with session(reader(engine)) as s:
        statements.clear()
        campaigns.current(s, rules, today)
    assert not any("GROUP BY problem.state" in sql for sql in statements)  # the kept card: no count
    assign(svc, codes[0], deadline="2023-12-01")
    assert card()["overdue"] == 1
    svc.act("staff", codes[0], "resolve", resolution="已办结")
    assert card()["overdue"] == 0 and card()["by_state"]["review"] == 1
    clock.set("2023-10-01")
    early = svc.log("town", PROJECT, "land", "行动前的问题", unit="ziranziyuan").code
    assert card()["total"] == 2
    campaigns.include(engine, rules, "insp", "冬季行动", [early], clock())
    assert card()["total"] == 3


def test_a_search_reads_its_matches_once_and_counts_them_past_the_cap_too(svc, engine, clock, monkeypatch):
    """Up to COUNT_CAP matches the page and the count share one read of the index; beyond it both ask the
    index themselves and the count says "more than". Either way the page is the same."""
    from service import ledger
    from service.ledger import LedgerQuery

    codes = [svc.log("town", PROJECT, "land", f"泵站用地问题{n}", unit="ziranziyuan").code for n in range(5)]
    svc.log("town", PROJECT, "land", "无关的问题", unit="ziranziyuan")
    assign(svc, codes[1], deadline="2024-03-01")
    today = date(2024, 1, 8)

    def look(cap: int, **kw) -> ledger.LedgerPage:
        monkeypatch.setattr(ledger, "COUNT_CAP", cap)
        return ledger.browse(engine, "insp", LedgerQuery(q="泵站用地", per_page=2, **kw), today)

    within, past = look(10), look(3)
    assert [r["code"] for r in within.rows] == [r["code"] for r in past.rows] == codes[::-1][:2]
    assert (within.total, within.total_exact) == (5, True)
    assert (past.total, past.total_exact) == (3, False)
    assert (look(10, state="assigned").total, look(10, state="discovered").total) == (1, 4)
    following = ledger.browse(engine, "insp", LedgerQuery(q="泵站用地", per_page=2, cursor=within.next_cursor), today)
    assert [r["code"] for r in following.rows] == codes[::-1][2:4]


def test_the_kept_dashboard_equals_a_fresh_one_after_every_kind_of_write(svc, engine, rules, clock, monkeypatch):
    """The dashboard's figures are kept between page views and computed again when anything they show may
    have changed: a problem logged, an action (people, deadline, state), the sweep's lights, a unit renamed."""
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with session(engine) as s:
        inspector = directory.view(s).actor("insp")

    def shown() -> dict:
        today = clock().astimezone(rules.timezone).date()
        kept = dashboard.overview(engine, inspector, rules.timezone, today)
        with monkeypatch.context() as m:
            m.setattr(dashboard, "_OVERVIEWS", write_stamp.StampedCache())
            assert dashboard.overview(engine, inspector, rules.timezone, today) == kept
        return kept

    clock.set("2024-01-08T09:00")
    codes = [svc.log("town", PROJECT, "land", f"工作台问题{n}", unit="ziranziyuan").code for n in range(2)]
    assert shown()["c"]["total"] == 2
    statements.clear()
    dashboard.overview(engine, inspector, rules.timezone, clock().astimezone(rules.timezone).date())
    read = [sql for sql in statements if sql.startswith("SELECT")]
    assert len(read) == 1 and "max(event.id)" in read[0], statements  # the kept figures: only the stamp is read
    assign(svc, codes[0], deadline="2024-01-10")
    assert dict((s, n) for s, _, n in shown()["c"]["states"])["assigned"] == 1
    clock.set("2024-01-12T09:00")
    run_sweep(engine, rules, clock())  # past its deadline: overdue, the light yellow
    assert [r["code"] for r in shown()["red"]] == []
    clock.set("2024-03-01T09:00")
    run_sweep(engine, rules, clock())  # long past it: escalated, the light red
    assert [r["code"] for r in shown()["red"]] == [codes[0]]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE unit SET name = '县规划和自然资源局' WHERE code = 'ziranziyuan'"))
    assert shown()["red"][0]["responsible_unit"] == "县规划和自然资源局"
    svc.act("staff", codes[0], "resolve", resolution="已办结")
    assert dict((s, n) for s, _, n in shown()["c"]["states"])["review"] == 1


def test_a_kept_value_is_made_again_after_max_age_even_when_the_stamp_holds(engine):
    now = [0.0]
    cache = write_stamp.StampedCache(size=2, clock=lambda: now[0])
    made: list[str] = []

    def make(key: str):
        return lambda: made.append(key) or len(made)

    with session(engine) as s:
        stamp = write_stamp.read(s)
        assert cache.get_or_make(s, "a", stamp, make("a")) == 1
        assert cache.get_or_make(s, "a", stamp, make("a")) == 1  # kept
        now[0] = write_stamp.MAX_AGE + 1
        assert cache.get_or_make(s, "a", stamp, make("a")) == 2  # too old
        assert cache.get_or_make(s, "a", (*stamp[:-1], -1), make("a")) == 3  # another stamp
        cache.get_or_make(s, "b", stamp, make("b"))
        cache.get_or_make(s, "c", stamp, make("c"))  # size 2: "a", the least recently used, goes
        assert cache.get_or_make(s, "a", (*stamp[:-1], -1), make("a")) == 6
    assert made == ["a", "a", "a", "b", "c", "a"]
