"""The inspection office's own problems (responsible unit 县政府办督查室) are no longer a dead end: the
person who applied to close one may not close or send it back, another inspector or an administrator may.
Through the pure rule, the service, and the web review queue. Elsewhere a unit still never reviews its own
problems."""

from __future__ import annotations

import pytest
from seckit import at, csrf_of, snapshot

from models.db import session
from service import directory_admin
from workflow.errors import PermissionDenied
from workflow.permissions import Actor, Stake, allowed

pytestmark = [pytest.mark.web]

PROJECT = "嘉润综合物流园区"


def office_problem(w, resolver: str = "insp") -> str:
    """A problem of the inspection office itself, resolved by ``resolver`` (its responsible person)."""
    s = w.service
    code = s.log("insp", PROJECT, "permit", "督查室自身的台账问题", unit="duchashi").code
    s.act("insp", code, "assign", unit="duchashi", person=resolver, leader="lead", section="综合科")
    s.act(resolver, code, "resolve", resolution="已整改完毕")
    return code


def test_the_rule_itself():
    insp = Actor("insp", "张督查", "inspector", user_id=1, unit_id=9)
    insp2 = Actor("insp2", "李督查", "inspector", user_id=2, unit_id=9)
    admin = Actor("admin", "管理员", "admin", user_id=3, unit_id=9)
    office = Stake(responsible_unit_id=9, responsible_person_id=1, resolver_id=1, office_unit=True)
    for action in ("close", "send_back"):
        assert not allowed(action, insp, office)
        assert allowed(action, insp2, office) and allowed(action, admin, office)
    # Any other unit: its own office roles (an administrator placed in it) still may not review it.
    unit = Stake(responsible_unit_id=9, responsible_person_id=5, resolver_id=5, office_unit=False)
    assert not allowed("close", insp2, unit) and not allowed("close", admin, unit)
    # And nobody reviews their own application, whatever the unit.
    elsewhere = Stake(responsible_unit_id=4, leader_id=1, resolver_id=1)
    assert not allowed("close", insp, elsewhere) and allowed("close", insp2, elsewhere)


def test_through_the_service(sec):
    code = office_problem(sec)
    before = snapshot(sec)
    for action, params in (("close", {"rating": "good"}), ("send_back", {"reason": "材料不全"})):
        with pytest.raises(PermissionDenied) as info:
            sec.service.act("insp", code, action, **params)
        assert "销号申请是你提交的，不能自己审核，请由督查室其他人员或管理员" in info.value.message
    assert snapshot(sec) == before
    closed = sec.service.act("insp2", code, "close", rating="good", comment="督查室内部交叉审核")
    assert closed.state == "closed"
    history = sec.service.history(sec.service.get(code).id)
    assert [(e.action, e.actor) for e in history][-2:] == [("resolve", "insp"), ("close", "insp2")]


def test_sent_back_and_resolved_again_by_someone_else_moves_the_resolver(sec):
    code = office_problem(sec)
    sec.service.act("admin", code, "send_back", reason="请补充整改照片")
    sec.service.act("admin", code, "resolve", resolution="已补充照片")  # an administrator may resolve too
    with pytest.raises(PermissionDenied):
        sec.service.act("admin", code, "close", rating="good")
    assert sec.service.act("insp", code, "close", rating="good").state == "closed"


def test_through_the_web_review_queue(sec):
    code = office_problem(sec)
    resolver, other = sec.login("insp"), sec.login("insp2")

    page = resolver.get("/review").text
    assert code in page and f"/problems/{code}/actions/close" not in page
    assert "你本人提交的销号申请，由其他审核人审核" in page
    detail = resolver.get(f"/api/v1/problems/{code}").json()
    assert {a["name"] for a in detail["actions"]} & {"close", "send_back"} == set()

    before = snapshot(sec)
    token = csrf_of(resolver, "/review")
    version = sec.service.get(code).version
    r = resolver.post(
        f"/problems/{code}/actions/close?from=review",
        data={"rating": "good", "version": str(version), "csrf_token": token},
    )
    assert r.status_code == 403 and "销号申请是你提交的，不能自己审核" in r.text
    assert snapshot(sec) == before

    page = other.get("/review").text
    assert f"/problems/{code}/actions/close?from=review" in page and f"/problems/{code}/actions/send_back" in page
    r = other.post(
        f"/problems/{code}/actions/close?from=review",
        data={"rating": "excellent", "version": str(version), "csrf_token": csrf_of(other, "/review")},
    )
    assert r.status_code == 303 and r.headers["location"] == "/review"
    assert sec.service.get(code).state == "closed" and sec.service.get(code).rating == "excellent"


def test_an_ordinary_unit_still_never_reviews_its_own_problems(sec):
    with session(sec.engine) as s, s.begin():
        directory_admin.create_user(s, "zr.admin", "自然资源局管理员", "ziranziyuan", "admin", None, at("2024-01-02"))
    code = sec.problem("review")  # 自然资源局's problem, resolved by its staff
    with pytest.raises(PermissionDenied, match="责任单位不能给自己的问题销号"):
        sec.service.act("zr.admin", code, "close", rating="good")
    assert sec.service.act("insp", code, "close", rating="good").state == "closed"


def test_the_migration_names_the_resolver_of_problems_already_waiting(tmp_path, sec_rules):
    """Upgrading a database where an office problem already waits for review: its resolver comes from the
    latest 申请销号 event, so the resolver is refused at once and another inspector may close it."""
    import sqlalchemy as sa

    from models import migrate
    from models.db import make_engine
    from service.problems import ProblemService

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0005")  # the revision before 0006 added resolver_id
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO unit (id, code, name, kind, aliases) VALUES (1, 'duchashi', '县政府办督查室',"
                " 'inspection_office', '[]')"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO user_account (id, login, name, unit_id, role, active, created_at) VALUES"
                " (1, 'insp', '张督查', 1, 'inspector', true, '2024-01-01 01:00:00'),"
                " (2, 'insp2', '李督查', 1, 'inspector', true, '2024-01-01 01:00:00')"
            )
        )
        c.execute(sa.text("INSERT INTO project (id, name, unit_id, created_at) VALUES (1, '项目', 1, '2024-01-01')"))
        c.execute(
            sa.text(
                "INSERT INTO problem (id, code, project_id, title, description, category, severity, county_level,"
                " state, level, light, responsible_unit_id, responsible_person_id, responsible_section,"
                " deadline_provisional, overdue_escalations, progress, resolution, created_at, updated_at,"
                " resolved_at, version) VALUES (1, 'WT-2024-0001', 1, '督查室的问题', '', 'permit', 'general',"
                " false, 'review', 'unit', 'green', 1, 1, '', false, 0, '', '已整改', '2024-01-08 01:00:00',"
                " '2024-01-09 01:00:00', '2024-01-09 01:00:00', 4)"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO event (problem_id, at, actor, action, from_state, to_state, comment, data) VALUES"
                " (1, '2024-01-09 01:00:00', 'insp', 'resolve', 'assigned', 'review', '已整改', '{}')"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT resolver_id FROM problem")).scalar_one() == 1
    svc = ProblemService(engine, sec_rules, lambda: at("2024-01-10"))
    with pytest.raises(PermissionDenied, match="销号申请是你提交的"):
        svc.act("insp", "WT-2024-0001", "close", rating="good")
    assert svc.act("insp2", "WT-2024-0001", "close", rating="good").state == "closed"
    engine.dispose()
