"""Evidence against a real database (SQLite file + ``var/files``-style store, PostgreSQL + bytea): files go in
with their action's audit event in one transaction, a failed action leaves neither a row nor a stored file,
the [evidence] rule, inspections with photos and follow-ups, and backups that carry the files by hash."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import sqlalchemy as sa

from models.db import make_engine, session
from service import directory_admin
from service.attachments import Attachments
from service.blobstore import DbStore, FileStore, store_for
from service.dump import export_dump, import_dump
from service.inspections import FollowUpProblem, InspectionService
from tests import backends
from tests import evidence_files as ef
from workflow.errors import InvalidTransition, InvalidValue, MissingField, NotFound, PermissionDenied
from workflow.inspections import Month

pytestmark = pytest.mark.integration


@pytest.fixture
def rules():
    """The rules as shipped, with the [evidence] rule on (the other tests turn it off)."""
    from workflow.rules import load_rules

    return load_rules()


PROJECT = "嘉润综合物流园区"


def stored(engine) -> set[str]:
    """Every content the store holds (files under the root, or blob rows) — to find orphans."""
    store = store_for(engine)
    if isinstance(store, FileStore):
        if not store.root.exists():
            return set()
        return {p.name for p in store.root.rglob("*") if p.is_file() and ".staging" not in p.parts}
    with engine.connect() as c:
        return set(c.execute(sa.text("SELECT sha256 FROM blob")).scalars())


def rows(engine, table: str) -> list:
    with engine.connect() as c:
        return c.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).mappings().all()


def files(svc, *named: tuple[str, bytes]):
    batch = svc.store.batch()
    for name, data in named:
        batch.add_bytes(name, data)
    return batch


def assigned(svc, category="land") -> str:
    code = svc.log("town", PROJECT, category, "二期用地预审未办结", unit="ziranziyuan").code
    svc.act("insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    return code


def test_files_go_in_with_the_actions_event(svc, engine):
    code = assigned(svc)
    photo = ef.photo(orientation=6)
    with files(svc, ("现场照片.jpg", photo), ("批复.pdf", ef.pdf())) as batch:
        done = svc.act("staff", code, "feedback", text="已踏勘现场", attachments=batch)
    assert len(done.attachment_ids) == 2
    event = [e for e in rows(engine, "event") if e["action"] == "feedback"][0]
    data = event["data"] if isinstance(event["data"], dict) else json.loads(event["data"])
    assert [a["name"] for a in data["attachments"]] == ["现场照片.jpg", "批复.pdf"]
    got = Attachments(engine).for_problem("head", code)
    assert [(a.name, a.kind, a.event_id, a.action, a.uploaded_by) for a in got] == [
        ("现场照片.jpg", "jpeg", event["id"], "feedback", "staff"),
        ("批复.pdf", "pdf", event["id"], "feedback", "staff"),
    ]
    assert got[0].meta["taken_at"] == "2024-03-05T10:12:33+08:00" and got[0].meta["gps"]["lon"] == 112.4147
    assert got[0].has_thumbnail and not got[1].has_thumbnail
    info, chunks = Attachments(engine).content("town", got[0].id)  # anyone who may see the problem
    assert b"".join(chunks) == photo and info.sha256 == hashlib.sha256(photo).hexdigest()
    assert stored(engine) == {a.sha256 for a in got}
    assert isinstance(svc.store, DbStore if engine.dialect.name == "postgresql" else FileStore)
    # The same photo again is stored once.
    with files(svc, ("again.jpg", photo)) as batch:
        svc.act("staff", code, "note", text="补充", attachments=batch)
    assert len(Attachments(engine).for_problem("staff", code)) == 3 and len(stored(engine)) == 2


def test_a_failed_action_leaves_no_row_and_no_file(svc, engine):
    code = svc.log("staff", PROJECT, "land", "尚未交办的问题", unit="ziranziyuan").code
    before = stored(engine)
    with files(svc, ("新照片.jpg", ef.photo(seed=7))) as batch:
        with pytest.raises(InvalidTransition):
            svc.act("staff", code, "resolve", resolution="已办结", attachments=batch)
    with files(svc, ("另一张.jpg", ef.photo(seed=8))) as batch:
        # 马镇干部 may add a note to anyone's problem, but not files to one that is not his unit's or his.
        with pytest.raises(PermissionDenied, match="上传附件"):
            svc.act("town", code, "note", text="看过了", attachments=batch)
    with files(svc, ("第三张.jpg", ef.photo(seed=9))) as batch:
        with pytest.raises(InvalidValue, match="「交办」不能附带文件"):
            svc.act(
                "insp",
                code,
                "assign",
                unit="ziranziyuan",
                person="staff",
                leader="head",
                section="耕地保护股",
                attachments=batch,
            )
    assert rows(engine, "attachment") == [] and stored(engine) == before
    assert [e["action"] for e in rows(engine, "event")] == ["log"]


def test_a_failed_action_keeps_content_that_a_committed_row_uses(svc, engine):
    code = assigned(svc)
    photo = ef.photo(seed=3)
    with files(svc, ("a.jpg", photo)) as batch:
        svc.act("staff", code, "note", text="第一次", attachments=batch)
    with files(svc, ("b.jpg", photo)) as batch:
        with pytest.raises(InvalidTransition):
            svc.act("insp", code, "close", attachments=batch)
    assert stored(engine) == {hashlib.sha256(photo).hexdigest()}
    # The race the discard guards against: content this action created, referred to meanwhile by another.
    with files(svc, ("c.jpg", ef.photo(seed=4))) as first, files(svc, ("d.jpg", ef.photo(seed=4))) as second:
        svc.store.save(first.uploads[0])
        svc.act("staff", code, "note", text="另一人同时上传同一张", attachments=second)
        svc.store.discard(engine, first.uploads)
    assert len(stored(engine)) == 2


def test_the_evidence_rule_for_applying_to_close(svc, engine):
    land = assigned(svc)
    with pytest.raises(MissingField) as err:
        svc.act("staff", land, "resolve", resolution="已取得批复")
    assert "土地类问题申请销号须上传佐证材料" in err.value.message and "目前没有附件" in err.value.message
    with files(svc, ("用地预审意见书.pdf", ef.pdf(text="approval"))) as batch:
        assert svc.act("staff", land, "resolve", resolution="已取得批复", attachments=batch).state == "review"
    # Files added earlier count: a photo with the feedback is enough for the next application.
    demolition = assigned(svc, "demolition")
    with files(svc, ("签约现场.jpg", ef.photo(seed=5))) as batch:
        svc.act("staff", demolition, "feedback", text="已签约3户", attachments=batch)
    assert svc.act("staff", demolition, "resolve", resolution="已全部签约").state == "review"
    funding = assigned(svc, "funding")
    assert svc.act("staff", funding, "resolve", resolution="资金已拨付").state == "review"


def test_files_when_logging_and_on_the_attach_action(svc, engine, clock):
    with files(svc, ("阻工现场.heic", ef.heic())) as batch:
        p = svc.log("town", PROJECT, "demolition", "村民阻工", unit="dingdian", attachments=batch)
    (att,) = Attachments(engine).for_problem("admin", p.code)
    assert (att.action, att.kind, att.media_type, att.name) == ("log", "heic", "image/heic", "阻工现场.heic")
    svc.act("insp", p.code, "assign", unit="dingdian", person="town", leader="lead", section="村镇建设办")
    with pytest.raises(MissingField, match="请选择要上传的文件"):
        svc.act("town", p.code, "attach", text="补充")
    with files(svc, ("协议.docx", ef.docx()), ("名册.xlsx", ef.xlsx()), ("确认书.ofd", ef.ofd())) as batch:
        svc.act("town", p.code, "attach", text="补充协议", attachments=batch)
    kinds = [a.kind for a in Attachments(engine).for_problem("admin", p.code)]
    assert kinds == ["heic", "docx", "xlsx", "ofd"]
    with pytest.raises(NotFound):
        Attachments(engine).get("admin", 999)


def test_an_inspection_with_photos_and_follow_ups(svc, engine, rules, clock):
    code = assigned(svc)
    with session(engine) as s, s.begin():
        directory_admin.create_project(s, "町店镇煤矸石制砂项目", "dingdian", None, clock())
    elsewhere = svc.log("town", "町店镇煤矸石制砂项目", "other", "村民阻工").code
    ins = InspectionService(engine, rules, clock, svc.store)
    photo = ef.photo(seed=11)
    with files(svc, ("现场1.jpg", photo), ("台账.pdf", ef.pdf())) as batch:
        info = ins.record(
            "insp",
            PROJECT,
            "2024-01-08",
            "二期地块未动工，围挡完好",
            "slow",
            place="园区二期地块",
            checked="查阅用地预审申报材料",
            problems=[code],
            note="请自然资源局本周内完成补正",
            new_problem=FollowUpProblem("二期冷库消防手续未办", "permit"),
            attachments=batch,
        )
    assert (info.finding.label, info.place, info.inspectors, info.unit) == (
        "进展缓慢",
        "园区二期地块",
        "张督查",
        "开发区",
    )
    assert [(p.code, p.logged) for p in info.problems][0] == (code, False)
    assert len(info.problems) == 2 and info.problems[1].logged and info.units == ["自然资源局", "开发区"]
    assert [f.name for f in info.files] == ["现场1.jpg", "台账.pdf"] and info.files[0].inspection_id == info.id
    note = [e for e in rows(engine, "event") if e["action"] == "note"][-1]
    assert note["comment"] == "【督查 2024-01-08 · 进展缓慢】请自然资源局本周内完成补正"
    logged = rows(engine, "problem")[-1]
    assert logged["title"] == "二期冷库消防手续未办" and logged["category"] == "permit"
    month = ins.month("staff", Month(2024, 1))
    assert [i.id for i in month] == [info.id]
    plan = ins.plan("staff", Month(2024, 1))
    assert (plan.due, plan.visited) == (2, 1)
    assert [(p.project, p.visited) for p in plan.projects] == [("町店镇煤矸石制砂项目", False), (PROJECT, True)]
    # Not the inspection office; a problem of another project; a date in the future: nothing written.
    before = (rows(engine, "inspection"), rows(engine, "attachment"), stored(engine))
    with files(svc, ("x.jpg", ef.photo(seed=12))) as batch:
        with pytest.raises(PermissionDenied, match="只有督查室或管理员可以记录督查"):
            ins.record("staff", PROJECT, "2024-01-08", "看了", "normal", attachments=batch)
    with files(svc, ("y.jpg", ef.photo(seed=13))) as batch:
        with pytest.raises(InvalidValue, match=f"关联问题 {elsewhere} 不属于督查项目「{PROJECT}」"):
            ins.record("insp", PROJECT, "2024-01-08", "看了", "normal", problems=[elsewhere], attachments=batch)
    with files(svc, ("y.jpg", ef.photo(seed=13))) as batch:
        with pytest.raises(InvalidValue, match="督查日期 2024-01-09 晚于今天"):
            ins.record("insp", PROJECT, "2024-01-09", "看了", "normal", attachments=batch)
    assert (rows(engine, "inspection"), rows(engine, "attachment"), stored(engine)) == before


def test_a_backup_carries_the_files_checked_by_hash(svc, engine, db_url, tmp_path, rules, clock):
    code = assigned(svc)
    contents = {"现场.jpg": ef.photo(seed=21), "批复.pdf": ef.pdf(javascript="app.alert(1)"), "协议.docx": ef.docx()}
    with files(svc, *contents.items()) as batch:
        svc.act("staff", code, "resolve", resolution="已办结", attachments=batch)
    with files(svc, ("督查.jpg", ef.photo(seed=22))) as batch:
        InspectionService(engine, rules, clock, svc.store).record(
            "insp", PROJECT, "2024-01-08", "看了", "normal", attachments=batch
        )
    dump = tmp_path / "backup.jsonl"
    header = export_dump(engine, dump, clock(), "admin")
    assert header["files"]["count"] == 4 and "blob" not in header["tables"]

    targets = ["sqlite"] + (["postgresql"] if backends.pg_admin_url() else [])
    for kind in targets:
        folder = tmp_path / f"restore-{kind}"
        folder.mkdir()
        target = make_engine(backends.new_database_url(kind, folder))
        result = import_dump(target, dump)
        assert result["files"] == 4
        for a in Attachments(target).for_problem("admin", code):
            info, chunks = Attachments(target).content("admin", a.id)
            data = b"".join(chunks)
            assert hashlib.sha256(data).hexdigest() == a.sha256 and data == contents[a.name]
        assert len(stored(target)) == 4
        target.dispose()

    # A damaged backup: one byte of one file changed — refused, nothing restored, no file left behind.
    lines = dump.read_text("utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith('{"part"'))
    part = json.loads(lines[n])
    raw = bytearray(base64.b64decode(part["part"]))
    raw[10] ^= 0xFF
    lines[n] = json.dumps({"part": base64.b64encode(bytes(raw)).decode()})
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", "utf-8")
    folder = tmp_path / "restore-bad"
    folder.mkdir()
    target = make_engine(backends.new_database_url("sqlite", folder))
    with pytest.raises(InvalidValue, match="校验失败"):
        import_dump(target, bad)
    assert stored(target) == set() and rows(target, "attachment") == []
    target.dispose()


def test_the_store_follows_the_database(tmp_path, monkeypatch):
    sqlite = make_engine(f"sqlite:///{tmp_path / 'var' / 'duban.db'}")
    assert store_for(sqlite).root == tmp_path / "var" / "files"
    monkeypatch.setenv("DUBAN_FILES_DIR", str(tmp_path / "elsewhere"))
    assert store_for(sqlite).root == tmp_path / "elsewhere"
    sqlite.dispose()
