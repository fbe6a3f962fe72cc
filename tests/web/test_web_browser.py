"""The whole loop in a real browser (Debian's chromium, headless, driven by Playwright) against a real
uvicorn server on 127.0.0.1, on a real SQLite file with the sample ledger. Time is the app's injected
clock, moved by the test: no sleeping.

staff logs a blocker → the inspection office assigns it → time passes the deadline and the sweep runs →
the contracting county leader sees it red on the dashboard → the unit submits a resolution → the
inspector sends it back → the unit resubmits → the inspector closes it with a rating.

Screenshots of the dashboard, the ledger and the problem page go to the test's temporary folder, and
to docs/screenshots/ when DUBAN_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from webkit import PASSWORD, PROJECT, Clock, Web, at, build_db

from tests.servers import bound_socket

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]

if not Path(CHROMIUM).exists():
    # Skip on a developer machine without it; on CI a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        raise RuntimeError("Debian's chromium is required on CI: apt-get install -y chromium")
    pytest.skip("chromium not installed (apt-get install -y chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(tmp_path, web_rules, password_hash):
    import uvicorn

    from notifications.config import MailConfig
    from service.sample import load_sample
    from web.app import create_app
    from web.settings import WebSettings

    engine = build_db(tmp_path / "duban.db", password_hash)
    clock = Clock(at("2024-03-04T09:00"))
    load_sample(engine, web_rules, clock())
    mail = MailConfig.from_env({"DUBAN_MAIL_DIR": str(tmp_path / "mail")})
    app = create_app(engine, web_rules, clock, WebSettings(secret_key="b" * 48), mail=mail)
    sock = bound_socket()  # port 0: the kernel's choice, so parallel tests never collide
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    app.state.duban.jobs.sweep()  # the scheduler's first round, as at start-up
    yield Web(engine, web_rules, clock, app), f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(15)
    sock.close()
    engine.dispose()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _login(browser, base: str, login: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())  # the 确定要…吗？ confirmations
    page.goto(f"{base}/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    return page


def _open_action(page, action: str):
    page.click(f"#act-{action} summary")
    return page.locator(f"#act-{action} form")


def test_the_loop_in_a_browser(server, browser, tmp_path):
    web, base = server
    shots = tmp_path / "shots"
    shots.mkdir()

    # 1. The unit's staff member logs a blocker.
    staff = _login(browser, base, "staff")
    staff.click("text=登记问题")
    staff.select_option("#project", label="嘉润综合物流园区")
    staff.select_option("#category", "land")
    staff.fill("#title", "二期冷链仓储用地预审未办结")
    staff.fill("#description", "用地预审与选址意见书申报材料被退回补正。")
    staff.select_option("#unit", label="自然资源局")
    staff.click("button:has-text('登记')")
    staff.wait_for_url("**/problems/WT-*")
    code = staff.url.rsplit("/", 1)[1]
    assert staff.locator("#state").inner_text() == "发现"
    assert "已登记问题" in staff.inner_text(".flash")

    # 2. The inspection office assigns it to the unit's staff member.
    insp = _login(browser, base, "insp")
    insp.goto(f"{base}/problems/{code}")
    form = _open_action(insp, "assign")
    form.locator("select[name=unit]").select_option("ziranziyuan")
    form.locator("input[name=person]").fill("staff")
    form.locator("input[name=leader]").fill("head")
    form.locator("input[name=section]").fill("耕地保护股")
    form.locator("button[type=submit]").click()
    insp.wait_for_url(f"**/problems/{code}")
    assert insp.locator("#state").inner_text() == "交办"
    deadline = web.service.get(code).deadline

    # 3. Time passes the deadline and its grace; the scheduler's sweep escalates it (red).
    web.clock.set("2024-04-30T09:00")
    assert deadline < web.clock().date()
    web.app.state.duban.jobs.sweep()
    assert web.service.get(code).level == "county_leader"

    # 4. The county leader who contracts the project sees it red on the dashboard.
    lead = _login(browser, base, "lead")
    mine = lead.locator(f".card:has(h2:text('我的事项')) tr[data-code='{code}']")
    assert mine.get_attribute("data-light") == "red"
    assert mine.locator(".light").inner_text() == "红灯"
    assert lead.locator(f".card:has(h2:text('红灯事项')) tr[data-code='{code}']").count() == 1
    lead.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    lead.goto(f"{base}/ledger?sort=-light")
    assert lead.locator(f"#ledger tr[data-code='{code}']").get_attribute("data-light") == "red"
    assert lead.locator("#ledger tbody tr").first.get_attribute("data-light") == "red"  # most severe first
    lead.screenshot(path=str(shots / "ledger.png"), full_page=True)

    # 5. The unit submits a resolution.
    staff.goto(f"{base}/problems/{code}")
    form = _open_action(staff, "resolve")
    form.locator("textarea[name=resolution]").fill("已取得用地预审与选址意见书。")
    form.locator("button[type=submit]").click()
    staff.wait_for_url(f"**/problems/{code}")
    assert staff.locator("#state").inner_text() == "待审核"

    # 6. The inspector sends it back from the review queue…
    insp.goto(f"{base}/review")
    card = insp.locator(f".card[data-code='{code}']")
    send_back = card.locator("form[action*='/actions/send_back']")  # the close form has its own 不合格 reason
    send_back.locator("input[name=reason]").fill("缺意见书扫描件")
    send_back.locator("button:has-text('退回')").click()
    insp.wait_for_url("**/review")
    assert "已退回" in insp.inner_text(".flash")
    assert insp.locator(f".card[data-code='{code}']").count() == 0

    # …the unit resubmits with the missing document…
    staff.goto(f"{base}/problems/{code}")
    assert staff.locator("#state").inner_text() == "督办"
    form = _open_action(staff, "resolve")
    form.locator("textarea[name=resolution]").fill("已补充意见书文号及扫描件。")
    form.locator("button[type=submit]").click()
    staff.wait_for_url(f"**/problems/{code}")

    # …and the inspector closes it with a rating.
    insp.goto(f"{base}/review")
    card = insp.locator(f".card[data-code='{code}']")
    card.locator("select[name=rating]").select_option("good")
    card.locator("button:has-text('销号')").click()
    insp.wait_for_url("**/review")
    insp.goto(f"{base}/problems/{code}")
    assert insp.locator("#state").inner_text() == "销号"
    actions = insp.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions[:2] == ["log", "assign"] and actions[-4:] == ["resolve", "send_back", "resolve", "close"]
    # The sweep's escalation is in the timeline as the system's (not a person's), between assignment and
    # the first resolution.
    auto = insp.locator("#timeline li.system[data-action='escalate']")
    assert auto.count() == 1 and "层级：" in auto.inner_text()
    assert actions.index("assign") < actions.index("escalate") < actions.index("resolve")
    assert "良好" in insp.inner_text("#timeline")
    assert insp.locator("#notices tbody tr").count() > 5
    insp.screenshot(path=str(shots / "problem.png"), full_page=True)

    p = web.service.get(code)
    assert p.state == "closed" and p.rating == "good"
    for name in ("dashboard.png", "ledger.png", "problem.png"):
        assert (shots / name).stat().st_size > 10_000
    if os.environ.get("DUBAN_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("dashboard.png", "ledger.png", "problem.png"):
            shutil.copy(shots / name, target / name)


def _phone(browser, base: str, login: str):
    """A logged-in page on a 375 px wide phone screen."""
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{base}/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    return page


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width} px wide on a 375 px phone"


def test_evidence_from_a_phone(server, browser, tmp_path):
    """A unit applies to close with a photo from the phone's camera; the inspector sees it beside the
    timeline and closes; an inspection with a photo goes into the month's bulletin. All at 375 px."""
    from tests import evidence_files as ef

    web, base = server
    shots = tmp_path / "shots"
    shots.mkdir()
    code = web.problem("assigned")
    staff = _phone(browser, base, "staff")
    staff.goto(f"{base}/ledger")
    assert staff.locator(".card").count() > 0  # the ledger as cards
    _no_sideways_scroll(staff)
    staff.screenshot(path=str(shots / "phone-ledger.png"), full_page=True)

    staff.goto(f"{base}/problems/{code}")
    form = _open_action(staff, "resolve")
    camera = form.locator("#resolve-camera")
    assert camera.get_attribute("accept") == "image/*" and camera.get_attribute("capture") == "environment"
    _no_sideways_scroll(staff)
    staff.screenshot(path=str(shots / "phone-resolve-form.png"), full_page=True)
    form.locator("textarea[name=resolution]").fill("已取得用地预审意见书，现场照片见附件。")
    camera.set_input_files({"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": ef.photo(orientation=6)})
    form.locator("button[type=submit]").click()
    staff.wait_for_url(f"**/problems/{code}")
    assert "附件 1 个" in staff.inner_text(".flash") and staff.locator("#state").inner_text() == "待审核"
    _no_sideways_scroll(staff)

    insp = _phone(browser, base, "insp")
    insp.goto(f"{base}/problems/{code}")
    thumb = insp.locator("img.thumb").first
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "北纬 35.48681°" in insp.inner_text("body")
    _no_sideways_scroll(insp)
    insp.screenshot(path=str(shots / "phone-problem.png"), full_page=True)
    form = _open_action(insp, "close")
    form.locator("button[type=submit]").click()
    insp.wait_for_url(f"**/problems/{code}")
    assert insp.locator("#state").inner_text() == "销号"

    insp.goto(f"{base}/inspections/new")
    _no_sideways_scroll(insp)
    insp.select_option("#i-project", label=PROJECT)
    insp.fill("#i-date", "2024-03-04")
    insp.fill("#i-inspectors", "张督查")
    insp.fill("#i-seen", "冷库主体已封顶")
    insp.select_option("#i-finding", "rectified")
    insp.fill("#i-problems", code)
    insp.locator("#inspection-camera").set_input_files(
        {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": ef.photo(seed=9)}
    )
    insp.screenshot(path=str(shots / "phone-inspection-form.png"), full_page=True)
    insp.click("button:has-text('保存督查记录')")
    insp.wait_for_url("**/inspections/*")
    assert "已整改" in insp.inner_text("body")
    _no_sideways_scroll(insp)
    insp.screenshot(path=str(shots / "phone-inspection.png"), full_page=True)
    insp.goto(f"{base}/inspections?month=2024-03")
    _no_sideways_scroll(insp)
    insp.screenshot(path=str(shots / "phone-inspections.png"), full_page=True)
    insp.goto(f"{base}/reports/inspections?month=2024-03")
    assert insp.locator("img[src^='data:image/jpeg']").count() == 1 and "冷库主体已封顶" in insp.inner_text("body")
    insp.screenshot(path=str(shots / "phone-bulletin.png"), full_page=True)
    for shot in shots.iterdir():
        assert shot.stat().st_size > 10_000
