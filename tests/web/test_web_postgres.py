"""The web workspace on PostgreSQL (``DUBAN_TEST_PG``, which .ci/run sets): the pages and API paths
whose SQL differs by backend — ledger filters, search and sorting, dashboard figures (the per-day
series), a form action with its optimistic lock, the Excel export. Skipped locally without a server;
a failure under CI."""

from __future__ import annotations

import re

import pytest
from webkit import Clock, Web, at, build_db, csrf_of, database_for

from service.sweep import run_sweep

pytestmark = [pytest.mark.web, pytest.mark.pg]


@pytest.fixture
def pg_web(web_rules, password_hash, tmp_path):
    from web.app import create_app
    from web.settings import WebSettings

    target, cleanup = database_for("postgresql", tmp_path)
    engine = build_db(target, password_hash)
    clock = Clock(at("2024-01-08"))
    app = create_app(engine, web_rules, clock, WebSettings(secret_key="p" * 48))
    w = Web(engine, web_rules, clock, app)
    yield w
    for client in w.clients:
        client.close()
    engine.dispose()
    cleanup()


def test_pages_and_api_on_postgresql(pg_web):
    web = pg_web
    a = web.problem("assigned", title="甲：用地预审")
    b = web.problem("review", title="乙：林地手续")
    d = web.problem("discovered", title="丙：资金缺口")
    web.clock.set("2024-03-20")
    c = web.login("insp")
    codes = lambda html: re.findall(r'<tr data-code="(WT-[\d-]+)"', html)  # noqa: E731
    assert codes(c.get("/ledger").text) == [d, b, a]
    assert codes(c.get("/ledger?q=林地").text) == [b]
    assert codes(c.get("/ledger?q=" + a.lower()).text) == [a]
    assert codes(c.get("/ledger?overdue=1").text) == [a]
    # Lights come from the sweep: a escalated (red), d unassigned too long (yellow), b in review (green).
    # A problem of another unit must not show under 自然资源局.
    other = web.service.log("town", "町店镇村民阻工项目", "other", "丁：村民阻工", unit="dingdian").code
    run_sweep(web.engine, web.rules, web.clock())
    assert [web.service.get(x).light for x in (a, d, b)] == ["red", "yellow", "green"]
    assert codes(c.get("/ledger?sort=-light&unit=自然资源局").text) == [a, d, b]
    assert codes(c.get("/ledger?sort=light&unit=自然资源局").text) == [b, d, a]
    assert other in codes(c.get("/ledger?sort=-light").text)
    dash = c.get("/dashboard")
    assert dash.status_code == 200 and "<polyline" in dash.text
    api = c.get("/api/v1/problems?state=review").json()
    assert api["total"] == 1 and api["items"][0]["code"] == b
    page = c.get(f"/problems/{b}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = c.post(
        f"/problems/{b}/actions/close",
        data={"rating": "good", "version": version, "csrf_token": csrf_of(c, "/dashboard")},
    )
    assert r.status_code == 303
    r = c.post(
        f"/problems/{b}/actions/note",
        data={"text": "旧版本", "version": version, "csrf_token": csrf_of(c, "/dashboard")},
    )
    assert r.status_code == 409 and "已被他人修改" in r.text
    xlsx = c.get("/ledger.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_a_file_uploaded_through_one_server_is_served_by_another(password_hash, tmp_path):
    """Two `duban serve` processes on one PostgreSQL database, each in its own folder (no shared disk):
    a photo uploaded through the first is downloaded, byte for byte, through the second."""
    import hashlib
    import os
    import signal
    import sys
    from datetime import datetime
    from pathlib import Path

    import httpx

    from models.db import session
    from service import directory
    from service import tokens as tk
    from tests import evidence_files as ef
    from tests.servers import answers, start_server

    duban = str(Path(sys.executable).with_name("duban"))
    target, cleanup = database_for("postgresql", tmp_path)
    engine = build_db(target, password_hash)
    try:
        with session(engine) as s, s.begin():
            token = tk.create(s, directory.view(s).user("staff").id, "test", datetime.now().astimezone())
        servers = []
        for name in ("a", "b"):
            home = tmp_path / name
            home.mkdir()
            env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
            env |= {"DUBAN_SECRET_FILE": str(home / "secret"), "DUBAN_MAIL_DIR": str(home / "mail")}
            servers.append(
                start_server(
                    lambda port: [duban, "--db", target, "serve", "--no-scheduler", "--port", str(port)],
                    lambda port: answers(f"http://127.0.0.1:{port}/login"),
                    env=env,
                    cwd=home,
                )
            )
        try:
            (_, port_a), (_, port_b) = servers
            auth = {"Authorization": f"Bearer {token}"}
            made = httpx.post(
                f"http://127.0.0.1:{port_a}/api/v1/problems",
                headers=auth,
                json={"project": "嘉润综合物流园区", "category": "other", "title": "共享存储", "unit": "自然资源局"},
            )
            assert made.status_code == 201, made.text
            code = made.json()["code"]
            photo = ef.photo(seed=77)
            up = httpx.post(
                f"http://127.0.0.1:{port_a}/api/v1/problems/{code}/attachments",
                headers=auth,
                files=[("files", ("现场.jpg", photo, "image/jpeg"))],
            )
            assert up.status_code == 201, up.text
            att = up.json()["attachments"][0]
            got = httpx.get(f"http://127.0.0.1:{port_b}/api/v1/attachments/{att['id']}", headers=auth)
            assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == att["sha256"]
            assert got.content == photo
            assert not any((tmp_path / n / "var").exists() for n in ("a", "b"))  # nothing on either disk
        finally:
            for proc, _ in servers:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=60)
    finally:
        engine.dispose()
        cleanup()
