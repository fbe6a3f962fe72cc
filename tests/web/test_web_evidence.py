"""Evidence through HTTP, on SQLite and PostgreSQL: uploads with an action (API and pages), downloads that are
always attachments, every kind of bad upload refused with nothing half-written, 413 before the body is
read, inspections and their bulletin, and importing a ledger from the browser."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from webkit import PROJECT, csrf_of

from models.db import session
from service import directory
from service import tokens as tk
from service.blobstore import FileStore, store_for
from tests import evidence_files as ef
from workflow.evidence import Limits

pytestmark = pytest.mark.web


@pytest.fixture
def web_rules():
    """The rules as shipped, with the [evidence] rule on (the other web tests turn it off)."""
    from workflow.rules import load_rules

    return load_rules()


def token_for(web, login: str) -> str:
    with session(web.engine) as s, s.begin():
        return tk.create(s, directory.view(s).user(login).id, "test", web.clock())


def h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def stored(engine) -> set[str]:
    store = store_for(engine)
    if isinstance(store, FileStore):
        found = {p.name for p in store.root.rglob("*") if p.is_file() and ".staging" not in p.parts}
        staging = store.root / ".staging"
        assert not staging.exists() or not any(staging.iterdir()), "a staging folder was left behind"
        return found
    with engine.connect() as c:
        return set(c.execute(sa.text("SELECT sha256 FROM blob")).scalars())


def attachment_rows(engine) -> int:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT count(*) FROM attachment")).scalar_one()


def test_upload_with_an_action_list_and_download(web):
    code = web.problem("assigned")
    staff = token_for(web, "staff")
    c = web.client()
    photo, scan = ef.photo(orientation=6), ef.pdf(text="approval")
    r = c.post(
        f"/api/v1/problems/{code}/attachments",
        headers=h(staff),
        data={"action": "resolve", "resolution": "已取得用地预审意见书"},
        files=[
            ("files", ("现场照片.jpg", photo, "image/jpeg")),
            ("files", ("预审意见书.pdf", scan, "application/pdf")),
        ],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "review" and [a["name"] for a in body["attachments"]] == ["现场照片.jpg", "预审意见书.pdf"]
    first = body["attachments"][0]
    assert first["meta"]["gps"] == {"lat": 35.486814, "lon": 112.4147, "alt": 712.5}
    assert first["meta"]["taken_at"] == "2024-03-05T10:12:33+08:00" and first["action_label"] == "申请销号"
    listed = c.get(f"/api/v1/problems/{code}/attachments", headers=h(token_for(web, "town"))).json()
    assert [a["sha256"] for a in listed] == [hashlib.sha256(photo).hexdigest(), hashlib.sha256(scan).hexdigest()]
    # The problem's detail carries them too, beside its timeline.
    detail = c.get(f"/api/v1/problems/{code}", headers=h(staff)).json()
    assert [a["name"] for a in detail["history"][-1]["attachments"]] == ["现场照片.jpg", "预审意见书.pdf"]

    r = c.get(f"/api/v1/attachments/{first['id']}", headers=h(staff))
    assert r.status_code == 200 and r.content == photo
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"] == (
        f"attachment; filename=attachment-{first['id']}.jpg; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg"
    )
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    thumb = c.get(f"/api/v1/attachments/{first['id']}/thumbnail", headers=h(staff))
    assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:3] == b"\xff\xd8\xff"
    assert c.get(f"/api/v1/attachments/{body['attachments'][1]['id']}/thumbnail", headers=h(staff)).status_code == 404
    assert c.get(f"/api/v1/attachments/{first['id']}").status_code == 401


BAD = [
    ("setup.jpg", ef.exe, 400, "Windows 可执行程序"),
    ("空白.pdf", lambda: b"", 400, "是空文件"),
    ("损坏.jpg", ef.truncated_jpeg, 400, "图片数据已损坏"),
    ("page.pdf", ef.html, 400, "网页"),
    ("logo.png", ef.svg, 400, "SVG"),
    ("宏.docx", ef.macro_docx, 400, "含宏"),
]


@pytest.mark.parametrize("name, maker, status, words", BAD, ids=[b[0] for b in BAD])
def test_bad_uploads_are_refused_and_leave_nothing(web, name, maker, status, words):
    code = web.problem("assigned")
    before = stored(web.engine)
    r = web.client().post(
        f"/api/v1/problems/{code}/attachments",
        headers=h(token_for(web, "staff")),
        data={"action": "feedback", "text": "附件"},
        files=[("files", ("ok.jpg", ef.photo(seed=40), "image/jpeg")), ("files", (name, maker(), "image/jpeg"))],
    )
    assert r.status_code == status and r.json()["code"] == "invalid_value" and r.json()["field"] == "attachments"
    assert words in r.json()["message"] and name in r.json()["message"]
    assert attachment_rows(web.engine) == 0 and stored(web.engine) == before
    assert web.service.get(code).progress == ""  # the feedback itself was not recorded either


def test_a_file_over_the_limit_is_413(web):
    web.app.state.duban.limits = Limits(max_file=100_000, max_total=300_000, max_files=3)
    code = web.problem("assigned")
    c, token = web.client(), token_for(web, "staff")
    r = c.post(
        f"/api/v1/problems/{code}/attachments",
        headers=h(token),
        files=[("files", ("大照片.jpg", ef.noisy_photo(0.3), "image/jpeg"))],
    )
    assert r.status_code == 413 and r.json()["code"] == "too_large" and "超过单个文件上限 98 KB" in r.json()["message"]
    many = [("files", (f"{n}.pdf", ef.pdf(text=str(n)), "application/pdf")) for n in range(4)]
    r = c.post(f"/api/v1/problems/{code}/attachments", headers=h(token), files=many)
    assert r.status_code == 413 and "一次最多上传 3 个文件" in r.json()["message"]
    assert attachment_rows(web.engine) == 0 and stored(web.engine) == set()


def _asgi_post(app, path: str, headers: list, chunks: list[bytes]) -> tuple[int, int, bytes]:
    """Call the app as a server would, counting how many request-body chunks it actually pulls."""
    pulled = 0
    status, out = 0, bytearray()

    async def receive():
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.extend(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status, pulled, bytes(out)


def test_413_before_the_body_is_read_whole(web):
    web.app.state.duban.limits = Limits(max_file=256 * 1024, max_total=1024 * 1024)
    code = web.problem("assigned")
    auth = ("authorization", f"Bearer {token_for(web, 'staff')}")
    boundary = "----duban-test"
    ctype = ("content-type", f"multipart/form-data; boundary={boundary}")
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="巨大.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    chunks = [head] + [b"\xff" * 65536] * 160 + [f"\r\n--{boundary}--\r\n".encode()]  # a 10 MB file
    path = f"/api/v1/problems/{code}/attachments"
    # Declared over the route's body limit (the upload limits' total and the form around it, through the app's
    # BodyLimit): refused before a single byte of the body is read.
    over = web.app.state.duban.settings.body_limit(path) + 1
    assert over > 100 * 1024 * 1024 and web.app.state.duban.settings.body_limit("/api/v1/problems") == 1024 * 1024
    status, pulled, body = _asgi_post(web.app, path, [auth, ctype, ("content-length", str(over))], chunks)
    assert status == 413 and pulled == 0 and b"payload_too_large" in body
    # Streamed without a length: reading stops as soon as the file passes the per-file limit (256 KiB).
    status, pulled, body = _asgi_post(web.app, path, [auth, ctype], chunks)
    assert status == 413 and pulled <= 6 < len(chunks) and "超过单个文件上限".encode() in body
    assert attachment_rows(web.engine) == 0 and stored(web.engine) == set()


def test_a_pdf_with_javascript_is_stored_but_never_rendered(web):
    code = web.problem("assigned")
    token = token_for(web, "staff")
    c = web.client()
    evil = ef.pdf(javascript="app.alert(document.cookie)")
    r = c.post(
        f"/api/v1/problems/{code}/attachments", headers=h(token), files=[("files", ("通知.pdf", evil, "text/html"))]
    )
    assert r.status_code == 201
    att = r.json()["attachments"][0]
    assert att["meta"]["pdf_active"] == ["JS", "JavaScript", "OpenAction"] and att["media_type"] == "application/pdf"
    got = c.get(f"/api/v1/attachments/{att['id']}", headers=h(token))
    assert got.content == evil and got.headers["content-type"] == "application/pdf"  # not what the client claimed
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"
    page = web.login("staff").get(f"/problems/{code}").text
    assert "含脚本或自动动作（JS、JavaScript、OpenAction）" in page
    assert f'src="/attachments/{att["id"]}"' not in page  # linked for download, never embedded


def test_names_with_paths_and_control_characters_are_kept_safely(web):
    code = web.problem("assigned")
    token = token_for(web, "staff")
    name = "../../etc/\x1b[31m批复\u202egpj.exe"
    r = web.client().post(
        f"/api/v1/problems/{code}/attachments", headers=h(token), files=[("files", (name, ef.pdf(), "application/pdf"))]
    )
    assert r.status_code == 201
    assert r.json()["attachments"][0]["name"] == "[31m批复gpj.exe.pdf"


def test_an_upload_to_a_problem_the_user_may_not_touch(web):
    code = web.problem("assigned", by="staff")
    before = stored(web.engine)
    c = web.client()
    r = c.post(
        f"/api/v1/problems/{code}/attachments",
        headers=h(token_for(web, "town")),
        data={"action": "note", "text": "路过"},
        files=[("files", ("x.jpg", ef.photo(seed=41), "image/jpeg"))],
    )
    assert r.status_code == 403 and r.json()["code"] == "permission_denied" and "上传附件" in r.json()["message"]
    r = c.post(f"/api/v1/problems/{code}/attachments", files=[("files", ("x.jpg", ef.photo(), "image/jpeg"))])
    assert r.status_code == 401
    assert attachment_rows(web.engine) == 0 and stored(web.engine) == before


def test_the_problem_page_takes_files_from_the_camera(web):
    code = web.problem("assigned")
    staff = web.login("staff")
    page = staff.get(f"/problems/{code}").text
    form = re.search(r'<form method="post" action="/problems/[^"]+/actions/resolve"[^>]*>', page).group(0)
    assert 'enctype="multipart/form-data"' in form
    assert re.search(
        r'<input id="resolve-camera" type="file" name="files" accept="image/\*" capture="environment"', page
    )
    assert "土地类问题申请销号须上传佐证材料" in page
    token = csrf_of(staff, f"/problems/{code}")
    r = staff.post(
        f"/problems/{code}/actions/resolve",
        data={"csrf_token": token, "resolution": "已取得批复"},
        files=[
            ("files", ("IMG_0001.jpg", ef.photo(seed=42), "image/jpeg")),
            ("files", ("", b"", "application/octet-stream")),
        ],
    )
    assert r.status_code == 303, r.text[:500]
    page = staff.get(f"/problems/{code}").text
    assert "已申请销号，附件 1 个" in page and "IMG_0001.jpg" in page
    assert re.search(r'<img class="thumb" src="/attachments/\d+/thumb"', page) and "北纬 35.48681°" in page
    # Without its files the application is refused on the page, and nothing is written.
    other = web.problem("assigned", title="另一个用地问题")
    r = staff.post(
        f"/problems/{other}/actions/resolve",
        data={"csrf_token": token, "resolution": "已办结"},
        files=[("files", ("", b"", "application/octet-stream"))],
    )
    assert r.status_code == 400 and "目前没有附件" in r.text
    r = staff.post(
        f"/problems/{other}/actions/resolve",
        data={"csrf_token": token, "resolution": "已办结"},
        files=[("files", ("x.jpg", ef.exe(), "image/jpeg"))],
    )
    assert r.status_code == 400 and "Windows 可执行程序" in r.text and 'id="act-resolve"' in r.text


def test_the_csrf_token_must_come_before_the_files(web):
    code = web.problem("assigned")
    staff = web.login("staff")
    token = csrf_of(staff, f"/problems/{code}")
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'.encode()
        + ef.photo(seed=43)
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--{boundary}--\r\n'.encode()
    )
    r = staff.post(
        f"/problems/{code}/actions/note",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 403
    assert attachment_rows(web.engine) == 0 and stored(web.engine) == set()


def test_inspections_pages_api_and_bulletin(web):
    code = web.problem("assigned")
    insp = web.login("insp")
    token = csrf_of(insp, "/inspections/new")
    r = insp.post(
        "/inspections/new",
        data={
            "csrf_token": token,
            "project": PROJECT,
            "date": "2024-01-08",
            "inspectors": "张督查、李干事",
            "seen": "二期地块未动工",
            "checked": "用地预审申报材料",
            "finding": "confirmed",
            "problems": code,
            "note": "请本周内补正",
        },
        files=[("files", ("现场.jpg", ef.photo(seed=44), "image/jpeg"))],
    )
    assert r.status_code == 303, r.text[:800]
    page = insp.get(r.headers["location"]).text
    assert "问题属实" in page and "现场.jpg" in page and "张督查、李干事" in page and code in page
    month = insp.get("/inspections?month=2024-01").text
    assert 'data-project="嘉润综合物流园区" data-visited="1"' in month
    assert "请本周内补正" in insp.get(f"/problems/{code}").text
    # Not for the unit's staff.
    staff = web.login("staff")
    assert staff.get("/inspections/new").status_code == 403
    # The API: record one with a photo, list the month.
    api = web.client()
    r = api.post(
        "/api/v1/inspections",
        headers=h(token_for(web, "insp")),
        data={"project": PROJECT, "date": "2024-01-05", "seen": "围挡完好", "finding": "slow", "problem": [code]},
        files=[("files", ("p.jpg", ef.photo(seed=45), "image/jpeg"))],
    )
    assert r.status_code == 201 and r.json()["finding_label"] == "进展缓慢" and len(r.json()["attachments"]) == 1
    listed = api.get("/api/v1/inspections?month=2024-01", headers=h(token_for(web, "staff"))).json()
    assert [i["finding"] for i in listed["inspections"]] == ["slow", "confirmed"]
    assert listed["plan"]["visited"] == 1
    # The month's bulletin: photos embedded, the unit named.
    html = staff.get("/reports/inspections?month=2024-01").text
    assert html.count('src="data:image/jpeg;base64,') == 2 and "点名通报" in html and "自然资源局" in html
    assert "拍摄于 2024-03-05 10:12" in html
    docx = staff.get("/reports/inspections.docx?month=2024-01")
    assert docx.headers["content-disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(docx.content)) as z:
        assert len([n for n in z.namelist() if n.startswith("word/media/")]) == 2
        assert "督查通报" in z.read("word/document.xml").decode()


def _ledger(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "问题台账"
    ws.append(["项目名称", "问题名称", "问题类型", "责任单位"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_importing_a_ledger_from_the_browser(web):
    insp = web.login("insp")
    token = csrf_of(insp, "/import")
    bad = _ledger([[PROJECT, "冷库用地未批", "土地", "自然资源局"], ["火星基地", "无此项目", "土地", "自然资源局"]])
    r = insp.post("/import", data={"csrf_token": token}, files=[("file", ("台账.xlsx", bad, XLSX))])
    assert r.status_code == 200
    assert "有 1 处错误，未导入任何数据" in r.text and "火星基地" in r.text and 'id="issues"' in r.text
    assert '<p class="step">' in r.text and 'id="confirm-import"' not in r.text
    with web.engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM problem")).scalar_one() == 0

    good = _ledger([[PROJECT, "冷库用地未批", "土地", "自然资源局"], [PROJECT, "消防手续未办", "手续", "开发区"]])
    r = insp.post("/import", data={"csrf_token": token}, files=[("file", ("台账.xlsx", good, XLSX))])
    assert "检查通过：共 2 行，将新增 2 个问题" in r.text and "试写（检查后撤销）：2 / 2 <progress" in r.text
    commit = re.search(r'action="(/import/[^"]+)"', r.text).group(1)
    with web.engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM problem")).scalar_one() == 0  # checked, not imported
    admin = web.login("admin")  # another person's staged workbook is not theirs to import
    assert admin.post(commit, data={"csrf_token": csrf_of(admin, "/import")}).status_code == 404
    r = insp.post(commit, data={"csrf_token": token})
    assert "导入完成：新增 2 个问题，写入审计记录 4 条" in r.text and "写入：2 / 2 <progress" in r.text
    with web.engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM problem")).scalar_one() == 2
        assert c.execute(sa.text("SELECT count(*) FROM upload_stage")).scalar_one() == 0
    assert insp.post(commit, data={"csrf_token": token}).status_code == 404  # imported: the staged file is gone
    # The unit's staff may not import.
    staff = web.login("staff")
    assert staff.get("/import").status_code == 403


def test_openapi_documents_the_evidence_api(web):
    schema = web.client().get("/api/v1/openapi.json").json()
    upload = schema["paths"]["/api/v1/problems/{code}/attachments"]["post"]
    body = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert (
        body["properties"]["files"]["items"]["format"] == "binary" and "resolve" in body["properties"]["action"]["enum"]
    )
    assert "413" in upload["responses"]
    for path in ("/api/v1/attachments/{attachment_id}", "/api/v1/inspections", "/api/v1/inspections/{inspection_id}"):
        assert path in schema["paths"]
    assert "multipart/form-data" in schema["paths"]["/api/v1/inspections"]["post"]["requestBody"]["content"]
