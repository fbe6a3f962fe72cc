"""The pages on a real SQLite file: login and sessions, throttling, CSRF, escaping, the ledger's
filters, sorting, paging and Excel download, the problem page and its conflict message, admin pages."""

from __future__ import annotations

import io
import re

import pytest
from webkit import PASSWORD, csrf_of


def test_pages_need_login_and_redirect_back(web):
    c = web.client()
    for path in ("/dashboard", "/ledger", "/problems/new", "/review", "/admin/users"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = c.post(
        "/login",
        data={
            "login": "staff",
            "password": PASSWORD,
            "csrf_token": csrf_of(c, "/login"),
            "next": "/ledger?state=assigned",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/ledger?state=assigned"
    assert c.get("/ledger").status_code == 200


def test_session_cookie_flags(web):
    c = web.client()
    r = c.get("/login")
    cookie = r.headers["set-cookie"]
    assert "duban_session=" in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert r.headers["x-frame-options"] == "DENY" and "default-src 'self'" in r.headers["content-security-policy"]


def test_open_redirect_refused(web):
    c = web.client()
    r = c.post(
        "/login",
        data={"login": "staff", "password": PASSWORD, "csrf_token": csrf_of(c, "/login"), "next": "//evil.example/x"},
    )
    assert r.headers["location"] == "/dashboard"


def test_wrong_password_then_throttled_per_login_and_ip(web):
    c = web.client()
    token = csrf_of(c, "/login")
    for _ in range(3):
        r = c.post("/login", data={"login": "staff", "password": "wrong-password", "csrf_token": token})
        assert r.status_code == 401 and "登录名或密码错误" in r.text
    r = c.post("/login", data={"login": "staff", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "登录失败次数过多" in r.text and int(r.headers["retry-after"]) > 0
    # Another login from the same address is not locked out.
    assert web.login("head").get("/dashboard").status_code == 200


def test_unknown_login_and_user_without_password(web):
    c = web.client()
    token = csrf_of(c, "/login")
    assert c.post("/login", data={"login": "nobody", "password": "x" * 10, "csrf_token": token}).status_code == 401
    from sqlmodel import select

    from models.db import session
    from models.tables import User

    with session(web.engine) as s, s.begin():
        s.exec(select(User).where(User.login == "town")).one().password_hash = None
    assert c.post("/login", data={"login": "town", "password": PASSWORD, "csrf_token": token}).status_code == 401


def test_deactivated_user_is_logged_out_at_once(web):
    staff = web.login("staff")
    admin = web.login("admin")
    r = admin.post("/admin/users/staff/active", data={"active": "0", "csrf_token": csrf_of(admin, "/admin/users")})
    assert r.status_code == 303
    assert staff.get("/dashboard").status_code == 303  # back to the login page


def test_logout_needs_csrf_and_ends_session(web):
    c = web.login("staff")
    assert c.post("/logout", data={}).status_code == 403
    assert c.get("/dashboard").status_code == 200
    assert c.post("/logout", data={"csrf_token": csrf_of(c, "/dashboard")}).status_code == 303
    assert c.get("/dashboard").status_code == 303


@pytest.mark.parametrize(
    "path,data",
    [
        ("/login", {"login": "staff", "password": PASSWORD}),
        ("/problems/new", {"project": "嘉润综合物流园区", "category": "land", "title": "无令牌"}),
        ("/problems/{code}/actions/note", {"text": "无令牌"}),
        ("/admin/users", {"login": "x.y", "name": "X", "unit": "duchashi", "role": "staff"}),
        ("/admin/projects", {"name": "无令牌项目", "unit": "kaifaqu"}),
        ("/admin/units", {"code": "nocsrf", "name": "无令牌单位", "kind": "department"}),
        ("/admin/users/staff/password", {"password": "another-pass-1"}),
        ("/account/password", {"current": PASSWORD, "new": "another-pass-1", "again": "another-pass-1"}),
    ],
)
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_csrf_rejected_without_a_valid_token(web, path, data, token):
    code = web.problem("assigned")
    c = web.client() if path == "/login" else web.login("admin")
    if path == "/login":
        c.get("/login")
    body = dict(data)
    if token:
        body["csrf_token"] = token
    r = c.post(path.format(code=code), data=body)
    assert r.status_code == 403, r.text[:300]
    assert "CSRF" in r.text
    assert len(web.service.history(web.service.get(code).id)) == 2  # log + assign: nothing added


def test_csrf_token_of_another_session_is_refused(web):
    code = web.problem()
    a, b = web.login("admin"), web.login("insp")
    r = a.post(f"/problems/{code}/actions/note", data={"text": "x", "csrf_token": csrf_of(b, "/dashboard")})
    assert r.status_code == 403


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_user_text_is_escaped_everywhere(web):
    code = web.service.log("town", "嘉润综合物流园区", "land", XSS, unit="ziranziyuan", description=XSS).code
    web.service.act("insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section=XSS)
    web.service.act("staff", code, "feedback", text=XSS)
    web.service.act("staff", code, "resolve", resolution=XSS)
    c = web.login("insp")
    for path in (f"/problems/{code}", "/ledger", f"/ledger?q={XSS}", "/dashboard", "/review"):
        html = c.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;" in html, path
    # A form error echoes the typed text back escaped, too.
    r = c.post(f"/problems/{code}/actions/send_back", data={"reason": "", "csrf_token": csrf_of(c, "/review")})
    assert r.status_code == 400 and "<script>alert" not in r.text


def test_stale_version_shows_a_conflict_and_keeps_the_text(web):
    code = web.problem("assigned")
    c = web.login("staff")
    page = c.get(f"/problems/{code}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    web.service.act("insp", code, "note", text="督查室同时备注")  # someone else acts first
    r = c.post(
        f"/problems/{code}/actions/feedback",
        data={"text": "我写的反馈", "version": version, "csrf_token": csrf_of(c, "/dashboard")},
    )
    assert r.status_code == 409
    assert 'data-code="stale_version"' in r.text and "已被他人修改" in r.text and "请刷新后重试" in r.text
    assert "我写的反馈" in r.text  # the text typed is not lost
    assert web.service.get(code).progress == ""


def test_action_errors_render_on_the_problem_page(web):
    code = web.problem("assigned")
    c = web.login("staff")
    token = csrf_of(c, "/dashboard")
    r = c.post(f"/problems/{code}/actions/feedback", data={"text": " ", "csrf_token": token})
    assert r.status_code == 400 and "反馈内容不能为空" in r.text
    r = c.post(f"/problems/{code}/actions/close", data={"csrf_token": token})
    assert r.status_code == 409 and "不能销号" in r.text
    assert c.post(f"/problems/{code}/actions/explode", data={"csrf_token": token}).status_code == 404
    assert c.get("/problems/WT-2024-9999").status_code == 404
    assert c.get("/problems/not-a-code").status_code == 404


def test_full_loop_through_forms(web):
    staff, insp = web.login("staff"), web.login("insp")
    r = staff.post(
        "/problems/new",
        data={
            "project": "嘉润综合物流园区",
            "category": "land",
            "title": "二期用地预审",
            "unit": "ziranziyuan",
            "csrf_token": csrf_of(staff, "/problems/new"),
        },
    )
    code = r.headers["location"].rsplit("/", 1)[1]
    assert "已登记问题" in staff.get(f"/problems/{code}").text  # the flash message

    def act(c, action, **data):
        page = c.get(f"/problems/{code}").text
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        r = c.post(
            f"/problems/{code}/actions/{action}",
            data={**data, "version": version, "csrf_token": csrf_of(c, "/dashboard")},
        )
        assert r.status_code == 303, r.text[:400]

    act(insp, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股", deadline="2024-01-31")
    act(staff, "ack")
    act(staff, "feedback", text="已组卷")
    act(staff, "resolve", resolution="已批复")
    act(insp, "send_back", reason="缺扫描件")
    act(staff, "resolve", resolution="补齐扫描件")
    review = insp.get("/review").text
    assert code in review and "补齐扫描件" in review
    version = re.search(
        rf'/problems/{code}/actions/close\?from=review".*?name="version" value="(\d+)"', review, re.S
    ).group(1)
    r = insp.post(
        f"/problems/{code}/actions/close?from=review",
        data={"rating": "excellent", "version": version, "csrf_token": csrf_of(insp, "/review")},
    )
    assert r.status_code == 303 and r.headers["location"] == "/review"
    p = web.service.get(code)
    assert p.state == "closed" and p.rating == "excellent"
    html = staff.get(f"/problems/{code}").text
    for label in ("登记问题", "交办", "签收", "反馈办理情况", "申请销号", "退回", "销号", "优秀"):
        assert label in html
    assert "交办通知" in html  # the notices table


def _codes(html: str) -> list[str]:
    return re.findall(r'<tr data-code="(WT-[\d-]+)"', html)


def test_ledger_filters_sort_search_and_pages(web):
    s = web.service
    a = web.problem("assigned", title="甲：用地预审")
    b = web.problem("review", title="乙：林地手续")
    d = web.problem("discovered", title="丙：资金缺口")
    c = web.login("town")
    assert _codes(c.get("/ledger").text) == [d, b, a]  # newest first
    assert _codes(c.get("/ledger?sort=code").text) == [a, b, d]
    assert _codes(c.get("/ledger?state=review").text) == [b]
    assert _codes(c.get("/ledger?state=待审核").text) == [b]
    assert _codes(c.get("/ledger?q=林地").text) == [b]
    assert _codes(c.get("/ledger?q=" + a).text) == [a]
    assert _codes(c.get("/ledger?q=%25").text) == []  # LIKE wildcards are literal
    assert _codes(c.get("/ledger?category=land&level=unit").text) == [d, b, a]
    assert _codes(c.get("/ledger?unit=自然资源局&state=assigned").text) == [a]
    page1, page2 = c.get("/ledger?per_page=2").text, c.get("/ledger?per_page=2&page=2").text
    assert _codes(page1) == [d, b] and _codes(page2) == [a] and "第 2 / 2 页" in page2
    assert _codes(c.get("/ledger?overdue=1").text) == []
    web.clock.set("2024-03-20")  # long past the 20-workday land deadline
    assert _codes(c.get("/ledger?overdue=1").text) == [a]
    s.act("insp", a, "note", text="x")
    assert c.get("/ledger?state=nonsense").status_code == 400
    assert "状态的值「nonsense」无效" in c.get("/ledger?state=nonsense").text
    assert c.get("/ledger?page=abc").status_code == 400
    assert c.get("/ledger?sort=title").status_code == 400


def test_ledger_excel_download(web):
    a = web.problem("assigned", title="甲：用地预审")
    web.problem("review", title="乙：林地手续")
    c = web.login("lead")
    r = c.get("/ledger.xlsx")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    assert "attachment" in r.headers["content-disposition"]
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(r.content)).active
    codes = [row[1] for row in ws.iter_rows(min_row=3, values_only=True)]
    assert len(codes) == 2 and a in codes
    only = load_workbook(io.BytesIO(c.get("/ledger.xlsx?state=assigned").content)).active
    assert [row[1] for row in only.iter_rows(min_row=3, values_only=True)] == [a]
    csv = c.get("/ledger.csv?state=assigned")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and a in lines[1]
    assert c.get("/ledger.xlsx?state=bogus").status_code == 400


def test_dashboard_counts_overdue_and_my_items(web):
    a = web.problem("assigned")
    web.problem("review")
    web.clock.set("2024-03-20")
    c = web.login("staff")
    html = c.get("/dashboard").text
    assert "未销号" in html and "自然资源局" in html and a in html
    assert "<svg" in html and "<polyline" in html
    town = web.login("town").get("/dashboard").text
    assert "我的事项" in town


def test_admin_manages_users_units_projects(web):
    admin = web.login("admin")
    token = csrf_of(admin, "/admin/users")
    r = admin.post(
        "/admin/users",
        data={
            "login": "qian.fgj",
            "name": "钱科员",
            "unit": "fagai",
            "role": "staff",
            "email": "qian@yc.example",
            "password": "first-pass-1",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    assert web.login("qian.fgj", "first-pass-1").get("/dashboard").status_code == 200
    r = admin.post(
        "/admin/users",
        data={"login": "qian.fgj", "name": "重复", "unit": "fagai", "role": "staff", "csrf_token": token},
    )
    assert r.status_code == 409 and "已存在" in r.text
    r = admin.post(
        "/admin/users", data={"login": "Bad Login", "name": "X", "unit": "fagai", "role": "staff", "csrf_token": token}
    )
    assert r.status_code == 400 and "登录名" in r.text
    assert (
        admin.post("/admin/users/qian.fgj/password", data={"password": "short", "csrf_token": token}).status_code == 400
    )
    assert (
        admin.post(
            "/admin/users/qian.fgj/password", data={"password": "second-pass-2", "csrf_token": token}
        ).status_code
        == 303
    )
    assert admin.post("/admin/users/admin/active", data={"active": "0", "csrf_token": token}).status_code == 400
    r = admin.post(
        "/admin/units", data={"code": "xinjian", "name": "新建单位", "kind": "department", "csrf_token": token}
    )
    assert r.status_code == 303 and "新建单位" in admin.get("/admin/units").text
    r = admin.post(
        "/admin/projects", data={"name": "新能源项目", "unit": "xinjian", "leader": "lead2", "csrf_token": token}
    )
    assert r.status_code == 303 and "新能源项目" in admin.get("/admin/projects").text
    r = admin.post(
        "/admin/projects", data={"name": "新能源项目2", "unit": "xinjian", "leader": "staff", "csrf_token": token}
    )
    assert r.status_code == 400 and "county_leader" in r.text


def test_change_own_password_ends_other_sessions(web):
    first, second = web.login("staff"), web.login("staff")
    r = first.post(
        "/account/password",
        data={
            "current": "wrong",
            "new": "brand-new-pass",
            "again": "brand-new-pass",
            "csrf_token": csrf_of(first, "/account/password"),
        },
    )
    assert r.status_code == 400 and "当前密码不正确" in r.text
    r = first.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "brand-new-pass",
            "again": "brand-new-pass",
            "csrf_token": csrf_of(first, "/account/password"),
        },
    )
    assert r.status_code == 303
    assert first.get("/dashboard").status_code == 200
    assert second.get("/dashboard").status_code == 303
    web.login("staff", "brand-new-pass")


def test_control_characters_are_refused_at_the_door(web):
    """NUL cannot be stored by PostgreSQL: forms, query strings and paths carrying it get a 400."""
    code = web.problem()
    c = web.login("staff")
    r = c.post(f"/problems/{code}/actions/note", data={"text": "a\x00b", "csrf_token": csrf_of(c, "/dashboard")})
    assert r.status_code == 400 and "控制字符" in r.text
    assert c.get("/ledger?q=a%00b").status_code == 400
    assert c.get(f"/problems/{code}%00").status_code == 400
    assert len(web.service.history(web.service.get(code).id)) == 2


def test_dispatch_report_and_agenda_downloads(web):
    """The same documents as `duban report dispatch` / `duban report agenda`, for anyone logged in."""
    import io

    from docx import Document
    from openpyxl import load_workbook

    # A page, not the API: without a session it sends the browser to the login form and back (the API's
    # 401 is for token clients).
    r = web.client().get("/reports/dispatch?period=2024-01")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/reports/dispatch%3Fperiod%3D2024-01"
    c = web.login("staff")
    r = c.get("/reports/dispatch?period=2024-01")
    assert r.status_code == 200 and "调度通报" in r.text and "<svg" in r.text
    r = c.get("/reports/dispatch.xlsx?period=2024-01&half=1")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    assert load_workbook(io.BytesIO(r.content)).sheetnames
    r = c.get("/reports/agenda?meeting=2024-01-25")
    assert r.status_code == 200 and "会议议题" in r.text
    r = c.get("/reports/agenda.docx?meeting=2024-01-25")
    assert r.status_code == 200 and Document(io.BytesIO(r.content)).paragraphs
    r = c.get("/reports/dispatch?period=2024-13")
    assert r.status_code == 400 and "2024-13" in r.text
