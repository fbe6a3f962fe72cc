"""The 督办函 register in the browser's pages: the office sees the draft, signs it with the year's next number
(a second signature and a unit's signature are refused, nothing changes), and downloads the signed PDF."""

from __future__ import annotations

import re

import pytest

from tests.web.webkit import csrf_of

pytestmark = pytest.mark.web


def _to_13710(web) -> str:
    code = web.problem("assigned")
    web.clock.set("2024-01-09T10:00")
    web.service.act("insp", code, "escalate", to="supervision_13710", reason="久拖不决，按“13710”机制督办")
    return code


def test_the_register_page_signs_once_and_serves_the_pdf(web):
    code = _to_13710(web)
    insp = web.login("insp")
    page = insp.get("/letters")
    assert page.status_code == 200 and code in page.text and "待签发" in page.text
    letter_id = int(re.search(r'href="/letters/(\d+)"', page.text).group(1))
    detail = f"/letters/{letter_id}"
    assert "阳督函〔2024〕1号" in insp.get(detail).text  # the number it will get, shown before signing

    # A unit's staff may not sign: the page says so and the letter stays a draft.
    staff = web.login("staff")
    refused = staff.post(f"{detail}/sign", data={"csrf_token": csrf_of(staff, detail)})
    assert refused.status_code in (400, 403) and "签发" in refused.text
    assert "待签发" in insp.get("/letters").text

    signed = insp.post(f"{detail}/sign", data={"csrf_token": csrf_of(insp, detail)})
    assert signed.status_code == 303 and signed.headers["location"] == detail
    shown = insp.get(detail).text
    assert "已签发 阳督函〔2024〕1号" in shown
    again = insp.post(f"{detail}/sign", data={"csrf_token": csrf_of(insp, detail)})
    assert again.status_code in (400, 409) and "不能重复签发" in again.text

    pdf = insp.get(f"{detail}/file.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]


def test_the_campaign_page_lists_the_rules_campaign_and_the_assessment_page_does_not_fail(web):
    insp = web.login("insp")
    campaigns = insp.get("/campaigns")
    assert campaigns.status_code == 200 and "冬季行动" in campaigns.text  # the rules file's campaign
    web.clock.set("2024-02-26T09:00")
    assessment = insp.get("/reports/assessment?month=2024-01")
    assert assessment.status_code < 500, assessment.text[-600:]
