"""Every 4xx and 5xx — including those Starlette and FastAPI raise before any handler of ours — carries the
security headers and a stable Chinese body (JSON for the API, a page otherwise); bodies that cannot be parsed
are ``invalid_value`` in Chinese; request bodies over the limit are 413; every authenticated answer is
``Cache-Control: no-store``; the admin forms refuse what the API refuses."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from seckit import csrf_of, make_sec, snapshot

pytestmark = [pytest.mark.web]

MIB = 1024 * 1024
KEYS = {"code", "field", "value", "message"}


def guarded(r, cache: bool = True) -> None:
    """The security headers (web/app.py SECURITY_HEADERS) and, unless a static file, no-store."""
    assert r.headers["x-content-type-options"] == "nosniff", r.headers
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    if cache:
        assert r.headers["cache-control"] == "no-store", (r.url, r.headers.get("cache-control"))


def api_error(r, status: int, code: str, text: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == KEYS and body["code"] == code and text in body["message"], body
    assert all(ord(ch) < 0x3000 for ch in body["code"])  # the code stays English; the message is Chinese
    guarded(r)
    return body


def page_error(r, status: int, text: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html") and text in r.text, r.text[:500]
    assert "Traceback" not in r.text and "Not Found" not in r.text and "Method Not Allowed" not in r.text
    guarded(r)


def test_router_errors_have_headers_and_chinese_bodies(sec):
    c = sec.client()
    api_error(c.get("/api/v1/nothing-here"), 404, "not_found", "页面或接口不存在")
    api_error(c.put("/api/v1/problems"), 405, "method_not_allowed", "不支持该请求方法")
    page_error(c.get("/nothing-here"), 404, "页面或接口不存在")
    page_error(c.delete("/login"), 405, "不支持该请求方法")
    page_error(c.get("/static/missing.css"), 404, "页面或接口不存在")
    r = c.put("/api/v1/problems")
    assert "GET" in r.headers["allow"]  # Starlette's own header survives
    api_error(c.get("/api/v1/problems%00"), 400, "invalid_value", "不允许的控制字符")
    guarded(c.get("/static/style.css"), cache=False)  # static files may be cached


def test_body_parse_errors_are_invalid_value_in_chinese(sec):
    admin = sec.login("admin")
    h = {"X-CSRF-Token": csrf_of(admin, "/dashboard"), "Content-Type": "application/json"}
    before = snapshot(sec)
    api_error(admin.post("/api/v1/problems", content=b"{bad json", headers=h), 400, "invalid_value", "JSON 格式无效")
    # Not UTF-8: FastAPI's own "There was an error parsing the body" (English, code "error") before.
    api_error(
        admin.post("/api/v1/problems", content=b'\xff\xfe{"t', headers=h), 400, "invalid_value", "请求内容无法解析"
    )
    api_error(admin.post("/api/v1/problems", content=b"[1, 2]", headers=h), 400, "invalid_value", "应为 JSON 对象")
    c = sec.client()
    r = c.post("/login", content=b"garbage", headers={"content-type": "multipart/form-data"})
    page_error(r, 400, "请求内容无法解析")
    assert snapshot(sec) == before


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(sec):
    before = snapshot(sec)
    c = sec.client()
    r = c.post(
        "/api/v1/problems", content=b"{" + b" " * (MIB + 10) + b"}", headers={"content-type": "application/json"}
    )
    api_error(r, 413, "payload_too_large", "请求内容过大：最多 1 MiB（1048576 字节）")
    assert r.headers["connection"] == "close"
    r = c.post(
        "/login", content=b"login=" + b"x" * (2 * MIB), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    page_error(r, 413, "请求内容过大：最多 1 MiB")
    admin = sec.login("admin")
    token = csrf_of(admin, "/problems/new")
    r = admin.post("/problems/new", data={"title": "x" * (MIB + 1), "csrf_token": token})
    page_error(r, 413, "请求内容过大")
    assert snapshot(sec) == before


def test_a_streamed_body_is_cut_off_at_the_limit(sec):
    """No Content-Length (chunked): the body is counted as it comes and refused once past the limit."""
    pulled = []

    def chunks(n):
        for i in range(n):
            pulled.append(i)
            yield b" " * 65536

    c = sec.client()
    before = snapshot(sec)
    r = c.post("/api/v1/problems", content=chunks(40), headers={"content-type": "application/json"})
    api_error(r, 413, "payload_too_large", "请求内容过大")
    r = c.post("/login", content=chunks(40), headers={"content-type": "application/x-www-form-urlencoded"})
    page_error(r, 413, "请求内容过大")
    assert snapshot(sec) == before


def test_the_body_limit_is_a_setting_per_route(tmp_path, sec_rules, sec_hash, monkeypatch):
    w = make_sec(
        f"sqlite:///{tmp_path / 'limits.db'}",
        sec_rules,
        sec_hash,
        max_body_bytes=4096,
        route_body_limits=(("/api/v1/problems/*/transitions/*", 200),),
    )
    admin = w.login("admin")
    code = w.problem("assigned")
    h = {"X-CSRF-Token": csrf_of(admin, "/dashboard")}
    r = admin.post(f"/api/v1/problems/{code}/transitions/note", json={"text": "长" * 100}, headers=h)
    api_error(r, 413, "payload_too_large", "最多 200 字节")
    r = admin.post(
        "/api/v1/problems", json={"project": "嘉润综合物流园区", "category": "land", "title": "短"}, headers=h
    )
    assert r.status_code == 201
    r = admin.post("/api/v1/problems", json={"project": "x", "category": "land", "title": "题" * 2000}, headers=h)
    api_error(r, 413, "payload_too_large", "最多 4096 字节")
    w.engine.dispose()
    monkeypatch.setenv("DUBAN_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DUBAN_MAX_BODY_BYTES", "65536")
    from web.settings import WebSettings

    assert WebSettings.from_env().body_limit("/api/v1/problems") == 65536
    assert WebSettings(secret_key="k" * 40).body_limit("/login") == MIB


def test_server_errors_have_the_headers_too(sec, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("boom: secret detail")

    monkeypatch.setattr("service.ledger.browse", boom)
    browser = sec.login("staff")
    c = TestClient(sec.app, raise_server_exceptions=False, cookies=dict(browser.cookies))
    body = api_error(c.get("/api/v1/problems"), 500, "internal_error", "服务器内部错误")
    assert "boom" not in body["message"]
    r = c.get("/ledger")
    page_error(r, 500, "服务器内部错误")
    assert "boom" not in r.text
    c.close()


def test_no_store_on_every_authenticated_answer(sec):
    code = sec.problem("assigned")
    staff = sec.login("staff")
    for path in (
        "/dashboard",
        "/ledger",
        f"/problems/{code}",
        "/ledger.xlsx",
        "/ledger.csv",
        "/reports/dispatch?period=2024-01",
        "/reports/dispatch.xlsx?period=2024-01",
        "/reports/agenda?meeting=2024-01-25",
        "/api/v1/me",
        "/api/v1/problems",
        f"/api/v1/problems/{code}",
        "/api/v1/users",
    ):
        r = staff.get(path)
        assert r.status_code == 200, (path, r.status_code)
        guarded(r)
    guarded(staff.get("/login", follow_redirects=False))


@pytest.mark.parametrize(
    "path,form,message",
    [
        (
            "/admin/users",
            {"login": "long.name", "name": "名" * 10_000, "unit": "duchashi", "role": "staff"},
            "姓名过长：10000 个字符，最多 64 个字符",
        ),
        ("/admin/users", {"login": "l" * 10_000, "name": "名", "unit": "duchashi", "role": "staff"}, "登录名"),
        (
            "/admin/units",
            {"code": "longunit", "name": "单" * 10_000, "kind": "department"},
            "单位名称过长：10000 个字符，最多 128 个字符",
        ),
        ("/admin/projects", {"name": "项" * 10_000, "unit": "kaifaqu"}, "项目名称过长：10000 个字符，最多 200 个字符"),
    ],
)
def test_admin_forms_apply_the_api_caps(sec, path, form, message):
    admin = sec.login("admin")
    before = snapshot(sec)
    r = admin.post(path, data={**form, "csrf_token": csrf_of(admin, path)})
    assert r.status_code == 400 and message in r.text, r.text[:2000]
    guarded(r)
    assert snapshot(sec) == before
    api_path = "/api/v1" + path.removeprefix("/admin")
    r = admin.post(api_path, json=form, headers={"X-CSRF-Token": csrf_of(admin, "/dashboard")})
    api_error(r, 400, "invalid_value", "过长")
    assert snapshot(sec) == before
