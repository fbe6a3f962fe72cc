"""Management through every front end: role × active/inactive × every management action, once through the
command line and once through the JSON API — both must give the same answer, and the answer written here.

A deactivated account may do nothing anywhere (its API token stops working; the CLI refuses it by name)."""

from __future__ import annotations

import itertools
import os

import pytest
import sqlalchemy as sa

import cli
from models.db import session
from models.tables import User
from service import directory
from service import tokens as tk

pytestmark = pytest.mark.web

ROLES = ["admin", "insp", "head", "staff", "lead"]
# action → the roles that may take it (written out, not computed from the code under test).
ALLOWED = {
    "user_add": {"admin"},
    "user_deactivate": {"admin"},
    "unit_add": {"admin"},
    "project_add": {"admin", "insp"},
    "token_own": set(ROLES),
    "token_other": {"admin"},
    "token_list_other": {"admin"},
    "token_revoke_other": {"admin"},
    "ledger_read": set(ROLES),
}
_seq = itertools.count()


def run_cli(web, monkeypatch, capsys, user: str, *args: str) -> int:
    """The real ``duban`` entry point, in this process, on the web test's database."""
    monkeypatch.setenv("DUBAN_DB", web.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DUBAN_USER", user)
    monkeypatch.setenv("DUBAN_NOW", "2024-01-08T09:00")
    code = cli.main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    if code:
        assert out.err.startswith("错误：") and len(out.err.strip().splitlines()) == 1, out.err
    return code


def cli_case(action: str, n: int, me: str, token_id: int) -> list[str]:
    return {
        "user_add": ["user", "add", f"cli{n}", "--name", "新同事", "--unit", "duchashi", "--role", "staff"],
        "user_deactivate": ["user", "deactivate", "town"],
        "unit_add": ["unit", "add", f"cliunit{n}", "--name", f"新单位{n}甲", "--kind", "department"],
        "project_add": ["project", "add", f"新项目{n}甲", "--unit", "kaifaqu"],
        "token_own": ["token", "create", me],
        "token_other": ["token", "create", "lead2"],
        "token_list_other": ["token", "list", "lead2"],
        "token_revoke_other": ["token", "revoke", str(token_id)],
        "ledger_read": ["list"],
    }[action]


def api_case(client, headers: dict, action: str, n: int, me: str, token_id: int):
    if action == "user_add":
        body = {"login": f"api{n}", "name": "新同事", "unit": "duchashi", "role": "staff"}
        return client.post("/api/v1/users", json=body, headers=headers)
    if action == "user_deactivate":
        return client.post("/api/v1/users/townhead/active", params={"active": "false"}, headers=headers)
    if action == "unit_add":
        body = {"code": f"apiunit{n}", "name": f"新单位{n}乙", "kind": "department"}
        return client.post("/api/v1/units", json=body, headers=headers)
    if action == "project_add":
        return client.post("/api/v1/projects", json={"name": f"新项目{n}乙", "unit": "kaifaqu"}, headers=headers)
    if action == "token_own":
        return client.post("/api/v1/tokens", params={"login": me}, headers=headers)
    if action == "token_other":
        return client.post("/api/v1/tokens", params={"login": "lead2"}, headers=headers)
    if action == "token_list_other":
        return client.get("/api/v1/tokens", params={"login": "lead2"}, headers=headers)
    if action == "token_revoke_other":
        return client.post(f"/api/v1/tokens/{token_id}/revoke", headers=headers)
    return client.get("/api/v1/problems", headers=headers)


@pytest.mark.parametrize("active", [True, False], ids=["active", "inactive"])
@pytest.mark.parametrize("role", ROLES)
def test_cli_and_api_give_the_same_answer(web, monkeypatch, capsys, role, active):
    with session(web.engine) as s, s.begin():
        view = directory.view(s)
        mine = tk.create(s, view.user(role).id, "matrix", web.clock())
        others = [tk.create(s, view.user("lead2").id, f"victim{i}", web.clock()) for i in range(2)]
    with session(web.engine) as s:
        ids = sorted(t.id for t in s.exec(sa.select(tk.ApiToken).where(tk.ApiToken.name.like("victim%"))).scalars())
    assert len(others) == 2
    if not active:
        with web.engine.begin() as conn:
            conn.execute(sa.update(User.__table__).where(User.__table__.c.login == role).values(active=False))
    client = web.client()
    headers = {"Authorization": f"Bearer {mine}"}
    answers = {}
    for action in ALLOWED:
        n = next(_seq)
        by_cli = run_cli(web, monkeypatch, capsys, role, *cli_case(action, n, role, ids[0])) == 0
        response = api_case(client, headers, action, n, role, ids[1])
        assert response.status_code < 500, response.text
        by_api = response.status_code < 300
        answers[action] = (by_cli, by_api)
    expected = {a: (active and role in who,) * 2 for a, who in ALLOWED.items()}
    assert answers == expected


def test_cli_refuses_a_deactivated_admin_by_name(web, monkeypatch, capsys):
    with web.engine.begin() as conn:
        conn.execute(sa.update(User.__table__).where(User.__table__.c.login == "admin").values(active=False))
    monkeypatch.setenv("DUBAN_DB", web.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DUBAN_USER", "admin")
    assert cli.main(["user", "add", "sneaky", "--name", "x", "--unit", "duchashi", "--role", "admin"]) == 4
    assert "已停用" in capsys.readouterr().err
    assert os.environ["DUBAN_USER"] == "admin"
    with session(web.engine) as s:
        assert s.exec(sa.select(User).where(User.login == "sneaky")).first() is None
