"""Sessions that really end: the server-side session table refuses a cookie after logout, a password change
(one's own or by an administrator), deactivation, "sign out everywhere" (web, API, CLI) and the idle and
absolute timeouts — for reads and for CSRF-protected writes, in every worker process."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from seckit import HOUR, PASSWORD, csrf_of, make_sec, run_cli, snapshot

from service.sessions import digest
from web.settings import WebSettings

pytestmark = [pytest.mark.web]


def copy_of(w, client) -> TestClient:
    """Another browser holding the same cookie (what a stolen or kept copy of the cookie is)."""
    c = TestClient(w.app, base_url="http://testserver", follow_redirects=False, cookies=dict(client.cookies))
    w.clients.append(c)
    return c


def session_rows(w, login: str) -> list:
    import sqlalchemy as sa

    with w.engine.connect() as c:
        return c.execute(
            sa.text(
                "SELECT s.revoked_at, s.end_reason FROM user_session s JOIN user_account u ON u.id = s.user_id"
                " WHERE u.login = :login ORDER BY s.created_at"
            ),
            {"login": login},
        ).all()


def test_after_logout_the_old_cookie_reads_nothing_and_writes_nothing(sec):
    code = sec.problem("assigned")
    browser = sec.login("staff")
    csrf = csrf_of(browser, f"/problems/{code}")
    kept = copy_of(sec, browser)  # the cookie as it was before logging out
    assert kept.get("/dashboard").status_code == 200
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    before = snapshot(sec)

    assert kept.get("/dashboard").status_code == 303  # to the login page
    assert kept.get(f"/problems/{code}").headers["location"].startswith("/login")
    r = kept.post(f"/problems/{code}/actions/note", data={"text": "用已退出的会话写备注", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    api = kept.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["code"] == "unauthenticated"
    r = kept.post(
        f"/api/v1/problems/{code}/transitions/note", json={"text": "API 写备注"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 401 and "请先登录" in r.json()["message"]
    assert snapshot(sec) == before
    assert session_rows(sec, "staff")[-1][1] == "logout"


def test_the_cookie_holds_a_token_the_database_keeps_only_as_a_digest(sec):
    browser = sec.login("staff")
    from itsdangerous import TimestampSigner

    raw = browser.cookies["duban_session"]
    import base64
    import json

    payload = json.loads(base64.b64decode(TimestampSigner("h" * 48).unsign(raw.encode())))
    assert set(payload) >= {"sid", "csrf"} and "uid" not in payload and "pw" not in payload
    with sec.engine.connect() as c:
        import sqlalchemy as sa

        ids = c.execute(sa.text("SELECT id, ip, user_agent FROM user_session")).all()
    assert ids == [(digest(payload["sid"]), "testclient", "testclient")]
    assert payload["sid"] not in str(ids)


def test_a_logout_in_one_worker_ends_the_session_in_every_worker(sec_any):
    w = sec_any
    other = w.another_app()  # a second process serving the same database
    browser = w.login("staff")
    elsewhere = TestClient(other.app, base_url="http://testserver", follow_redirects=False)
    elsewhere.cookies.update(dict(browser.cookies))
    w.clients.append(elsewhere)
    assert elsewhere.get("/dashboard").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf_of(browser, "/dashboard")})
    assert elsewhere.get("/dashboard").status_code == 303


def test_changing_ones_own_password_keeps_this_browser_and_ends_the_others(sec):
    here, there = sec.login("staff"), sec.login("staff")
    r = here.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "a-new-password-9",
            "again": "a-new-password-9",
            "csrf_token": csrf_of(here, "/account/password"),
        },
    )
    assert r.status_code == 303
    assert here.get("/dashboard").status_code == 200
    assert there.get("/dashboard").status_code == 303
    assert [reason for _, reason in session_rows(sec, "staff")] == [None, "password"]


def test_a_password_set_by_an_administrator_ends_every_session_at_once(sec):
    web_session, cli_session = sec.login("staff"), sec.login("town")
    admin = sec.login("admin")
    r = admin.post(
        "/admin/users/staff/password",
        data={"password": "reset-by-admin-1", "csrf_token": csrf_of(admin, "/admin/users")},
    )
    assert r.status_code == 303
    assert web_session.get("/dashboard").status_code == 303
    from cli import main_group

    result = CliRunner().invoke(
        main_group,
        ["--db", sec.url, "--as", "admin", "passwd", "town", "--password-stdin"],
        input="reset-by-cli-22\n",
    )
    assert result.exit_code == 0, result.output
    assert cli_session.get("/dashboard").status_code == 303
    assert session_rows(sec, "town")[-1][1] == "password"
    sec.login("town", "reset-by-cli-22")  # the new password works


def test_deactivation_ends_the_session_and_reactivation_does_not_revive_it(sec):
    browser = sec.login("staff")
    admin = sec.login("admin")
    token = csrf_of(admin, "/admin/users")
    admin.post("/admin/users/staff/active", data={"active": "0", "csrf_token": token})
    assert session_rows(sec, "staff")[-1][1] == "deactivated"
    admin.post("/admin/users/staff/active", data={"active": "1", "csrf_token": token})
    assert browser.get("/dashboard").status_code == 303


def test_sign_out_everywhere_from_the_admin_page_the_api_and_the_cli(sec):
    def signed_in(n: int):
        return [sec.login("head") for _ in range(n)]

    admin = sec.login("admin")
    browsers = signed_in(2)
    r = admin.post("/admin/users/head/signout", data={"csrf_token": csrf_of(admin, "/admin/users")})
    assert r.status_code == 303
    page = admin.get("/admin/users").text
    assert "已让 head 在所有浏览器上退出登录（结束 2 个会话）" in page and "/admin/users/head/signout" in page
    assert all(b.get("/dashboard").status_code == 303 for b in browsers)

    browsers = signed_in(3)
    r = admin.post("/api/v1/users/head/signout", headers={"X-CSRF-Token": csrf_of(admin, "/dashboard")})
    assert r.status_code == 200 and r.json() == {"login": "head", "ended": 3}
    assert all(b.get("/dashboard").status_code == 303 for b in browsers)

    browsers = signed_in(1)
    from cli import main_group

    result = CliRunner().invoke(main_group, ["--db", sec.url, "--as", "admin", "user", "signout", "head"])
    assert result.exit_code == 0 and "结束 1 个会话" in result.output
    assert browsers[0].get("/dashboard").status_code == 303
    assert {reason for _, reason in session_rows(sec, "head")} == {"signout"}


def test_only_an_administrator_or_the_person_may_sign_someone_out(sec, capsys):
    head = sec.login("head")
    staff = sec.login("staff")
    before = snapshot(sec)
    r = staff.post("/api/v1/users/head/signout", headers={"X-CSRF-Token": csrf_of(staff, "/dashboard")})
    assert (
        r.status_code == 403 and r.json()["code"] == "permission_denied" and "管理员或 head 本人" in r.json()["message"]
    )
    r = staff.post("/admin/users/head/signout", data={"csrf_token": csrf_of(staff, "/dashboard")})
    assert r.status_code == 403 and "只有管理员" in r.text
    assert head.get("/dashboard").status_code == 200 and snapshot(sec) == before
    # Without the CSRF header a browser session may not either, even for itself.
    assert staff.post("/api/v1/users/staff/signout").status_code == 403
    r = staff.post("/api/v1/users/staff/signout", headers={"X-CSRF-Token": csrf_of(staff, "/dashboard")})
    assert r.json() == {"login": "staff", "ended": 1} and staff.get("/dashboard").status_code == 303

    code, _, err = run_cli(capsys, "--db", sec.url, "--as", "town", "user", "signout", "head")
    assert code == 4 and err.startswith("错误：只有管理员或 head 本人") and head.get("/dashboard").status_code == 200


def test_idle_timeout(sec):
    browser = sec.login("staff")
    sec.wall.now += timedelta(minutes=119)
    assert browser.get("/dashboard").status_code == 200  # a request: the idle clock starts again
    sec.wall.now += timedelta(minutes=119)
    assert browser.get("/dashboard").status_code == 200
    sec.wall.now += timedelta(minutes=121)
    assert browser.get("/dashboard").status_code == 303
    assert session_rows(sec, "staff")[-1][1] == "idle"
    sec.wall.now -= timedelta(minutes=121)  # the clock going back does not bring it back
    assert browser.get("/dashboard").status_code == 303


def test_absolute_timeout_however_busy_the_session(sec):
    browser = sec.login("staff")
    for _ in range(11):
        sec.wall.now += HOUR
        assert browser.get("/dashboard").status_code == 200
    sec.wall.now += HOUR
    assert browser.get("/dashboard").status_code == 303
    assert session_rows(sec, "staff")[-1][1] == "expired"


def test_timeouts_are_settings(tmp_path, sec_rules, sec_hash, monkeypatch):
    monkeypatch.setenv("DUBAN_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DUBAN_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("DUBAN_SESSION_HOURS", "2")
    s = WebSettings.from_env()
    assert s.session_policy().idle == timedelta(minutes=15) and s.session_policy().absolute == timedelta(hours=2)
    assert WebSettings(secret_key="x" * 40).session_policy().idle == 2 * HOUR
    assert WebSettings(secret_key="x" * 40).session_policy().absolute == 12 * HOUR
    monkeypatch.setenv("DUBAN_SESSION_IDLE_MINUTES", "0")
    with pytest.raises(Exception, match="DUBAN_SESSION_IDLE_MINUTES「0」应在 5–43200 之间"):
        WebSettings.from_env()
    w = make_sec(f"sqlite:///{tmp_path / 'short.db'}", sec_rules, sec_hash, session_idle_minutes=15)
    browser = w.login("staff")
    w.wall.now += timedelta(minutes=16)
    assert browser.get("/dashboard").status_code == 303
    w.engine.dispose()


def test_a_page_view_is_a_read_not_a_write(sec):
    """last_seen_at moves at most once a minute, so browsing does not take SQLite's write lock per page."""
    import sqlalchemy as sa

    browser = sec.login("staff")

    def seen():
        with sec.engine.connect() as c:
            return c.execute(sa.text("SELECT last_seen_at FROM user_session")).scalar_one()

    first = seen()
    sec.wall.now += timedelta(seconds=30)
    browser.get("/dashboard")
    assert seen() == first
    sec.wall.now += timedelta(seconds=31)
    browser.get("/dashboard")
    assert seen() != first


def test_a_forged_or_malformed_session_token_is_just_not_signed_in(sec):
    import base64
    import json

    from itsdangerous import TimestampSigner

    for sid in ("x" * 43, 12345, None, "短", "a" * 5000):
        payload = base64.b64encode(json.dumps({"sid": sid, "csrf": "c"}).encode())
        cookie = TimestampSigner("h" * 48).sign(payload).decode()
        c = TestClient(sec.app, base_url="http://testserver", follow_redirects=False)
        c.cookies.set("duban_session", cookie)
        assert c.get("/dashboard").status_code == 303, sid
        assert c.get("/api/v1/me").status_code == 401, sid
        c.close()


def test_the_login_form_rotates_the_csrf_token(sec):
    c = sec.client()
    before = csrf_of(c, "/login")
    c.post("/login", data={"login": "staff", "password": PASSWORD, "csrf_token": before})
    after = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/dashboard").text).group(1)
    assert after != before
