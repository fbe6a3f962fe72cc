"""Evidence without a database: what a file is (from its bytes), safe names, limits, what a photo says
(EXIF time and GPS, orientation), the [evidence] rule, the 上传附件 action, and inspections' pure rules."""

from __future__ import annotations

import io
import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from service.filetypes import classify
from service.images import inspect_image
from service.uploads import Batch, limits_from_env, stage_paths
from tests import evidence_files as ef
from tests.conftest import at
from workflow import deadlines as dl
from workflow.errors import InvalidTransition, InvalidValue, MissingField, PermissionDenied, RulesError
from workflow.evidence import EvidenceRule, FileKind, Limits, TooLarge, check_carries_files, safe_name
from workflow.inspections import Finding, Month, ProjectDue, Visit, check_input, month_plan, named_units
from workflow.machine import available_actions, fire
from workflow.permissions import Actor, Stake, check_attach
from workflow.rules import DEFAULT_RULES_PATH, load_rules, parse_rules
from workflow.states import Role, State

pytestmark = pytest.mark.unit


@pytest.fixture
def rules():
    """The rules as shipped, with the [evidence] rule on (the other tests turn it off)."""
    return load_rules()


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- what a file is ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "maker, kind",
    [
        (ef.photo, FileKind.JPEG),
        (ef.png, FileKind.PNG),
        (ef.heic, FileKind.HEIC),
        (ef.pdf, FileKind.PDF),
        (ef.docx, FileKind.DOCX),
        (ef.xlsx, FileKind.XLSX),
        (ef.ofd, FileKind.OFD),
    ],
)
def test_accepted_kinds_are_known_by_their_bytes_whatever_the_name(tmp_path, maker, kind):
    path = _file(tmp_path, "名字随便.bin", maker())
    assert classify(path, "名字随便.bin")[0] is kind


@pytest.mark.parametrize(
    "maker, name, what",
    [
        (ef.exe, "现场照片.jpg", "Windows 可执行程序"),
        (ef.elf, "scan.pdf", "Linux 可执行程序"),
        (ef.html, "批复.pdf", "网页"),
        (ef.svg, "logo.png", "SVG"),
        (ef.plain_zip, "材料.docx", "ZIP 压缩包"),
        (ef.macro_docx, "批复.docx", "含宏的 Office 文档"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "老文件.doc", "旧版 Office 文档"),
        (lambda: "纯文本说明".encode(), "说明.txt", "无法识别的类型"),
        (ef.zip_bomb, "大文件.docx", "异常的压缩文件"),
    ],
)
def test_refused_kinds_are_named_in_the_error(tmp_path, maker, name, what):
    path = _file(tmp_path, "upload", maker())
    with pytest.raises(InvalidValue) as err:
        classify(path, name)
    message = err.value.message
    assert f"文件「{name}」" in message and what in message and "可上传：JPEG" in message
    assert err.value.field == "attachments"


def test_a_pdf_with_javascript_is_accepted_and_flagged_a_truncated_one_refused(tmp_path):
    kind, meta = classify(_file(tmp_path, "a.pdf", ef.pdf(javascript="app.alert('x')")), "a.pdf")
    assert kind is FileKind.PDF and meta == {"pdf_active": ["JS", "JavaScript", "OpenAction"]}
    assert classify(_file(tmp_path, "b.pdf", ef.pdf()), "b.pdf") == (FileKind.PDF, {})
    with pytest.raises(InvalidValue, match="不完整的 PDF"):
        classify(_file(tmp_path, "c.pdf", ef.pdf()[:-200]), "c.pdf")


def test_the_handwritten_pdfs_are_real_pdfs(tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(ef.pdf(javascript="app.alert(1)")))
    assert len(reader.pages) == 1 and "/OpenAction" in reader.trailer["/Root"]


# -- names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, kind, expected",
    [
        ("IMG_20240305_101233.JPG", FileKind.JPEG, "IMG_20240305_101233.jpg"),
        ("../../etc/passwd.jpg", FileKind.JPEG, "passwd.jpg"),
        ("C:\\扫描件\\批复.pdf", FileKind.PDF, "批复.pdf"),
        ("批\x00复\r\n扫描\t件.pdf", FileKind.PDF, "批复扫描件.pdf"),
        ("photo\u202egpj.exe", FileKind.JPEG, "photogpj.exe.jpg"),  # the right-to-left override is dropped
        ("...hidden.png", FileKind.PNG, "hidden.png"),
        ("合同.jpg", FileKind.PDF, "合同.jpg.pdf"),  # the extension says what it really is
        ("<a>:b|c?.docx", FileKind.DOCX, "_a__b_c_.docx"),
        ("", FileKind.XLSX, "附件.xlsx"),
        ("/", FileKind.HEIC, "附件.heic"),
        ("长" * 300 + ".jpeg", FileKind.JPEG, "长" * 115 + ".jpeg"),
    ],
)
def test_safe_names(raw, kind, expected):
    assert safe_name(raw, kind) == expected


# -- photos --------------------------------------------------------------------------------------------


def test_exif_time_gps_and_camera_are_kept_and_the_thumbnail_is_upright(tmp_path):
    # Stored landscape (800×600), taken with the phone turned: EXIF orientation 6 = rotate 90° clockwise.
    path = _file(tmp_path, "p.jpg", ef.photo((800, 600), orientation=6))
    facts = inspect_image(path, "p.jpg", FileKind.JPEG)
    assert facts.meta == {
        "width": 600,
        "height": 800,
        "orientation": 6,
        "taken_at": "2024-03-05T10:12:33+08:00",
        "camera": "HUAWEI P60",
        "gps": {"lat": 35.486814, "lon": 112.4147, "alt": 712.5},
    }
    thumb = Image.open(io.BytesIO(facts.thumbnail))
    assert thumb.format == "JPEG" and thumb.size == (240, 320)  # portrait, as the person saw it
    # The red corner marked top-left of the stored picture is top-right once turned upright.
    assert thumb.getpixel((230, 5))[0] > 180 and thumb.getpixel((5, 5))[0] < 150
    assert "exif" not in thumb.info  # the thumbnail carries no location


def test_a_photo_without_exif_and_a_heic_photo(tmp_path):
    plain = inspect_image(_file(tmp_path, "a.png", ef.png()), "a.png", FileKind.PNG)
    assert plain.meta == {"width": 300, "height": 200}
    phone = inspect_image(_file(tmp_path, "b.heic", ef.heic()), "b.heic", FileKind.HEIC)
    assert phone.meta["taken_at"] == "2024-03-05T10:12:33+08:00" and phone.meta["gps"]["lat"] == 35.486814


def test_a_corrupt_image_is_refused(tmp_path):
    path = _file(tmp_path, "c.jpg", ef.truncated_jpeg())
    with pytest.raises(InvalidValue, match="图片数据已损坏或不完整"):
        inspect_image(path, "c.jpg", FileKind.JPEG)


def test_a_truncated_image_is_refused_even_after_weasyprint_is_loaded(tmp_path, monkeypatch):
    """WeasyPrint (the 公文 PDFs, same process) turns on Pillow's LOAD_TRUNCATED_IMAGES when imported."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    path = _file(tmp_path, "c.jpg", ef.truncated_jpeg())
    with pytest.raises(InvalidValue, match="图片数据已损坏或不完整"):
        inspect_image(path, "c.jpg", FileKind.JPEG)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as it was for WeasyPrint


# -- staging and limits --------------------------------------------------------------------------------


def test_a_batch_checks_each_file_and_leaves_nothing_when_closed(tmp_path):
    limits = Limits(max_file=200_000, max_total=300_000, max_files=3)
    batch = Batch(limits, parent=tmp_path)
    u = batch.add_bytes("现场.jpg", ef.photo())
    assert u.kind is FileKind.JPEG and u.thumbnail and u.meta["gps"] and len(u.sha256) == 64
    assert u.describe() == {"name": "现场.jpg", "sha256": u.sha256, "size": u.size, "kind": "jpeg"}
    with pytest.raises(InvalidValue, match="是空文件"):
        batch.add_bytes("空.pdf", b"")
    with pytest.raises(TooLarge, match="超过单个文件上限 195 KB"):
        batch.add_bytes("大.jpg", ef.noisy_photo(0.3))
    batch.add_bytes("批复.pdf", ef.pdf())
    batch.add_bytes("b.pdf", ef.pdf(text="second"))
    with pytest.raises(TooLarge, match="一次最多上传 3 个文件"):
        batch.add_bytes("c.pdf", ef.pdf(text="third"))
    assert len(batch) == 3
    batch.close()
    assert list(tmp_path.iterdir()) == []


def test_the_total_of_one_action_is_limited(tmp_path):
    with Batch(Limits(max_file=150_000, max_total=200_000), parent=tmp_path) as batch:
        batch.add_bytes("a.jpg", ef.noisy_photo(0.1, seed=1))
        with pytest.raises(TooLarge, match="超过每次操作上限"):
            batch.add_bytes("b.jpg", ef.noisy_photo(0.1, seed=2))


def test_stage_paths_refuses_a_missing_file_and_cleans_up(tmp_path):
    good = _file(tmp_path, "ok.jpg", ef.photo())
    with pytest.raises(InvalidValue, match="无法读取附件"):
        stage_paths([good, tmp_path / "missing.pdf"])
    with stage_paths([good]) as batch:
        assert [u.name for u in batch] == ["ok.jpg"]
        folder = batch.folder
    assert not folder.exists()


def test_limits_from_the_environment():
    assert limits_from_env({}) == Limits()
    got = limits_from_env(
        {"DUBAN_ATTACH_MAX_FILE_MB": "5", "DUBAN_ATTACH_MAX_TOTAL_MB": "12", "DUBAN_ATTACH_MAX_FILES": "4"}
    )
    assert got == Limits(5 * 1024 * 1024, 12 * 1024 * 1024, 4)
    with pytest.raises(InvalidValue, match="DUBAN_ATTACH_MAX_FILE_MB"):
        limits_from_env({"DUBAN_ATTACH_MAX_FILE_MB": "lots"})


# -- the evidence rule and the 上传附件 action ----------------------------------------------------------

STAKE = Stake(responsible_unit_id=10, responsible_person_id=1, leader_id=3, project_leader_id=4, reporter_id=7)
STAFF = Actor("staff", "科员", Role.STAFF, 11, 10)
REPORTER = Actor("rep", "提出人", Role.STAFF, 7, 20)
OUTSIDER = Actor("other", "外单位", Role.STAFF, 12, 20)
INSPECTOR = Actor("insp", "督查员", Role.INSPECTOR, 14, 30)


def _snap(rules, state=State.ASSIGNED, category="land") -> dl.Snapshot:
    s = dl.Snapshot(id=1, code="WT-2024-0001", state=state, category=category, created_at=at("2024-01-05"))
    return replace(s, **dl.enter_level(s, s.level, at("2024-01-05"), rules))


def test_land_and_demolition_need_evidence_to_apply_to_close(rules):
    now = at("2024-01-08")
    with pytest.raises(MissingField) as err:
        fire("resolve", _snap(rules), STAFF, STAKE, now, rules, resolution="已办结", evidence=0)
    assert err.value.field == "attachments"
    assert err.value.message == (
        "土地类问题申请销号须上传佐证材料（用地批复、预审意见、土地协议等文件的扫描件或现场照片）至少 1 个，"
        "目前没有附件；请随申请一并上传"
    )
    assert fire("resolve", _snap(rules), STAFF, STAKE, now, rules, resolution="已办结", evidence=1).to_state == "review"
    other = _snap(rules, category="funding")
    assert fire("resolve", other, STAFF, STAKE, now, rules, resolution="已办结", evidence=0).to_state == "review"
    # A caller that does not count files (the ledger import replaying paper history) is not held to it.
    assert fire("resolve", _snap(rules), STAFF, STAKE, now, rules, resolution="已办结").to_state == "review"


def test_the_evidence_section_of_the_rules_file(rules):
    assert rules.evidence.resolve_requires == {"land", "demolition"}
    # The shipped rules file without its [evidence] section.
    base = {k: v for k, v in tomllib.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8")).items() if k != "evidence"}
    assert parse_rules(base).evidence == EvidenceRule()
    got = parse_rules(
        {**base, "evidence": {"resolve_requires": ["permit"], "min_files": 2, "what": {"permit": "批文"}}}
    )
    assert got.evidence.resolve_requires == {"permit"} and got.evidence.requirement("permit").endswith(
        "（批文）至少 2 个"
    )
    assert parse_rules({**base, "evidence": {"resolve_requires": []}}).evidence.requirement("land") == ""
    with pytest.raises(RulesError, match=r"键 evidence.resolve_requires\[0\] 的值「roads」无效"):
        parse_rules({**base, "evidence": {"resolve_requires": ["roads"]}})
    with pytest.raises(RulesError, match="键 evidence.min_files 的值「0」超出范围"):
        parse_rules({**base, "evidence": {"min_files": 0}})
    with pytest.raises(RulesError, match="键 evidence.what.roads 不认识"):
        parse_rules({**base, "evidence": {"what": {"roads": "x"}}})
    assert load_rules().evidence.what["demolition"].startswith("征收补偿协议")


def test_the_attach_action_needs_files_and_the_problems_parties(rules):
    now = at("2024-01-08")
    out = fire("attach", _snap(rules), STAFF, STAKE, now, rules, text="批复扫描件", files=2)
    assert out.to_state == out.from_state == "assigned" and out.comment == "批复扫描件"
    with pytest.raises(MissingField, match="请选择要上传的文件"):
        fire("attach", _snap(rules), STAFF, STAKE, now, rules, files=0)
    for actor in (REPORTER, INSPECTOR):
        fire("attach", _snap(rules), actor, STAKE, now, rules, files=1)
    with pytest.raises(PermissionDenied, match="只有督查室、管理员、包联县级领导、责任单位的人员"):
        fire("attach", _snap(rules), OUTSIDER, STAKE, now, rules, files=1)
    # Anyone may add a note, but files come only from the problem's parties.
    fire("note", _snap(rules), OUTSIDER, STAKE, now, rules, text="路过看到")
    with pytest.raises(PermissionDenied):
        check_attach(OUTSIDER, STAKE)
    with pytest.raises(InvalidTransition):
        fire("attach", _snap(rules, State.CLOSED), INSPECTOR, STAKE, now, rules, files=1)
    assert "attach" in [a.name for a in available_actions(_snap(rules, State.REVIEW), STAFF, STAKE, rules)]


def test_only_actions_that_carry_text_carry_files():
    for action in ("log", "feedback", "note", "attach", "resolve", "close", "send_back"):
        check_carries_files(action)
    with pytest.raises(InvalidValue, match="「交办」不能附带文件；可以附带文件的操作：登记问题、反馈办理情况"):
        check_carries_files("assign")


# -- inspections ---------------------------------------------------------------------------------------


def test_months_and_findings():
    assert Month.parse("2024-03") == Month.parse("2024年3月") == Month(2024, 3)
    assert (Month(2024, 12).next(), Month(2024, 2).last, str(Month(2024, 3))) == (
        Month(2025, 1),
        date(2024, 2, 29),
        "2024-03",
    )
    with pytest.raises(InvalidValue, match="月份「2024-13」无效"):
        Month.parse("2024-13")
    assert Finding.parse("进展缓慢") is Finding.SLOW and Finding.SLOW.named and not Finding.RECTIFIED.named
    with pytest.raises(InvalidValue, match="督查结论的值「很好」无效，可选：normal（进展正常）"):
        Finding.parse("很好")


def test_inspection_input_is_checked():
    today = date(2024, 3, 10)
    got = check_input(date(2024, 3, 8), today, " 现场 ", "张督查", "已停工", "", "slow")
    assert (got.place, got.finding) == ("现场", Finding.SLOW)
    with pytest.raises(InvalidValue, match="督查日期 2024-03-11 晚于今天 2024-03-10"):
        check_input(date(2024, 3, 11), today, "", "张督查", "x", "", "slow")
    with pytest.raises(MissingField, match="现场情况（看现场）不能为空"):
        check_input(date(2024, 3, 8), today, "", "张督查", "  ", "", "slow")
    with pytest.raises(MissingField, match="请填写督查结论"):
        check_input(date(2024, 3, 8), today, "", "张督查", "x", "", "")


def test_the_months_plan_lists_the_unvisited_first():
    m = Month(2024, 3)
    due = [
        ProjectDue(1, "物流园", "开发区", 2, red=0),
        ProjectDue(2, "供水工程", "水务局", 3, red=1),
        ProjectDue(3, "连接线", "北留镇", 1),
    ]
    visits = [
        Visit(1, "物流园", "开发区", date(2024, 3, 5), Finding.SLOW),
        Visit(9, "已办完", "町店镇", date(2024, 3, 6), Finding.RECTIFIED),
    ]
    plan = month_plan(m, due, visits)
    assert [(p.project, p.due, p.visited) for p in plan.projects] == [
        ("供水工程", True, False),
        ("连接线", True, False),
        ("物流园", True, True),
        ("已办完", False, True),
    ]
    assert (plan.due, plan.visited) == (3, 1)
    assert [(u.unit, u.due, u.visited) for u in plan.units] == [("北留镇", 1, 0), ("水务局", 1, 0), ("开发区", 1, 1)]
    assert plan.projects[2].last_finding is Finding.SLOW


def test_named_units():
    named = named_units(
        [
            ("自然资源局", "供水工程", Finding.CONFIRMED),
            ("自然资源局", "物流园", Finding.SLOW),
            ("北留镇", "连接线", Finding.SLOW),
            ("开发区", "物流园", Finding.NORMAL),
            ("林业局", "肉羊基地", Finding.RECTIFIED),
        ]
    )
    assert [(n.unit, n.reasons) for n in named] == [
        ("自然资源局", ("供水工程：问题属实", "物流园：进展缓慢")),
        ("北留镇", ("连接线：进展缓慢",)),
    ]
