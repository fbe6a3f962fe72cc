"""Evidence and inspections on the command line, on SQLite and PostgreSQL: --attach on the actions, the
[evidence] rule on applying to close, listing and fetching files by hash, recording an inspection with a
photo, the month's inspections and its bulletin (HTML and Word)."""

from __future__ import annotations

import hashlib
import zipfile

import pytest
from test_winter import log_land_problem, setup_county

from tests import evidence_files as ef
from workflow.rules import DEFAULT_RULES_PATH

SHIPPED = ("--rules", str(DEFAULT_RULES_PATH))  # the [evidence] rule on (the harness turns it off)

pytestmark = pytest.mark.acceptance


def test_evidence_and_an_inspection_from_the_command_line(duban, tmp_path):
    setup_county(duban)
    photo, scan = tmp_path / "现场.jpg", tmp_path / "预审意见书.pdf"
    photo.write_bytes(ef.photo(orientation=6))
    scan.write_bytes(ef.pdf(text="approval"))
    code = log_land_problem(duban, "二期冷链仓储用地预审未办结", "2024-01-02T10:00")
    duban(
        "assign",
        code,
        "--unit",
        "ziranziyuan",
        "--person",
        "sun.zrzy",
        "--leader",
        "zhao.zrzy",
        "--section",
        "耕地保护股",
        at="2024-01-03T09:00",
        user="zhang.dcs",
    )
    duban("ack", code, at="2024-01-03T10:00", user="sun.zrzy")
    duban("feedback", code, "--text", "已组卷", at="2024-01-04T10:00", user="sun.zrzy")

    # A land problem needs its scans to apply to close: the error says what is missing.
    bare = tmp_path / "bare"
    bare.mkdir()
    failed = duban(
        *SHIPPED, "resolve", code, "--resolution", "已办结", at="2024-01-05T10:00", user="sun.zrzy", ok=False
    )
    assert "用地批复" in failed.stderr
    # An executable named .jpg is refused by its content.
    fake = tmp_path / "setup.jpg"
    fake.write_bytes(ef.exe())
    failed = duban("resolve", code, "--resolution", "已办结", "--attach", str(fake), user="sun.zrzy", ok=False)
    assert "Windows 可执行程序" in failed.stderr
    out = duban(
        *SHIPPED,
        "resolve",
        code,
        "--resolution",
        "已取得预审意见书",
        "--attach",
        str(scan),
        "--attach",
        str(photo),
        at="2024-01-05T10:00",
        user="sun.zrzy",
    ).stdout
    assert "申请销号" in out

    listed = duban.json("attachments", code, user="zhang.dcs")
    assert [a["name"] for a in listed] == ["预审意见书.pdf", "现场.jpg"]
    assert listed[1]["meta"]["gps"]["lat"] == 35.486814 and listed[1]["action_label"] == "申请销号"
    table = duban("attachments", code, user="zhang.dcs").stdout
    assert "现场.jpg" in table and "北纬" in table
    got = duban("attachment", "get", str(listed[1]["id"]), str(bare), user="zhang.dcs").stdout
    assert "SHA-256 校验一致" in got
    assert hashlib.sha256((bare / "现场.jpg").read_bytes()).hexdigest() == listed[1]["sha256"]
    duban("close", code, "--rating", "good", "--comment", "材料齐全", at="2024-01-06T10:00", user="zhang.dcs")

    # An inspection with a photo, tied to the problem, shows up in the month and in its bulletin.
    visit = tmp_path / "督查.jpg"
    visit.write_bytes(ef.photo(seed=7))
    shown = duban.json(
        "inspect",
        "--project",
        "嘉润综合物流园区",
        "--problem",
        code,
        "--finding",
        "rectified",
        "--seen",
        "冷库已开工",
        "--checked",
        "预审意见书",
        "--date",
        "2024-01-08",
        "--attach",
        str(visit),
        at="2024-01-08T16:00",
        user="zhang.dcs",
    )
    assert shown["finding_label"] == "已整改" and len(shown["attachments"]) == 1
    month = duban.json("inspections", "--month", "2024-01", at="2024-01-09T09:00", user="zhang.dcs")
    assert [i["id"] for i in month["inspections"]] == [shown["id"]] and month["plan"]["visited"] == 1
    out = duban("report", "inspections", "--month", "2024-01", "--out", str(tmp_path / "out"), user="zhang.dcs")
    files = sorted((tmp_path / "out").iterdir())
    assert "督查 1 次" in out.stdout and {f.suffix for f in files} == {".html", ".docx"}
    html = next(f for f in files if f.suffix == ".html").read_text()
    assert html.count('src="data:image/jpeg;base64,') == 1 and "冷库已开工" in html
    with zipfile.ZipFile(next(f for f in files if f.suffix == ".docx")) as z:
        assert any(n.startswith("word/media/") for n in z.namelist())
