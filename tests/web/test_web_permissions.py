"""Every role against every action, through the JSON API and through the HTML forms.

The expected table is written out from the README's role rules (not derived from
``workflow.permissions``), so it checks that the web layer enforces the same rules as the CLI:
staff and unit heads work their own unit's problems (a unit head may also escalate); the county leader
who contracts the project assigns, supervises and escalates; only the inspection office (and admins)
suspend, resume, close and send back; everyone may add a note.
"""

from __future__ import annotations

import pytest
from webkit import csrf_of

ROLES = ["admin", "insp", "head", "staff", "town", "townhead", "lead", "lead2"]
OFFICE = {"admin", "insp"}
UNIT = {"head", "staff"}  # 自然资源局, the responsible unit

ALLOWED = {
    "assign": OFFICE | {"lead"},
    "ack": {"admin"} | UNIT,
    "feedback": {"admin"} | UNIT,
    "note": set(ROLES),
    "supervise": OFFICE | {"lead"},
    "escalate": OFFICE | {"lead", "head"},
    "suspend": OFFICE,
    "resume": OFFICE,
    "resolve": {"admin"} | UNIT,
    "close": OFFICE,
    "send_back": OFFICE,
}
STATE_FOR = {"assign": "discovered", "resume": "suspended", "close": "review", "send_back": "review"}
PARAMS = {
    "assign": {"unit": "ziranziyuan", "person": "staff", "leader": "head", "section": "耕地保护股"},
    "feedback": {"text": "已组卷上报"},
    "note": {"text": "电话催办"},
    "supervise": {"reason": "进展缓慢"},
    "escalate": {"reason": "久拖不决"},
    "suspend": {"reason": "等待省厅批复"},
    "resolve": {"resolution": "已取得批复"},
    "close": {"rating": "good"},
    "send_back": {"reason": "缺批复扫描件"},
}
CASES = [(role, action) for action in ALLOWED for role in ROLES]


@pytest.fixture(scope="module")
def clients(shared_web):
    return {role: shared_web.login(role) for role in ROLES}


@pytest.fixture(scope="module")
def tokens(shared_web):
    from models.db import session
    from service import directory
    from service import tokens as tk

    out = {}
    with session(shared_web.engine) as s, s.begin():
        for role in ROLES:
            out[role] = tk.create(s, directory.view(s).user(role).id, "perm-test", shared_web.clock())
    return out


def _state(web, code):
    return web.service.get(code).state


@pytest.mark.parametrize("role,action", CASES)
def test_api_transition_by_role(shared_web, tokens, role, action):
    code = shared_web.problem(STATE_FOR.get(action, "assigned"))
    before = shared_web.service.get(code)
    c = shared_web.client()
    r = c.post(
        f"/api/v1/problems/{code}/transitions/{action}",
        json=PARAMS.get(action, {}),
        headers={"Authorization": f"Bearer {tokens[role]}"},
    )
    if role in ALLOWED[action]:
        assert r.status_code == 200, r.text
        assert r.json()["version"] == before.version + 1
    else:
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "permission_denied"
        assert "无权" in r.json()["message"]
        assert shared_web.service.get(code).version == before.version  # nothing written


@pytest.mark.parametrize("role,action", CASES)
def test_form_transition_by_role(shared_web, clients, role, action):
    code = shared_web.problem(STATE_FOR.get(action, "assigned"))
    before = shared_web.service.get(code)
    c = clients[role]
    page = c.get(f"/problems/{code}")
    assert page.status_code == 200  # everyone may read
    shown = f'action="/problems/{code}/actions/{action}"' in page.text
    data = {**PARAMS.get(action, {}), "version": str(before.version), "csrf_token": csrf_of(c, "/dashboard")}
    r = c.post(f"/problems/{code}/actions/{action}", data=data)
    if role in ALLOWED[action]:
        assert shown, f"{role} should see the {action} form"
        assert r.status_code == 303, r.text[:500]
        assert r.headers["location"] == f"/problems/{code}"
        assert shared_web.service.get(code).version == before.version + 1
    else:
        assert not shown, f"{role} must not see the {action} form"
        assert r.status_code == 403
        assert "无权" in r.text
        assert shared_web.service.get(code).version == before.version


@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_by_role(shared_web, clients, role):
    c = clients[role]
    users = c.get("/admin/users")
    projects = c.get("/admin/projects")
    review = c.get("/review")
    assert users.status_code == (200 if role == "admin" else 403)
    assert projects.status_code == (200 if role in OFFICE else 403)
    assert review.status_code == (200 if role in OFFICE else 403)
    # Everyone reads the ledger and the dashboard.
    assert c.get("/ledger").status_code == 200
    assert c.get("/dashboard").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_admin_api_by_role(shared_web, tokens, role):
    c = shared_web.client()
    h = {"Authorization": f"Bearer {tokens[role]}"}
    r = c.post(
        "/api/v1/users",
        headers=h,
        json={"login": f"new.{role}", "name": "新人", "unit": "ziranziyuan", "role": "staff"},
    )
    assert r.status_code == (201 if role == "admin" else 403), r.text
    r = c.post("/api/v1/projects", headers=h, json={"name": f"新项目-{role}", "unit": "kaifaqu"})
    assert r.status_code == (201 if role in OFFICE else 403), r.text
    r = c.post("/api/v1/units", headers=h, json={"code": f"unit-{role}", "name": f"新单位{role}", "kind": "department"})
    assert r.status_code == (201 if role == "admin" else 403), r.text
    for path in ("/api/v1/users", "/api/v1/units", "/api/v1/projects", "/api/v1/problems"):
        assert c.get(path, headers=h).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_anyone_logs_a_problem(shared_web, tokens, clients, role):
    c = shared_web.client()
    r = c.post(
        "/api/v1/problems",
        headers={"Authorization": f"Bearer {tokens[role]}"},
        json={"project": "嘉润综合物流园区", "category": "permit", "title": f"{role} 登记的问题"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "discovered"
    form = clients[role]
    r = form.post(
        "/problems/new",
        data={
            "project": "嘉润综合物流园区",
            "category": "funding",
            "title": "资金未到位",
            "csrf_token": csrf_of(form, "/problems/new"),
        },
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/problems/WT-2024-")
