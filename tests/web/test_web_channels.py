"""The inbox (站内消息), delivery choices and the administrators' channel and outbox pages, over HTTP on a real
database; the inbox API with a bearer token."""

from __future__ import annotations

import re

import pytest
from test_web_api import h, token_for
from webkit import csrf_of

from notifications.channel_config import ChannelSettings

pytestmark = pytest.mark.web


def _unread(html: str) -> int:
    m = re.search(r'id="unread-count">(\d+)<', html)
    return int(m.group(1)) if m else 0


def test_inbox_unread_count_mark_one_and_all(web):
    web.problem("assigned")
    web.problem("assigned", title="规划许可未办结")
    staff = web.login("staff")
    page = staff.get("/dashboard").text
    assert _unread(page) == 2  # one 交办 notice per problem, in the header on every page

    html = staff.get("/inbox").text
    ids = re.findall(r'<tr class="unread" data-id="(\d+)"', html)
    assert len(ids) == 2 and "交办" in html
    token = csrf_of(staff, "/inbox")
    r = staff.post(f"/inbox/{ids[0]}/read", data={"csrf_token": token})
    assert r.status_code == 303
    assert _unread(staff.get("/inbox").text) == 1

    # Someone else's message: not found, nothing changes.
    head = web.login("head")
    r = head.post(f"/inbox/{ids[1]}/read", data={"csrf_token": csrf_of(head, "/inbox")})
    assert r.status_code == 404
    assert _unread(staff.get("/inbox").text) == 1

    r = staff.post("/inbox/read-all", data={"csrf_token": token})
    assert r.status_code == 303
    html = staff.get("/inbox").text
    assert _unread(html) == 0 and 'class="unread"' not in html and "已读" in html


def test_inbox_api(web):
    web.problem("assigned")
    c = web.client()
    token = token_for(web, "staff")
    body = c.get("/api/v1/inbox", headers=h(token)).json()
    assert body["unread"] == 1 and len(body["items"]) == 1 and body["items"][0]["read"] is False
    nid = body["items"][0]["id"]
    assert c.post(f"/api/v1/inbox/{nid}/read", headers=h(token)).json() == {"id": nid, "unread": 0}
    assert c.get("/api/v1/inbox?unread=true", headers=h(token)).json() == {"unread": 0, "items": []}
    assert c.get("/api/v1/inbox").status_code == 401
    other = token_for(web, "head")
    assert c.post(f"/api/v1/inbox/{nid}/read", headers=h(other)).status_code == 404


def test_preferences_page_saves_choices(web):
    staff = web.login("staff")
    html = staff.get("/preferences").text
    assert 'name="assignment:inbox"' in html and "默认" in html
    token = csrf_of(staff, "/preferences")
    r = staff.post("/preferences", data={"csrf_token": token, "assignment:inbox": "1"})
    assert r.status_code == 303
    html = staff.get("/preferences").text
    assert re.search(r'name="assignment:inbox" value="1"[^>]*checked', html)
    assert not re.search(r'name="assignment:email" value="1"[^>]*checked', html)


def test_admin_channels_and_outbox_pages(web):
    web.app.state.channel_settings = ChannelSettings(allow_http=True)
    assert web.login("staff").get("/admin/channels").status_code == 403
    admin = web.login("admin")
    token = csrf_of(admin, "/admin/channels")
    form = {"csrf_token": token, "name": "自然资源局工作群", "kind": "wecom", "owner": "unit", "unit": "ziranziyuan"}
    r = admin.post("/admin/channels", data={**form, "url": "ftp://x.example/hook"})
    assert r.status_code == 400 and "ftp://x.example/hook" in r.text
    r = admin.post("/admin/channels", data={**form, "url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=abcdef123456"})
    assert r.status_code == 303
    html = admin.get("/admin/channels").text
    assert "自然资源局工作群" in html and "abcdef123456" not in html  # the key is masked
    web.problem("assigned")
    assert "没有符合条件的通知" in admin.get("/admin/outbox").text  # failures by default: none
    html = admin.get("/admin/outbox?status=pending&channel=wecom").text
    assert "自然资源局工作群" in html and "待发送" in html
