"""The office's campaign and monthly assessment through the web, the API and the scheduler: a deadline after
the campaign's end is flagged, the dashboard shows progress against the target, the closing summary (page,
Word, API, mail) once the campaign ends; the assessment runs on its day (moved past a Sunday) and tells the
unit heads, every month is kept and shown as a trend, and a month without data says so; the 督办函 register,
signing and download through /api/v1 with a bearer token. SQLite: nothing here depends on the database."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from test_web_api import h, token_for

from models.tables import Notice
from service.scheduler import Jobs

pytestmark = [pytest.mark.web, pytest.mark.parametrize("backend", ["sqlite"])]


def _office_round(web) -> int:
    """The scheduler's periodic office work (letters, assessment, campaign summary) at the web clock's time."""
    return Jobs(web.engine, web.rules, None, web.clock, deliver=False).office()


def _recipients(web, kind: str) -> set[str]:
    with web.engine.connect() as c:
        return set(c.execute(sa.select(Notice.recipient_login).where(Notice.kind == kind)).scalars())


def _count(web, kind: str) -> int:
    with web.engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(Notice).where(Notice.kind == kind)).scalar_one()


def _months(web) -> list[str]:
    with web.engine.connect() as c:
        return list(c.execute(sa.text("SELECT month FROM assessment_run ORDER BY month")).scalars())


def test_campaign_flag_dashboard_progress_and_closing_summary(web):
    s = web.service
    late = s.log("town", "嘉润综合物流园区", "land", "二期仓储用地预审", unit="ziranziyuan").code
    done = web.problem("review", title="冷链项目规划许可")  # logged 2024-01-08: inside 冬季行动 (to 2024-02-20)
    s.act("insp", done, "close", rating="excellent")

    # Assigned through the API with a deadline after the campaign's end: done, and flagged.
    c = web.client()
    r = c.post(
        f"/api/v1/problems/{late}/transitions/assign",
        headers=h(token_for(web, "insp")),
        json={"unit": "ziranziyuan", "person": "staff", "leader": "head", "section": "耕地保护股"}
        | {"deadline": "2024-03-15", "expected_version": 1},
    )
    assert r.status_code == 200 and r.json()["deadline"] == "2024-03-15", r.text
    (warning,) = r.json()["warnings"]
    assert "2024-03-15 晚于「冬季行动」结束日期 2024-02-20" in warning

    insp = web.login("insp")
    assert 'id="campaign-flag"' in insp.get(f"/problems/{late}").text
    assert 'id="campaign-flag"' not in insp.get(f"/problems/{done}").text
    card = re.search(
        r'<div class="card" id="campaign" data-campaign="冬季行动">(.*?)</div>\s*</div>',
        insp.get("/dashboard").text,
        re.S,
    )
    assert card, "no campaign card on the dashboard"
    text = re.sub(r"<[^>]+>", "", card.group(1))
    assert "目标：力争全部解决" in text and "销号 1 / 2（50%，目标 100%）" in text
    assert "办结时限晚于行动结束 1" in text and "未销号 1" in text

    # Before the end no summary mail; the day after, one to each inspector and county leader, once.
    web.clock.set("2024-02-20T18:00")
    _office_round(web)
    assert _recipients(web, "campaign") == set()
    web.clock.set("2024-02-21T09:00")
    _office_round(web)
    assert _recipients(web, "campaign") == {"insp", "lead", "lead2"}
    n = _count(web, "campaign")
    _office_round(web)
    assert _count(web, "campaign") == n  # a second round adds nothing

    # The closing summary: page (linked from the campaigns page), Word and API.
    listing = insp.get("/campaigns").text
    link = re.search(r'href="(/campaigns/[^"]+/summary)">行动总结</a>', listing)
    assert link, listing
    page = insp.get(link.group(1))
    assert page.status_code == 200 and "未完成行动目标" in page.text and late in page.text and done not in page.text
    word = web.login("staff").get(link.group(1) + ".docx")
    assert word.status_code == 200 and word.content.startswith(b"PK")
    from docx import Document

    body = "\n".join(p.text for p in Document(io.BytesIO(word.content)).paragraphs)
    assert "冬季行动问题办理情况总结" in body and "销号率50.0%" in body and late in body
    api = c.get("/api/v1/campaigns/冬季行动/summary", headers=h(token_for(web, "lead")))
    assert api.status_code == 200 and api.json()["progress"]["ended"] is True
    assert [i["code"] for i in api.json()["open_items"]] == [late]
    missing = c.get("/api/v1/campaigns/春季行动/summary", headers=h(token_for(web, "lead")))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_assessment_runs_on_its_day_tells_the_heads_and_keeps_a_trend(web):
    web.problem("assigned")  # 自然资源局 has a problem in hand from 2024-01-08

    web.clock.set("2024-01-25T07:30")  # the day, before the configured 08:00
    _office_round(web)
    assert _recipients(web, "assessment") == set()
    web.clock.set("2024-01-25T08:30")
    _office_round(web)
    assert _recipients(web, "assessment") == {"head"}  # the unit head of the assessed unit, nobody else

    web.clock.set("2024-02-25T10:00")  # a Sunday: the run moves to Monday the 26th
    _office_round(web)
    assert _months(web) == ["2024-01"]
    web.clock.set("2024-02-26T08:30")
    _office_round(web)
    assert _months(web) == ["2024-01", "2024-02"]
    with web.engine.connect() as c:
        sent = c.execute(sa.select(Notice.recipient_login, Notice.payload).where(Notice.kind == "assessment")).all()
    assert sorted((who, p["month"]) for who, p in sent) == [("head", "2024-01"), ("head", "2024-02")]
    (score,) = next(p for _, p in sent if p["month"] == "2024-02")["summary"]["scores"]
    assert score["unit"] == "自然资源局" and score["rank"] == 1

    trend = web.client().get("/api/v1/reports/assessment/trend", headers=h(token_for(web, "staff")))
    assert [(p["month"], p["unit"]) for p in trend.json()] == [("2024-01", "自然资源局"), ("2024-02", "自然资源局")]
    a = web.client().get("/api/v1/reports/assessment?month=2024-02", headers=h(token_for(web, "staff"))).json()
    assert [p["month"] for p in a["trend"]["自然资源局"]] == ["2024-01", "2024-02"]
    page = web.login("head").get("/reports/assessment?month=2024-02")
    assert page.status_code == 200 and "得分走势" in page.text and "各组平均得分走势" in page.text


def test_a_month_without_assessment_data_says_so(web):
    web.problem("assigned")
    web.clock.set("2024-01-25T08:30")
    from service import assessment
    from workflow.permissions import SYSTEM_LOGIN

    kept = assessment.compute(web.engine, web.rules, "2024-01", web.clock(), "insp")
    assessment.keep(web.engine, kept, SYSTEM_LOGIN, web.clock())  # 2024-01 kept (without rendering its PDF)
    insp = web.login("insp")
    r = insp.get("/reports/assessment?month=2023-06")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "<h1>2023年6月没有考核数据</h1>" in r.text
    assert "没有单位有在办或办结的问题" in r.text and 'data-code="not_found"' in r.text
    assert 'href="/reports/assessment?month=2024-01"' in r.text and 'href="/ledger#reports"' in r.text
    assert 'id="reports"' in insp.get("/ledger").text  # where another month is chosen
    api = web.client().get("/api/v1/reports/assessment?month=2023-06", headers=h(token_for(web, "insp")))
    assert api.status_code == 404
    assert api.json()["code"] == "not_found" and api.json()["field"] == "month"
    assert "没有考核数据" in api.json()["message"]


def test_letters_register_sign_and_download_through_the_api(web):
    code = web.problem("assigned")
    web.clock.set("2024-01-09T10:00")
    web.service.act("insp", code, "escalate", to="supervision_13710", reason="久拖不决，按“13710”机制督办")
    c = web.client()
    insp, staff, head = (h(token_for(web, who)) for who in ("insp", "staff", "head"))

    (row,) = c.get("/api/v1/letters", headers=insp).json()
    assert (row["status"], row["problem"], row["number"]) == ("draft", code, None)
    lid = row["id"]
    assert c.get("/api/v1/letters?status=signed", headers=insp).json() == []
    detail = c.get(f"/api/v1/letters/{lid}", headers=insp).json()
    assert detail["expected_number"] == "阳督函〔2024〕1号" and detail["text"]

    refused = c.post(f"/api/v1/letters/{lid}/sign", headers=head)  # a unit head is no inspector
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert "签发" in refused.json()["message"]
    assert c.get(f"/api/v1/letters/{lid}", headers=insp).json()["status"] == "draft"
    unsigned = c.get(f"/api/v1/letters/{lid}/file", headers=insp)
    assert unsigned.status_code >= 400 and unsigned.json()["code"]

    signed = c.post(f"/api/v1/letters/{lid}/sign", headers=insp)
    assert signed.status_code == 200 and signed.json()["number"] == "阳督函〔2024〕1号"
    assert signed.json()["status"] == "signed" and signed.json()["signer"]
    again = c.post(f"/api/v1/letters/{lid}/sign", headers=insp)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert "不能重复签发" in again.json()["message"] and again.json()["field"] == "id"
    assert c.get(f"/api/v1/letters/{lid}", headers=insp).json()["number"] == "阳督函〔2024〕1号"

    pdf = c.get(f"/api/v1/letters/{lid}/file", headers=staff)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
    from pypdf import PdfReader

    assert "阳督函〔2024〕1号" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    word = c.get(f"/api/v1/letters/{lid}/file?format=docx", headers=staff)
    assert word.status_code == 200 and word.content.startswith(b"PK")
    from docx import Document

    assert any("阳督函〔2024〕1号" in p.text for p in Document(io.BytesIO(word.content)).paragraphs)

    replied = c.post(f"/api/v1/letters/{lid}/reply", headers=staff, json={"text": "已召开专题会研究部署"})
    assert replied.status_code == 200 and replied.json()["status"] == "replied", replied.text
    assert c.get("/api/v1/letters?status=replied", headers=insp).json()[0]["id"] == lid
