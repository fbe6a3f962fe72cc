"""The service on a real SQLite file: one transaction per action, audit events, outbox rows,
optimistic locking, the state guard, and an idempotent, index-driven sweep."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models.db import session
from models.guard import ProtectedField
from models.tables import Event, Notice, Problem
from service.sweep import due_query, run_sweep
from workflow.errors import InvalidTransition, NotFound, PermissionDenied, StaleVersion


def snapshot_db(engine):
    """Every row of the tables an action may touch, to prove a refused action wrote nothing."""
    with engine.connect() as c:
        return {t: c.execute(sa.text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in ("problem", "event", "notice")}


def log_and_assign(svc, **kw):
    p = svc.log("town", "嘉润综合物流园区", "land", "用地预审未批复", unit="ziranziyuan")
    return svc.act(
        "insp", p.code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股", **kw
    )


def test_codes_are_sequential_per_year(svc, clock):
    a = svc.log("town", "嘉润综合物流园区", "land", "甲")
    b = svc.log("town", "嘉润综合物流园区", "other", "乙")
    clock.set("2025-01-02")
    c = svc.log("town", "嘉润综合物流园区", "other", "丙")
    assert (a.code, b.code, c.code) == ("WT-2024-0001", "WT-2024-0002", "WT-2025-0001")


def test_every_action_leaves_an_audit_event_and_its_notices(svc, engine):
    p = log_and_assign(svc)
    assert p.state == "assigned" and p.level == "unit" and p.deadline is not None
    events = svc.history(p.id)
    assert [(e.action, e.from_state, e.to_state, e.actor) for e in events] == [
        ("log", None, "discovered", "town"),
        ("assign", "discovered", "assigned", "insp"),
    ]
    with session(engine) as s:
        notices = s.exec(select(Notice).where(Notice.problem_id == p.id)).all()
    by_login = {n.recipient_login: n for n in notices}
    assert set(by_login) == {"staff", "head"}
    assert all(n.kind == "assignment" and n.status == "pending" and n.event_id == events[-1].id for n in notices)


def test_refused_actions_write_nothing(svc, engine):
    p = log_and_assign(svc)
    before = snapshot_db(engine)
    with pytest.raises(PermissionDenied):
        svc.act("town", p.code, "resolve", resolution="办好了")  # another unit
    with pytest.raises(InvalidTransition):
        svc.act("insp", p.code, "close", rating="good")  # not in review
    with pytest.raises(NotFound):
        svc.act("insp", "WT-2024-9999", "ack")
    with pytest.raises(NotFound):
        svc.act("nobody", p.code, "ack")
    assert snapshot_db(engine) == before


def test_a_stale_version_is_rejected(svc, engine):
    p = log_and_assign(svc)
    svc.act("staff", p.code, "ack", expected_version=p.version)
    before = snapshot_db(engine)
    with pytest.raises(StaleVersion, match="已被他人修改"):
        svc.act("staff", p.code, "feedback", expected_version=p.version, text="过时的页面")
    assert snapshot_db(engine) == before


def test_concurrent_update_between_read_and_write_is_detected(svc, engine, rules, clock):
    """Two writers load the same version; the second UPDATE matches no row and nothing is written."""
    from service import directory
    from service.persist import persist
    from workflow.machine import fire

    p = log_and_assign(svc)
    with session(engine) as s:
        loaded = svc.load(s, p.code)
        actor = directory.view(s).actor("staff")
    svc.act("staff", p.code, "ack")  # someone else got there first
    outcome = fire("feedback", loaded.snap, actor, loaded.stake, clock(), rules, text="x")
    with session(engine) as s:
        with pytest.raises(StaleVersion):
            with s.begin():
                persist(s, [(loaded, [outcome])], actor, clock(), directory.view(s))
    assert [e.action for e in svc.history(p.id)] == ["log", "assign", "ack"]


def test_state_cannot_be_assigned_directly_and_events_are_append_only(svc, engine):
    p = log_and_assign(svc)
    with session(engine) as s:
        row = s.get(Problem, p.id)
        with pytest.raises(ProtectedField):
            row.state = "closed"
        with pytest.raises(ProtectedField):
            row.level = "government_meeting"
        event = s.exec(select(Event)).first()
        event.comment = "篡改"
        with pytest.raises(ProtectedField):
            s.commit()


def test_people_without_email_get_an_undeliverable_row_not_silence(svc, engine):
    p = svc.log("town", "嘉润综合物流园区", "land", "无邮箱")
    p = svc.act("insp", p.code, "assign", unit="ziranziyuan", person="noemail", leader="head", section="耕地保护股")
    with session(engine) as s:
        rows = {n.recipient_login: n for n in s.exec(select(Notice).where(Notice.problem_id == p.id)).all()}
    assert rows["noemail"].status == "undeliverable" and "没有登记邮箱" in rows["noemail"].last_error
    assert rows["head"].status == "pending"


def test_sweep_twice_at_the_same_time_changes_nothing_the_second_time(svc, engine, rules, clock):
    codes = [log_and_assign(svc).code for _ in range(3)]
    clock.set("2024-03-01")
    first = run_sweep(engine, rules, clock())
    assert first.actions["escalate"] == 3
    before = snapshot_db(engine)
    second = run_sweep(engine, rules, clock())
    assert second.selected == 0 and not second.actions
    assert snapshot_db(engine) == before
    for code in codes:
        assert svc.get(code).level == "county_leader"


def test_a_replayed_escalation_adds_no_second_notice(svc, engine, rules, clock):
    """Even if the same escalation were computed twice, its outbox rows' unique keys keep one copy."""
    from service.recipients import insert_new_notices

    log_and_assign(svc)
    clock.set("2024-03-01")
    run_sweep(engine, rules, clock())
    with session(engine) as s:
        rows = s.exec(select(Notice).where(Notice.kind == "escalation")).all()
        again = [{c: getattr(n, c) for c in Notice.__table__.c.keys() if c != "id"} for n in rows]
    assert rows
    with session(engine) as s, s.begin():
        assert insert_new_notices(s, again) == 0
    with session(engine) as s:
        assert len(s.exec(select(Notice).where(Notice.kind == "escalation")).all()) == len(rows)


def test_dry_run_writes_nothing(svc, engine, rules, clock):
    log_and_assign(svc)
    clock.set("2024-03-01")
    before = snapshot_db(engine)
    report = run_sweep(engine, rules, clock(), dry_run=True)
    assert report.actions["escalate"] == 1
    assert snapshot_db(engine) == before


def test_due_selection_uses_the_next_check_index(engine, clock):
    with engine.connect() as c:
        sql = str(due_query(clock(), 100).compile(engine, compile_kwargs={"literal_binds": True}))
        if engine.dialect.name == "postgresql":
            c.execute(sa.text("SET enable_seqscan = off"))  # an empty test table would be scanned anyway
            plan = " ".join(str(r) for r in c.execute(sa.text("EXPLAIN " + sql)).all())
        else:
            plan = " ".join(str(r) for r in c.execute(sa.text("EXPLAIN QUERY PLAN " + sql)).all())
    assert "ix_problem_next_check_at" in plan, plan


def test_suspended_problems_keep_their_time(svc, engine, rules, clock):
    p = log_and_assign(svc)
    deadline = p.deadline
    clock.set("2024-01-10")
    svc.act("insp", p.code, "suspend", reason="等待省自然资源厅批复")
    clock.set("2024-04-01")  # months later: nothing may escalate while suspended
    assert not run_sweep(engine, rules, clock()).actions
    resumed = svc.act("insp", p.code, "resume")
    assert resumed.state == "assigned" and resumed.deadline > deadline
    assert resumed.light == "green"
