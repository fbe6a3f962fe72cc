"""Search and paging through the web and the API: hostile search strings and forged cursors answered with
results or a 400 (never a 500, never an FTS error), the highlight escaped, the API walked by cursor; and two
app instances on one PostgreSQL database — two ``duban serve --workers`` processes — sharing the session,
the CSRF token and the login throttle with requests alternating between them."""

from __future__ import annotations

import re

import pytest
from webkit import PASSWORD, Clock, Web, at, build_db, csrf_of, database_for

from tests import backends
from web.app import create_app
from web.settings import WebSettings

pytestmark = [pytest.mark.web]
both_databases = pytest.mark.parametrize("backend", backends.BACKENDS)  # the search SQL differs by backend

HOSTILE = [
    "%",
    "_",
    "\\",
    "'",
    '"',
    '"泵站',
    "泵站 NEAR 用地",
    "泵站 AND 用地",
    "泵站 OR",
    "NOT",
    "*",
    "泵站*",
    "(泵站",
    "title:泵站",
    "^泵站",
    "   ",
    "😀🏗️泵站",
    "\x00\x01泵站\x1f",
    "泵" * 1000,
    "%_%\\'--;",
]
codes = lambda html: re.findall(r'<tr data-code="(WT-[\d-]+)"', html)  # noqa: E731


@both_databases
def test_hostile_search_strings_get_results_or_a_clear_400(web):
    found = web.problem("assigned", title="泵站用地<b>预审</b>未批复")
    c = web.login("insp")
    for q in HOSTILE:
        page = c.get("/ledger", params={"q": q})
        assert page.status_code in (200, 400), (q, page.status_code)
        assert "fts5" not in page.text.lower() and "syntax" not in page.text.lower(), q
        api = c.get("/api/v1/problems", params={"q": q})
        assert api.status_code in (200, 422, 400), (q, api.status_code)
        assert "fts5" not in api.text.lower() and "syntax" not in api.text.lower(), q
        if api.status_code == 200:
            assert {i["code"] for i in api.json()["items"]} <= {found}, q
    # Wildcards and operators are plain text: they find a title that contains them, and only that one.
    literal = web.problem("discovered", title='资金到位率100%_以上 "NEAR" 复核*')
    for q in ("100%_", '"NEAR"', "复核*", "率100"):
        assert codes(c.get("/ledger", params={"q": q}).text) == [literal], q
    assert codes(c.get("/ledger", params={"q": "泵站用地"}).text) == [found]
    # The highlight is escaped: the title's markup shows as text, only <mark> is markup.
    html = c.get("/ledger", params={"q": "预审"}).text
    assert "&lt;b&gt;<mark>预审</mark>&lt;/b&gt;" in html and "<b>预审" not in html


@both_databases
def test_api_walks_the_ledger_by_cursor_and_refuses_a_forged_one(web):
    made = [web.problem("discovered", title=f"游标翻页问题{n}") for n in range(5)]
    c = web.login("insp")
    first = c.get("/api/v1/problems", params={"per_page": 2}).json()
    assert first["page"] == 1 and first["prev_cursor"] is None
    seen, body = [i["code"] for i in first["items"]], first
    while body["next_cursor"]:
        body = c.get("/api/v1/problems", params={"per_page": 2, "cursor": body["next_cursor"]}).json()
        seen += [i["code"] for i in body["items"]]
    assert seen == sorted(made, reverse=True) and body["page"] == 3
    search = c.get("/api/v1/problems", params={"q": "游标翻页", "per_page": 2}).json()
    assert search["items"][0]["match"]["rank"] == "title"
    for forged in ("x", "不是游标", first["next_cursor"][:-3] + "AAA"):
        r = c.get("/api/v1/problems", params={"cursor": forged})
        assert r.status_code == 400 and r.json()["field"] == "cursor", (forged, r.text)
        page = c.get("/ledger", params={"cursor": forged})
        assert page.status_code == 400 and "翻页位置" in page.text
    # The web pager links to the next page by cursor, and following it shows the next rows.
    html = c.get("/ledger", params={"per_page": 2}).text
    link = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert codes(c.get(link).text) == sorted(made, reverse=True)[2:4]


@pytest.fixture
def two_workers(web_rules, password_hash, tmp_path):
    """Two apps on one PostgreSQL database with one signing key: what two worker processes share."""
    target, cleanup = database_for("postgresql", tmp_path)
    engine = build_db(target, password_hash)
    clock = Clock(at("2024-01-08"))
    settings = WebSettings(secret_key="w" * 48, login_max_failures=3, login_window_seconds=600)
    apps = [Web(engine, web_rules, clock, create_app(engine, web_rules, clock, settings)) for _ in range(2)]
    yield apps
    for w in apps:
        for client in w.clients:
            client.close()
    engine.dispose()
    cleanup()


@pytest.mark.pg
def test_session_csrf_and_throttle_across_two_workers(two_workers):
    a_web, b_web = two_workers
    a, b = a_web.client(), b_web.client()

    def hop(src, dst):  # the browser's cookies go with it to whichever worker answers next
        dst.cookies.clear()
        dst.cookies.update(src.cookies)

    # Sign in: the form from worker A, the post to worker B.
    token = csrf_of(a, "/login")
    hop(a, b)
    assert b.post("/login", data={"login": "insp", "password": PASSWORD, "csrf_token": token}).status_code == 303
    hop(b, a)
    token = csrf_of(a, "/dashboard")  # signed in on B, the session (and its new token) read on A
    # A form action: the page from A, the post to B, the result read on A.
    code = a_web.problem("review", title="两个进程之间的问题")
    page = a.get(f"/problems/{code}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    hop(a, b)
    r = b.post(f"/problems/{code}/actions/close", data={"rating": "good", "version": version, "csrf_token": token})
    assert r.status_code == 303, r.text
    assert a.get("/api/v1/problems", params={"q": code}).json()["items"][0]["state"] == "closed"
    # A forged token is refused by either worker.
    assert b.post(f"/problems/{code}/actions/note", data={"text": "x", "csrf_token": "forged"}).status_code == 403
    # Failed sign-ins alternate between the workers and are counted together.
    x, y = a_web.client(), b_web.client()
    token, last = csrf_of(x, "/login"), x
    for n in range(3):
        dst = y if n % 2 == 0 else x
        hop(last, dst)
        r = dst.post("/login", data={"login": "staff", "password": "wrong-password", "csrf_token": token})
        assert r.status_code == 401, (n, r.text[:200])
        last = dst
    for client in (x, y):
        hop(last, client)
        r = client.post("/login", data={"login": "staff", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 429 and "登录失败次数过多" in r.text
        last = client
