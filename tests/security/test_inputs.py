"""Numbers that ``str.isdigit`` accepts but ``int`` refuses (², ①), the leader named at assignment, and who
sees the directory's e-mail addresses: each a clean 400 / a filtered answer, never a 500, nothing written."""

from __future__ import annotations

import pytest
from seckit import csrf_of, snapshot
from test_dates import api
from test_errors import api_error, guarded

pytestmark = [pytest.mark.web]


@pytest.mark.parametrize("query", ["page=²", "page=①", "per_page=²", "page=٣", "per_page=0", "page=99999999999"])
def test_ledger_numbers_that_are_not_ascii_digits_are_400(sec, query):
    admin = sec.login("admin")
    r = admin.get(f"/ledger?{query}")
    assert r.status_code == 400, (query, r.status_code, r.text[:300])
    assert "应为 1 到" in r.text and "Traceback" not in r.text
    guarded(r)
    r = api(sec).get(f"/api/v1/problems?{query}")
    assert r.status_code == 400, (query, r.status_code, r.text[:300])
    assert r.json()["code"] == "invalid_value"
    guarded(r)


def test_a_form_version_in_superscript_is_refused_and_changes_nothing(sec):
    code = sec.problem("assigned")
    staff = sec.login("staff")
    token = csrf_of(staff, f"/problems/{code}")
    before = snapshot(sec)
    r = staff.post(
        f"/problems/{code}/actions/resolve", data={"csrf_token": token, "version": "²", "resolution": "已取得批复"}
    )
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "参数 version「²」应为 1 到" in r.text
    assert snapshot(sec) == before


@pytest.mark.parametrize(
    "leader,message",
    [
        ("town", "分管领导「town」（工作人员）不是责任单位「自然资源局」的领导"),
        ("head", "分管领导「head」已停用"),
    ],
)
def test_leader_is_validated_like_person(sec, leader, message):
    if leader == "head":
        sec.app.state.duban.admin.set_active("admin", "head", False)
    code = sec.problem("discovered")
    c = api(sec)  # its token is a row: created before the snapshot
    before = snapshot(sec)
    r = c.post(
        f"/api/v1/problems/{code}/transitions/assign",
        json={"unit": "ziranziyuan", "person": "staff", "leader": leader, "section": "耕地保护股"},
    )
    body = api_error(r, 400, "invalid_value", message)
    assert body["field"] == "leader" and body["value"] == leader
    assert snapshot(sec) == before


def test_a_county_leader_may_be_named_leader_of_any_unit(sec):
    code = sec.problem("discovered")
    r = api(sec).post(
        f"/api/v1/problems/{code}/transitions/assign",
        json={"unit": "ziranziyuan", "person": "staff", "leader": "lead", "section": "耕地保护股"},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "login,sees", [("staff", False), ("head", False), ("lead", False), ("insp", True), ("admin", True)]
)
def test_directory_emails_only_for_admins_and_inspectors(sec, login, sees):
    users = api(sec, login).get("/api/v1/users")
    assert users.status_code == 200, users.text
    emails = {u["login"]: u["email"] for u in users.json()}
    assert len(emails) >= 8
    if sees:
        assert emails["staff"] == "staff@yc.example" and emails["lead"] == "lead@yc.example"
    else:
        assert set(emails.values()) == {None}, emails
