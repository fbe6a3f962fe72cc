"""The inbox (站内消息) in a real browser (Debian's chromium, headless, Playwright) against uvicorn on 127.0.0.1:
the header's unread count, mark one read, mark all read; the preferences and admin channel pages render.
Screenshots go to the test's temporary folder, and to docs/screenshots/ when DUBAN_SCREENSHOTS=1."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest
from test_web_browser import ARGS, CHROMIUM, ROOT
from webkit import PASSWORD, Clock, Web, at, build_db

from tests.servers import bound_socket

pytestmark = [pytest.mark.web, pytest.mark.browser]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(tmp_path, web_rules, password_hash):
    import uvicorn

    from web.app import create_app
    from web.settings import WebSettings

    engine = build_db(tmp_path / "duban.db", password_hash)
    clock = Clock(at("2024-03-04T09:00"))
    app = create_app(engine, web_rules, clock, WebSettings(secret_key="i" * 48))
    sock = bound_socket()
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield Web(engine, web_rules, clock, app), f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(15)
    sock.close()
    engine.dispose()


def test_inbox_in_a_browser(server, tmp_path):
    web, base = server
    for title in ("二期冷链仓储用地预审未办结", "规划许可证核发超期", "施工许可材料退回"):
        web.problem("assigned", title=title)
    shots = tmp_path / "shots"
    shots.mkdir()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
        page.goto(f"{base}/login")
        page.fill("#login", "staff")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")
        assert page.inner_text("#unread-count") == "3"

        page.click("#inbox-link")
        page.wait_for_url("**/inbox")
        assert page.locator("#inbox tr.unread").count() == 3
        page.screenshot(path=str(shots / "inbox.png"), full_page=True)

        page.locator("#inbox tr.unread button.mark-read").first.click()
        page.wait_for_load_state()
        assert page.inner_text("#unread-count") == "2"
        assert page.locator("#inbox tr.unread").count() == 2

        page.click("#read-all")
        page.wait_for_load_state()
        assert page.locator("#unread-count").count() == 0
        assert page.locator("#inbox tr.unread").count() == 0
        assert "未读 0 条" in page.inner_text("#inbox-unread")
        page.screenshot(path=str(shots / "inbox-read.png"), full_page=True)

        page.goto(f"{base}/preferences")
        assert page.locator("#prefs input[type=checkbox]").count() > 0
        page.screenshot(path=str(shots / "preferences.png"), full_page=True)

        admin = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
        admin.goto(f"{base}/login")
        admin.fill("#login", "admin")
        admin.fill("#password", PASSWORD)
        admin.click("button[type=submit]")
        admin.wait_for_url("**/dashboard")
        for path in ("/admin/channels", "/admin/outbox?status="):
            admin.goto(f"{base}{path}")
            assert admin.locator("h1, .tabs").count() > 0
            admin.screenshot(path=str(shots / f"{path.split('/')[2].split('?')[0]}.png"), full_page=True)
        browser.close()
    for shot in shots.iterdir():
        assert shot.stat().st_size > 10_000, shot
    if os.environ.get("DUBAN_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, target / shot.name)
