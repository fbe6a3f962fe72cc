"""The office's documents through the command line: a 13710 escalation drafts a 督办函, an inspector signs it
(numbered once, refused a second time and to anyone else), the signed PDF and .docx are downloaded, a campaign
is added and shown, and the monthly assessment runs (and refuses a month with no data)."""

from __future__ import annotations

import re

import pytest

from tests.acceptance.test_winter import log_land_problem, setup_county

pytestmark = pytest.mark.acceptance


def _escalated_problem(duban) -> str:
    setup_county(duban)
    code = log_land_problem(duban, "二期冷链仓储用地预审未办结", "2023-11-20T10:00")
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
        at="2023-11-21T09:00",
        user="zhang.dcs",
    )
    duban(
        "escalate",
        code,
        "--to",
        "supervision_13710",
        "--reason",
        "久拖不决",
        at="2023-12-25T09:00",
        user="zhang.dcs",
    )
    return code


def test_letter_register_sign_and_download(duban, tmp_path):
    code = _escalated_problem(duban)
    (draft,) = duban.json("letters", at="2023-12-25T10:00")
    assert (draft["status"], draft["problem"], draft["number"]) == ("draft", code, None)

    before = duban.dump()
    refused = duban("letter", "sign", str(draft["id"]), at="2023-12-25T10:00", user="sun.zrzy", ok=False)
    assert "签发" in refused.stderr
    assert duban.dump() == before  # nothing changed

    signed = duban.json("letter", "sign", str(draft["id"]), at="2023-12-25T10:00", user="zhang.dcs")
    assert re.fullmatch(r"阳督函〔2023〕1号", signed["number"])
    again = duban("letter", "sign", str(draft["id"]), at="2023-12-25T11:00", user="zhang.dcs", ok=False)
    assert "不能重复签发" in again.stderr and signed["number"] in again.stderr
    (row,) = duban.json("letters")
    assert (row["status"], row["number"]) == ("signed", signed["number"])

    duban("letter", "get", str(draft["id"]), str(tmp_path / "letter.pdf"))
    duban("letter", "get", str(draft["id"]), str(tmp_path / "letter.docx"))
    assert (tmp_path / "letter.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "letter.docx").read_bytes().startswith(b"PK")


def test_campaign_and_assessment(duban, tmp_path):
    code = _escalated_problem(duban)
    duban("campaign", "add", "冬季攻坚", "--start", "2023-11-01", "--end", "2024-02-20", at="2023-11-02T09:00")
    shown = duban.json("campaign", "show", "冬季攻坚", at="2024-02-10T09:00")
    assert shown["open"] == 1 and shown["closed"] == 0
    duplicate = duban("campaign", "add", "冬季攻坚", "--start", "2023-11-01", "--end", "2024-02-20", ok=False)
    assert "已存在" in duplicate.stderr

    empty = duban("report", "assessment", "--month", "2023-05", "--out", str(tmp_path), ok=False)
    assert "2023" in empty.stderr
    a = duban.json("report", "assessment", "--month", "2024-01", "--out", str(tmp_path), at="2024-01-26T09:00")
    units = {r["unit"]: r for r in a["rows"]}
    assert "自然资源局" in units
    assert {"unit", "group", "score", "rank"} <= set(units["自然资源局"])
    assert any(f.endswith(".pdf") for f in a["files"])
    assert code


@pytest.mark.parametrize("backend", ["sqlite"])
def test_campaign_flag_summary_and_assessment_trend(duban, tmp_path):
    """A deadline after 冬季行动's end (the rules file's, to 2024-02-20) is said at once and counted; two
    months of assessment keep a trend; a month without data is refused, changing nothing; the closing summary."""
    escalated = _escalated_problem(duban)  # logged 2023-11-20, escalated 2023-12-25
    late = log_land_problem(duban, "三期用地报批材料未齐", "2023-12-04T10:00")
    assign = ["assign", late, "--unit", "ziranziyuan", "--person", "sun.zrzy", "--leader", "zhao.zrzy"]
    out = duban(*assign, "--section", "耕地保护股", "--deadline", "2024-03-15", at="2023-12-05T09:00", user="zhang.dcs")
    assert "提示：办结时限 2024-03-15 晚于「冬季行动」结束日期 2024-02-20" in out.stdout
    shown = duban.json("campaign", "show", "冬季行动", at="2024-02-10T09:00")
    assert (shown["total"], shown["open"], shown["deadline_after_end"], shown["days_left"]) == (2, 2, 1, 10)

    dec = duban.json("report", "assessment", "--month", "2023-12", "--out", str(tmp_path), at="2023-12-26T09:00")
    jan = duban.json("report", "assessment", "--month", "2024-01", "--out", str(tmp_path), at="2024-01-26T09:00")
    assert dec["kept"] and jan["kept"]
    trend = jan["trend"]["自然资源局"]
    assert [p["month"] for p in trend] == ["2023-12", "2024-01"]
    assert trend[0]["score"] == next(r["score"] for r in dec["rows"] if r["unit"] == "自然资源局")

    before = duban.dump()
    empty = duban("report", "assessment", "--month", "2023-06", "--out", str(tmp_path / "none"), ok=False)
    assert "2023年6月没有考核数据" in empty.stderr and empty.returncode == 3
    assert duban.dump() == before and not (tmp_path / "none").exists()

    summary = duban.json("report", "campaign", "冬季行动", "--out", str(tmp_path), at="2024-02-21T09:00")
    p = summary["progress"]
    assert p["ended"] and not p["met"] and (p["total"], p["closed"], p["deadline_after_end"]) == (2, 0, 1)
    assert sorted(i["code"] for i in summary["open_items"]) == sorted([escalated, late])
    html = next(f for f in summary["files"] if f.endswith(".html"))
    text = open(html, encoding="utf-8").read()
    assert "冬季行动" in text and late in text and "未完成" in text
    assert any(f.endswith(".docx") for f in summary["files"])
