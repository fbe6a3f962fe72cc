"""The county government meeting's agenda: which problems, their owners and history, what is asked,
and the Word document re-read with python-docx."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

import pytest
from docx import Document
from docx.shared import Pt

from reports import charts
from reports.agenda import build, parse_meeting_date, write_agenda
from tests.conftest import at


@pytest.fixture
def meeting_county(sample_county):
    """The sample plus: one problem escalated by hand to the meeting and then left alone for weeks."""
    svc, c = sample_county.service, sample_county.clock
    code = sample_county.codes[4]  # 化工园区 · 占补平衡, at 13710 since 14 Jan
    c.set("2024-01-21T09:00")
    # A dispatch record (调度) on the major problem: the agenda reads it, not notes or feedback.
    svc.act("zhang.dcs", sample_county.codes[6], "dispatch", text="调度用地报批进度，要求1月底前上报补划方案")
    c.set("2024-01-21T10:00")
    # A general problem stops at 13710: the office first classes it as major, then sends it to the meeting.
    svc.act("zhang.dcs", code, "reclassify", severity="major", reason="补充耕地指标全县统筹，定为重大问题")
    svc.act("zhang.dcs", code, "escalate", to="government_meeting", reason="指标来源仍未落实，提请县政府会议研究")
    return sample_county, code


def test_agenda_items(meeting_county):
    county, escalated = meeting_county
    agenda = build(county.engine, county.rules, date(2024, 2, 20), at("2024-01-22T09:00"), "admin")
    codes = [i.code for i in agenda.items]
    major = county.codes[6]  # 大宁铁路 · 基本农田: major, from 13710 to the meeting by the ladder, red
    assert codes == [major, escalated]  # red first, then by deadline
    first, second = agenda.items
    assert (first.unit, first.person, first.leader, first.project_leader) == ("自然资源局", "孙丽", "赵国强", "王建国")
    assert first.how == "在「“13710”督办」层级超过办结时限及宽限期仍未办结，自动升级提交" and first.light == "红灯"
    assert first.days_overdue == (date(2024, 2, 20) - first.deadline).days
    assert first.days_overdue == 0 and not any("已超过会议层级办结时限" in a for a in first.asks)  # due that day
    assert any("用地指标" in a for a in first.asks)  # a land problem
    # Item 1's last dispatch record (21 Jan) is more than half a month before the meeting on 20 Feb; its
    # feedback on 12 Jan is not a dispatch. Item 2 has no dispatch record at all.
    assert first.last_dispatch == date(2024, 1, 21) and first.dispatch_overdue and first.dispatches == 1
    assert second.last_dispatch is None and second.dispatches == 0
    assert [h.action for h in first.history][:3] == ["登记问题", "交办", "签收（研究部署）"]
    assert (first.history[-2].actor, first.history[-2].action) == ("系统自动", "升级")
    assert (first.history[-1].actor, first.history[-1].action) == ("张晓明", "调度")
    assert second.how.startswith("由张晓明升级提交：指标来源仍未落实") and second.entered == "2024-01-21"
    assert second.deadline == date(2024, 2, 21) and second.days_overdue == 0
    # Closed problems and other levels are not on the agenda.
    assert county.codes[8] not in codes and county.codes[1] not in codes


def test_agenda_files(meeting_county, tmp_path):
    county, escalated = meeting_county
    agenda = build(
        county.engine, county.rules, parse_meeting_date("２０２４年２月２０日"), at("2024-01-22T09:00"), "admin"
    )
    html_path, docx_path = write_agenda(agenda, county.rules, tmp_path)
    assert html_path.name == "agenda-2024-02-20.html" and docx_path.name == "agenda-2024-02-20.docx"
    html = html_path.read_text("utf-8")
    assert "@page" in html and html.count('class="item"') == 2 and "超过半月未调度" in html
    doc = Document(docx_path)
    section = doc.sections[0]
    mm = [
        round(x.mm, 1)
        for x in (
            section.page_width,
            section.page_height,
            section.top_margin,
            section.bottom_margin,
            section.left_margin,
            section.right_margin,
        )
    ]
    assert mm == [210, 297, 37, 35, 28, 26]  # A4, GB/T 9704 margins
    paragraphs = [p for p in doc.paragraphs if p.text]
    assert paragraphs[0].text == "县政府会议研究议题"
    title_run = paragraphs[0].runs[0]
    assert title_run.font.size == Pt(22) and title_run.font.name == "方正小标宋简体"
    east_asia = title_run._element.rPr.rFonts.get(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia"
    )
    assert east_asia == "方正小标宋简体"
    headings = [p.text for p in paragraphs if p.runs and p.runs[0].font.name == "黑体"]
    assert headings == [f"一、{agenda.items[0].title}", f"二、{agenda.items[1].title}"]
    body = "\n".join(p.text for p in paragraphs)
    assert "包联县级领导：王建国" in body and "提请会议研究：" in body and "超过半月未调度" in body
    assert len(doc.tables) == 2 and doc.tables[0].rows[1].cells[2].text == "登记问题"
    assert "PAGE" in section.footer._element.xml


def test_empty_agenda_and_bad_date(empty_county, tmp_path):
    from workflow.errors import InvalidValue

    agenda = build(empty_county.engine, empty_county.rules, date(2024, 1, 25), at("2024-01-20"), "admin")
    assert agenda.items == []
    html_path, docx_path = write_agenda(agenda, empty_county.rules, tmp_path)
    assert "目前没有" in html_path.read_text("utf-8") and docx_path.exists()
    with pytest.raises(InvalidValue, match="会议日期「下周一」无效"):
        parse_meeting_date("下周一")


def test_svg_charts_are_well_formed():
    days = [date(2024, 1, d) for d in range(1, 32)]
    svg = charts.line_chart(
        "走势 <测试>", days, [("在办", charts.BLUE, list(range(31))), ("销号", charts.GREEN, [0] * 31)]
    )
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "走势 <测试>"
    assert len(root.findall(f"{ns}polyline")) == 2
    assert [t.text for t in root.findall(f"{ns}text") if t.text and "/" in t.text][0] == "1/1"
    bars = charts.bar_chart("超期", [("自然资源局", 3), ("町店镇", 1)])
    rects = ElementTree.fromstring(bars).findall(f"{ns}rect")
    assert [float(r.get("width")) for r in rects] == [562.0, pytest.approx(562 / 3, abs=0.1)]
    assert "期末无" in charts.bar_chart("超期", [], empty="期末无超期")
    assert charts.line_chart("x", [date(2024, 1, 1)], [("a", charts.BLUE, [0])]).startswith("<svg")
