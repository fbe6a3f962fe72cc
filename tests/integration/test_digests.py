"""Daily digest and half-monthly dispatch: one row per person per period, whoever runs them, however often."""

from __future__ import annotations

from sqlmodel import select

from models.db import session
from models.tables import Notice
from service.digests import dispatch_period, record_digests, record_dispatch
from service.sweep import run_sweep
from tests.conftest import at


def make_problems(svc, clock):
    land = svc.log("town", "嘉润综合物流园区", "land", "用地预审未批复", unit="ziranziyuan")
    svc.act("insp", land.code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    major = svc.log("town", "嘉润综合物流园区", "land", "涉及永久基本农田", severity="major")
    svc.act("insp", major.code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    return land.code, major.code


def rows(engine, kind):
    with session(engine) as s:
        return s.exec(select(Notice).where(Notice.kind == kind).order_by(Notice.id)).all()


def test_digest_on_working_days_after_its_time_once_per_person(svc, engine, rules, clock):
    make_problems(svc, clock)
    clock.set("2024-02-03T08:00")  # Saturday 02-03 is a normal weekend day
    run_sweep(engine, rules, clock())  # lights move: blue / yellow
    assert record_digests(engine, rules, at("2024-02-03T09:00")) == 0  # weekend
    assert record_digests(engine, rules, at("2024-02-04T08:29")) == 0  # make-up workday, too early
    n = record_digests(engine, rules, at("2024-02-04T08:30"))  # Sunday 02-04 is a make-up workday
    assert n > 0
    assert record_digests(engine, rules, at("2024-02-04T17:00")) == 0  # once per day
    digests = rows(engine, "digest")
    logins = [d.recipient_login for d in digests]
    assert len(logins) == len(set(logins))
    assert {"insp", "head", "lead"} <= set(logins)
    assert "staff" not in logins and "town" not in logins  # staff get per-item notices, not digests
    for d in digests:
        assert d.problem_id is None and d.payload["items"]
        assert all(i["light"] in ("blue", "yellow", "red") for i in d.payload["items"])


def test_dispatch_of_major_problems_every_half_month(svc, engine, rules, clock):
    _, major = make_problems(svc, clock)
    assert dispatch_period(rules, at("2024-01-01T09:00")) == "2023-12/16"  # 元旦: the 1st's dispatch waits
    assert dispatch_period(rules, at("2024-01-02T08:59")) == "2023-12/16"
    assert dispatch_period(rules, at("2024-01-02T09:00")) == "2024-01/01"
    assert dispatch_period(rules, at("2024-01-20T09:00")) == "2024-01/16"
    assert record_dispatch(engine, rules, at("2024-01-10T10:00")) > 0  # period 01 already open
    assert record_dispatch(engine, rules, at("2024-01-15T10:00")) == 0
    second = record_dispatch(engine, rules, at("2024-01-16T09:30"))
    assert second > 0
    dispatches = rows(engine, "dispatch")
    assert {d.payload["period"] for d in dispatches} == {"2024-01/01", "2024-01/16"}
    for d in dispatches:
        assert [i["code"] for i in d.payload["items"]] == [major]
    assert {"lead", "insp"} <= {d.recipient_login for d in dispatches}
    # Each dispatch is on the major problem's record, by the system, once per period.
    events = [e for e in svc.history(svc.get(major).id) if e.action == "dispatch"]
    assert [(e.actor, e.data["period"]) for e in events] == [("system", "2024-01/01"), ("system", "2024-01/16")]
    assert events[0].comment.startswith("重大问题半月调度（2024年1月1日批次）")
