"""Login throttling per address as well as per login and address, counted in the database so every worker
process shares it: a password spray from one address is stopped with 429 and Retry-After."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from seckit import PASSWORD, csrf_of, snapshot

from web.settings import WebSettings

pytestmark = [pytest.mark.web]

# 23 login names, real and made up, 4 guesses each: under the per-login limit (5) every time.
LOGINS = ["staff", "head", "town", "townhead", "lead", "lead2", "insp", "insp2", "admin"] + [
    f"guess{i:02d}" for i in range(14)
]


def client_from(w, app, ip: str) -> TestClient:
    c = TestClient(app, base_url="http://testserver", follow_redirects=False, client=(ip, 40000))
    w.clients.append(c)
    return c


def test_a_password_spray_from_one_address_is_stopped(sec_any):
    w = sec_any
    attacker = client_from(w, w.app, "203.0.113.7")
    token = csrf_of(attacker, "/login")
    statuses = []
    for round_ in range(4):
        for login in LOGINS:
            r = attacker.post("/login", data={"login": login, "password": f"Spring2024!{round_}", "csrf_token": token})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert "本机地址登录失败次数过多，请 15 分钟后再试" in r.text
                assert 0 < int(r.headers["retry-after"]) <= 900
    assert len(statuses) == 92
    assert statuses[:30] == [401] * 30 and statuses[30:] == [429] * 62
    assert w.count("login_failure") == 30  # refused attempts are not counted, nor their passwords checked

    # The right password from that address is refused too, and no session is started.
    before = snapshot(w)
    r = attacker.post("/login", data={"login": "staff", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and w.count("user_session") == 0 and snapshot(w) == before

    # Another worker process counts the same rows; another address is not affected.
    elsewhere = client_from(w, w.another_app().app, "203.0.113.7")
    r = elsewhere.post(
        "/login", data={"login": "head", "password": PASSWORD, "csrf_token": csrf_of(elsewhere, "/login")}
    )
    assert r.status_code == 429
    office = client_from(w, w.app, "10.12.0.31")
    r = office.post("/login", data={"login": "staff", "password": PASSWORD, "csrf_token": csrf_of(office, "/login")})
    assert r.status_code == 303

    # When the window has passed the address may try again.
    w.wall.now += timedelta(minutes=15, seconds=1)
    r = attacker.post("/login", data={"login": "staff", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303


def test_per_login_limit_still_holds_and_a_success_clears_only_its_own_count(sec):
    c = client_from(sec, sec.app, "198.51.100.2")
    token = csrf_of(c, "/login")
    for _ in range(4):
        assert c.post("/login", data={"login": "town", "password": "wrong-one", "csrf_token": token}).status_code == 401
    assert c.post("/login", data={"login": "staff", "password": "nope", "csrf_token": token}).status_code == 401
    assert c.post("/login", data={"login": "town", "password": PASSWORD, "csrf_token": token}).status_code == 303
    assert sec.count("login_failure", "WHERE login = 'town'") == 0
    assert sec.count("login_failure", "WHERE login = 'staff'") == 1
    c2 = client_from(sec, sec.app, "198.51.100.2")
    token = csrf_of(c2, "/login")
    for _ in range(5):
        c2.post("/login", data={"login": "head", "password": "wrong-one", "csrf_token": token})
    r = c2.post("/login", data={"login": "head", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "该账号在本机登录失败次数过多" in r.text


def test_throttle_settings(monkeypatch):
    monkeypatch.setenv("DUBAN_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DUBAN_LOGIN_MAX_FAILURES_PER_IP", "12")
    policy = WebSettings.from_env().throttle_policy()
    assert policy.per_ip == 12 and policy.per_login == 5 and policy.window == timedelta(minutes=15)
    assert WebSettings(secret_key="x" * 40).throttle_policy().per_ip == 30
