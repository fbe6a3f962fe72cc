"""The JSON API: token authentication (hashed tokens, revocation, expiry), the problem endpoints, the
error bodies and their status mapping, CSRF for browser-session writes, the OpenAPI schema, the token
and password commands, and the scheduler running inside the web process."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import sqlalchemy as sa
from webkit import csrf_of

from models.db import session
from service import directory, directory_admin
from service import tokens as tk


def token_for(web, login: str, **kw) -> str:
    with session(web.engine) as s, s.begin():
        return tk.create(s, directory.view(s).user(login).id, "test", web.clock(), **kw)


def h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_stored_hashed(web):
    token = token_for(web, "staff")
    assert token.startswith("duban_") and len(token) > 40
    with web.engine.connect() as c:
        rows = c.execute(sa.text("SELECT token_hash, prefix FROM api_token")).all()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), token[:14])]
    assert token not in str(rows)


def test_auth_failures_are_401_json(web):
    c = web.client()
    for headers in ({}, h("duban_nope"), {"Authorization": "Basic abc"}, h("")):
        r = c.get("/api/v1/me", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated", headers
        assert r.headers["www-authenticate"] == "Bearer"


def test_revoked_expired_and_deactivated(web):
    good = token_for(web, "staff")
    expiring = token_for(web, "head", expires_at=web.clock() + timedelta(days=1))
    c = web.client()
    assert c.get("/api/v1/me", headers=h(good)).json()["login"] == "staff"
    assert c.get("/api/v1/me", headers=h(expiring)).status_code == 200
    web.clock.now += timedelta(days=2)
    assert c.get("/api/v1/me", headers=h(expiring)).status_code == 401
    with session(web.engine) as s, s.begin():
        tid = tk.listing(s, "staff")[0]["id"]
        tk.revoke(s, tid, web.clock())
    assert c.get("/api/v1/me", headers=h(good)).status_code == 401
    other = token_for(web, "town")
    from sqlmodel import select

    from models.tables import User

    with session(web.engine) as s, s.begin():
        s.exec(select(User).where(User.login == "town")).one().active = False
    assert c.get("/api/v1/me", headers=h(other)).status_code == 401


def test_problem_lifecycle_and_error_mapping(web):
    staff, insp = h(token_for(web, "staff")), h(token_for(web, "insp"))
    c = web.client()
    r = c.post(
        "/api/v1/problems",
        headers=staff,
        json={"project": "嘉润综合物流园区", "category": "land", "title": "用地预审", "unit": "ziranziyuan"},
    )
    assert r.status_code == 201
    code = r.json()["code"]
    assert r.json()["state"] == "discovered" and r.json()["history"][0]["action"] == "log"
    r = c.post(
        f"/api/v1/problems/{code}/transitions/assign",
        headers=insp,
        json={
            "unit": "自然资源局",
            "person": "staff",
            "leader": "head",
            "section": "耕地保护股",
            "deadline": "2024-02-19",
            "expected_version": 1,
        },
    )
    assert r.status_code == 200 and r.json()["state"] == "assigned" and r.json()["deadline"] == "2024-02-19"
    version = r.json()["version"]

    def err(resp, status, code_):
        assert resp.status_code == status, resp.text
        assert resp.json()["code"] == code_ and resp.json()["message"], resp.json()
        return resp.json()["message"]

    # 409 stale version, with the service's Chinese message
    msg = err(
        c.post(
            f"/api/v1/problems/{code}/transitions/feedback",
            headers=staff,
            json={"text": "x", "expected_version": version - 1},
        ),
        409,
        "stale_version",
    )
    assert "已被他人修改" in msg
    err(c.post(f"/api/v1/problems/{code}/transitions/close", headers=insp, json={}), 409, "invalid_transition")
    err(c.post(f"/api/v1/problems/{code}/transitions/feedback", headers=staff, json={}), 400, "missing_field")
    err(
        c.post(f"/api/v1/problems/{code}/transitions/feedback", headers=staff, json={"txt": "typo"}),
        400,
        "invalid_value",
    )
    err(c.post(f"/api/v1/problems/{code}/transitions/frobnicate", headers=staff, json={}), 400, "invalid_value")
    err(
        c.post(f"/api/v1/problems/{code}/transitions/suspend", headers=staff, json={"reason": "x"}),
        403,
        "permission_denied",
    )
    err(c.get("/api/v1/problems/WT-2024-9999", headers=staff), 404, "not_found")
    err(c.get("/api/v1/problems/garbage", headers=staff), 400, "invalid_value")
    err(c.get("/api/v1/nothing-here", headers=staff), 404, "not_found")
    err(
        c.post("/api/v1/problems", headers=staff, json={"project": "不存在的项目", "category": "land", "title": "x"}),
        404,
        "not_found",
    )
    err(
        c.post(
            "/api/v1/problems",
            headers=staff,
            content=b"{not json",
        ),
        400,
        "invalid_value",
    )
    err(c.post("/api/v1/projects", headers=insp, json={"name": "嘉润综合物流园区", "unit": "kaifaqu"}), 409, "conflict")
    err(c.get("/api/v1/problems?state=bogus", headers=staff), 400, "invalid_value")
    err(c.get("/api/v1/problems?sort=title", headers=staff), 400, "invalid_value")

    r = c.post(f"/api/v1/problems/{code}/transitions/resolve", headers=staff, json={"resolution": "已批复"})
    assert r.json()["state"] == "review"
    # The closing review: a rating is required, and 不合格 is a send-back that needs its reason.
    close = f"/api/v1/problems/{code}/transitions/close"
    assert "评价等级" in err(c.post(close, headers=insp, json={}), 400, "missing_field")
    assert "退回理由" in err(c.post(close, headers=insp, json={"rating": "fail"}), 400, "missing_field")
    r = c.post(f"/api/v1/problems/{code}/transitions/close", headers=insp, json={"rating": "good"})
    assert r.json()["state"] == "closed" and r.json()["rating_label"] == "良好"
    events = c.get(f"/api/v1/problems/{code}/events", headers=staff).json()
    assert [e["action"] for e in events] == ["log", "assign", "resolve", "close"]
    assert [e["actor"] for e in events] == ["staff", "insp", "staff", "insp"]  # the audit names the token's user


def test_list_filters_and_paging(web):
    for i in range(5):
        web.problem("assigned", title=f"问题{i}")
    web.problem("review", title="待审")
    c = web.client()
    t = h(token_for(web, "lead2"))
    body = c.get("/api/v1/problems?per_page=2&page=2", headers=t).json()
    assert body["total"] == 6 and body["pages"] == 3 and len(body["items"]) == 2
    assert c.get("/api/v1/problems?state=review", headers=t).json()["total"] == 1
    assert c.get("/api/v1/problems?q=问题3", headers=t).json()["items"][0]["title"] == "问题3"
    assert c.get("/api/v1/problems?unit=ziranziyuan&category=land", headers=t).json()["total"] == 6
    assert c.get("/api/v1/problems?unit=nowhere", headers=t).status_code == 400


def test_browser_session_can_use_the_api_but_writes_need_the_csrf_header(web):
    c = web.login("staff")
    assert c.get("/api/v1/me").json()["auth"] == "session"
    body = {"project": "嘉润综合物流园区", "category": "land", "title": "从页面脚本登记"}
    r = c.post("/api/v1/problems", json=body)
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = c.post("/api/v1/problems", json=body, headers={"X-CSRF-Token": csrf_of(c, "/dashboard")})
    assert r.status_code == 201


def test_openapi_schema_is_served(web):
    schema = web.client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for p in (
        "/api/v1/problems",
        "/api/v1/problems/{code}",
        "/api/v1/problems/{code}/events",
        "/api/v1/problems/{code}/transitions/{action}",
        "/api/v1/users",
        "/api/v1/units",
        "/api/v1/projects",
    ):
        assert p in paths
    assert not any(p.startswith(("/ledger", "/admin", "/login")) for p in paths)  # pages stay out of it
    post = paths["/api/v1/problems/{code}/transitions/{action}"]["post"]
    assert {"400", "401", "403", "404", "409"} <= set(post["responses"])


def _run_cli(web, *args, user="admin", stdin=None):
    import click.testing

    import cli

    runner = click.testing.CliRunner()
    return runner.invoke(
        cli.main_group,
        ["--db", web.engine.url.render_as_string(hide_password=False), "--as", user, *args],
        input=stdin,
        catch_exceptions=True,
    )


def test_token_and_passwd_commands(web):
    r = _run_cli(web, "token", "create", "staff", "--name", "nightly")
    assert r.exit_code == 0, r.output
    token = r.output.splitlines()[0].strip()
    assert web.client().get("/api/v1/me", headers=h(token)).json()["login"] == "staff"
    listing = _run_cli(web, "token", "list", "staff")
    assert "nightly" in listing.output and token not in listing.output
    refused = _run_cli(web, "token", "create", "admin", user="staff")
    assert refused.exit_code != 0 and "只有管理员或 admin 本人" in str(refused.exception)
    tid = next(line.split("│")[1].strip() for line in listing.output.splitlines() if "nightly" in line)
    assert _run_cli(web, "token", "revoke", tid).exit_code == 0
    assert web.client().get("/api/v1/me", headers=h(token)).status_code == 401
    r = _run_cli(web, "passwd", "town", "--password-stdin", stdin="new-town-pass\n")
    assert r.exit_code == 0, r.output
    web.login("town", "new-town-pass")


def test_scheduler_runs_in_the_web_process(tmp_path, web_rules, password_hash):
    """The app's lifespan starts service.scheduler.serve; its first sweep runs at start-up."""
    from fastapi.testclient import TestClient
    from webkit import Clock, Web, at, build_db

    from web.app import create_app
    from web.settings import WebSettings

    engine = build_db(tmp_path / "sched.db", password_hash)
    clock = Clock(at("2024-01-08"))
    mail_dir = tmp_path / "mail"
    from notifications.config import MailConfig

    mail = MailConfig.from_env({"DUBAN_MAIL_DIR": str(mail_dir)})
    app = create_app(engine, web_rules, clock, WebSettings(secret_key="s" * 48), run_scheduler=True, mail=mail)
    w = Web(engine, web_rules, clock, app)
    code = w.problem("assigned")
    clock.set("2024-03-20")  # far past the deadline: the start-up sweep escalates it
    with TestClient(app):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and w.service.get(code).light != "red":
            time.sleep(0.05)
    p = w.service.get(code)
    assert p.light == "red" and p.level == "county_leader"
    engine.dispose()


def test_demo_passwords_for_the_sample_ledger(tmp_path, web_rules):
    """What `duban init --sample` is to do: every sample user (and admin) gets the printed demo password."""
    from webkit import at

    from models.db import create_schema, make_engine
    from service.passwords import set_demo_passwords
    from service.sample import load_sample

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    create_schema(engine)
    with session(engine) as s, s.begin():
        directory_admin.load_units(s)
        directory_admin.create_user(s, "admin", "系统管理员", "duchashi", "admin", None, at("2024-01-02"))
    load_sample(engine, web_rules, at("2024-03-04"))
    with session(engine) as s, s.begin():
        logins = set_demo_passwords(s, "duban-demo-2024")
    assert "admin" in logins and "zhang.dcs" in logins and len(logins) >= 20
    with session(engine) as s, s.begin():
        assert set_demo_passwords(s, "another-one-1") == []  # never overwrites a password
    from webkit import Clock, Web

    from web.app import create_app
    from web.settings import WebSettings

    app = create_app(engine, web_rules, Clock(at("2024-03-04")), WebSettings(secret_key="d" * 48))
    Web(engine, web_rules, None, app).login("zhang.dcs", "duban-demo-2024")
    engine.dispose()


def test_unexpected_errors_are_500_with_the_error_body(web, monkeypatch):
    from fastapi.testclient import TestClient

    def boom(*a, **kw):
        raise RuntimeError("boom")

    monkeypatch.setattr("service.ledger.browse", boom)
    c = TestClient(web.app, raise_server_exceptions=False)
    r = c.get("/api/v1/problems", headers=h(token_for(web, "staff")))
    assert r.status_code == 500 and r.json() == {
        "code": "internal_error",
        "field": None,
        "value": None,
        "message": "服务器内部错误，请稍后重试或联系管理员",
    }
    c.cookies.clear()
    page_client = web.login("staff")
    r = TestClient(web.app, raise_server_exceptions=False, cookies=dict(page_client.cookies)).get("/ledger")
    assert r.status_code == 500 and "服务器内部错误" in r.text and "boom" not in r.text
