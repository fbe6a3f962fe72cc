"""Rendering: every kind, the 督办函 and 会议议题 layouts, hostile input, the fast writer vs the stdlib."""

from __future__ import annotations

import re
from datetime import date
from email import message_from_bytes, policy

import pytest
from notice_factories import PAYLOADS, T0, notice
from notice_support import add

from models.db import session
from notifications.context import header_text
from notifications.errors import ProblemNotFound, RenderError
from notifications.preview import preview
from notifications.render import SUBJECT_MAX, render, render_bytes

SUBJECT_WORDS = {
    "assignment": "【交办通知】",
    "warning": "【临期提醒】",
    "reminder": "【催办】",
    "overdue": "【超期】",
    "escalation": "【升级督办】",
    "review": "【销号审核】",
    "sent_back": "【退回】",
    "closed": "【销号】",
    "suspended": "【挂起】",
    "resumed": "【恢复】",
    "unassigned": "【逾期未交办】",
    "recalculated": "【时限核定】",
    "reclassified": "【重新定性】",
    "review_overdue": "【审核逾期】",
    "digest": "【每日汇总】",
    "dispatch": "【重大问题调度】",
    "decision": "【会议决定】",
    "letter_overdue": "【督办函逾期未回复】",
    "assessment": "【月度考核通报】",
    "campaign": "【行动总结】",
}
BODY_WORDS = {
    "assignment": "已交办蟒河镇办理",
    "warning": "即将到期",
    "reminder": "应于2024年2月9日前研究部署",
    "overdue": "超期未办结",
    "escalation": "升级为“项目分包处级领导牵头协调”",
    "review": "申请办结销号",
    "sent_back": "退回",
    "closed": "评定等次：良好",
    "suspended": "暂停计算办理时限",
    "resumed": "恢复办理",
    "unassigned": "仍未交办",
    "recalculated": "由2024年2月19日改为2024年2月20日",
    "reclassified": "从一般问题重新定性为重大问题",
    "review_overdue": "超过销号审核时限",
    "digest": "红灯1项",
    "dispatch": "重大问题每半月至少调度一次",
    "decision": "2024年1月25日县政府常务会议对问题",
    "letter_overdue": "督办函阳督函〔2024〕3号要求于2024年2月14日前书面反馈办理情况，至今未收到蟒河镇的回复",
    "assessment": "蟒河镇：乡镇第2名（共15个单位），得分 88.50",
    "campaign": "纳入行动的问题共10个，已销号7个（销号率70.0%）",
}


def _notice_for(kind, problem, **kw):
    level = {"escalation": "county_leader"}.get(kind, "supervision_13710")
    ledger = kind in ("digest", "dispatch", "assessment", "campaign")
    return notice(None if ledger else problem, kind, payload=PAYLOADS[kind], level=level, **kw)


def _parse(msg_or_bytes):
    raw = msg_or_bytes if isinstance(msg_or_bytes, bytes) else msg_or_bytes.as_bytes()
    return message_from_bytes(raw, policy=policy.default)


@pytest.mark.parametrize("kind", sorted(SUBJECT_WORDS))
def test_each_kind_renders_subject_text_and_html(engine, problem, kind):
    n = _notice_for(kind, problem)
    add(engine, [n])
    with session(engine) as s:
        raw = render_bytes(s, n)
        msg = _parse(raw)
    assert raw.isascii()  # 7-bit clean on the wire: Chinese only inside encoded words / base64
    assert str(msg["Subject"]).startswith(SUBJECT_WORDS[kind])
    assert msg["From"].addresses[0].display_name == "督办系统"
    assert msg["To"].addresses[0].display_name == "张三"
    assert msg["To"].addresses[0].addr_spec == "zhangsan@example.gov.cn"
    assert re.fullmatch(rf"<duban\.notice\.{n.id}\.[0-9a-f]{{12}}@localhost>", msg["Message-ID"])
    assert msg["Date"] == "Thu, 08 Feb 2024 09:30:00 +0800"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, re.sub(r"<[^>]+>", "", html)):
        assert BODY_WORDS[kind] in body
        assert "张三同志：" in body
    if kind not in ("digest", "dispatch", "assessment", "campaign"):
        assert "城区集中供热改造项目征地拆迁受阻" in str(msg["Subject"])
        assert "WT-2024-0003" in text and "责任单位：蟒河镇" in text
    assert html.lstrip().startswith("<!DOCTYPE html>")


# Two renderings of the same row compared with each other: the database does not enter into it (reading
# the row on PostgreSQL is test_each_kind_renders_subject_text_and_html's), so SQLite only.
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("eight_bit", [False, True], ids=["base64", "8bit"])
@pytest.mark.parametrize("kind", sorted(SUBJECT_WORDS) + ["letter", "meeting", "hostile"])
def test_fast_writer_matches_the_stdlib_message(engine, problem, kind, eight_bit):
    """``render_bytes`` (what is sent) decodes to exactly what ``render`` (EmailMessage, policy.SMTP) holds."""
    if kind == "letter":
        n = notice(problem, "escalation", payload={"from_level": "county_leader", "to_level": "supervision_13710"})
    elif kind == "meeting":
        n = notice(problem, "escalation", level="government_meeting", payload={"to_level": "government_meeting"})
    elif kind == "hostile":
        n = notice(
            problem,
            "sent_back",
            login="evil",
            email="evil@example.gov.cn",
            payload={"comment": "<img src=x onerror=alert(1)>\r\nBcc: a@b.c", "actor_name": "x\r\nTo: y"},
        )
    else:
        n = _notice_for(kind, problem)
    add(engine, [n])
    with session(engine) as s:
        if kind == "hostile":
            from models.tables import User

            s.add(User(login="evil", name='Eve "\\" \r\nBcc: x@y.z', unit_id=1, role="staff", created_at=T0))
            s.commit()
        fast = _parse(render_bytes(s, n, eight_bit=eight_bit))
        ref = _parse(render(s, n))
    for key in set(ref.keys()) | set(fast.keys()):
        if key.lower() != "content-type":  # boundaries differ
            assert str(fast[key]) == str(ref[key]), key
    assert fast.get_content_type() == ref.get_content_type() == "multipart/alternative"
    for sub in ("plain", "html"):
        assert fast.get_body((sub,)).get_content() == ref.get_body((sub,)).get_content()
        cte = fast.get_body((sub,))["Content-Transfer-Encoding"]
        assert cte == ("8bit" if eight_bit else "base64")


def test_escalation_to_13710_announces_the_letter_without_posing_as_one(engine, problem):
    """The escalation mail says a 督办函 will follow; the letter itself (numbered, signed) is the ``letter``
    notice with the PDF — never a 文号 made of a problem code."""
    n = notice(
        problem,
        "escalation",
        level="supervision_13710",
        deadline=problem.deadline,
        payload={
            "from_level": "county_leader",
            "to_level": "supervision_13710",
            "deploy_due": "2024-02-09",
            "feedback_due": "2024-02-14",
        },
    )
    add(engine, [n])
    with session(engine) as s:
        msg = _parse(render_bytes(s, n))
    subject = str(msg["Subject"])
    assert subject.startswith("【升级督办】WT-2024-0003 升级为“13710”督办：")  # quoted once, not ““13710”督办”
    text = msg.get_body(("plain",)).get_content()
    assert "在“项目分包处级领导牵头协调”层级未能按期解决" in text
    assert "督查室将向责任单位发出督办函（签发后另行发送）" in text
    assert "2024年2月9日前研究部署，2024年2月14日前反馈办理情况，2024年2月19日前落实到位" in text
    assert "阳督函" not in text and "““" not in text


def test_a_signed_letter_goes_out_with_its_pdf_attached(engine, problem):
    from models.office import Letter

    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF"
    with session(engine) as s:
        letter = Letter(
            problem_id=problem.id,
            status="signed",
            issued=date(2024, 2, 8),
            number="阳督函〔2024〕12号",
            content={},
            pdf=pdf,
            drafted_at=T0,
            updated_at=T0,
        )
        s.add(letter)
        s.commit()
        letter_id = letter.id
    payload = {
        "letter_id": letter_id,
        "number": "阳督函〔2024〕12号",
        "due": "2024-02-19",
        "deploy_due": "2024-02-09",
        "feedback_due": "2024-02-14",
    }
    n = notice(problem, "letter", payload=payload)
    add(engine, [n])
    with session(engine) as s:
        for raw in (render_bytes(s, n), render_bytes(s, n, eight_bit=True), render(s, n).as_bytes()):
            msg = _parse(raw)
            assert msg.get_content_type() == "multipart/mixed"
            assert str(msg["Subject"]).startswith("【督办函】阳督函〔2024〕12号 阳城县城区集中供热改造项目“")
            (part,) = list(msg.iter_attachments())
            assert part.get_filename() == "阳督函〔2024〕12号.pdf"
            assert part.get_content_type() == "application/pdf" and part.get_content() == pdf
            text = msg.get_body(("plain",)).get_content()
            assert "已签发督办函阳督函〔2024〕12号（见附件 PDF" in text
            assert "2024年2月9日前研究部署，2024年2月14日前书面反馈办理情况，2024年2月19日前落实到位" in text
        fast = render_bytes(s, n)
    assert fast.isascii() and all(len(line) <= 78 for line in fast.split(b"\r\n"))


def test_a_letter_notice_without_its_pdf_fails_to_render(engine, problem):
    n = notice(problem, "letter", payload={"letter_id": 999, "number": "阳督函〔2024〕1号", "due": "2024-02-19"})
    add(engine, [n])
    with session(engine) as s, pytest.raises(RenderError, match="督办函 #999 尚无签发的 PDF"):
        render_bytes(s, n)


def test_meeting_agenda_notice(engine, problem):
    n = notice(
        problem,
        "escalation",
        level="government_meeting",
        payload={"from_level": "supervision_13710", "to_level": "government_meeting"},
    )
    add(engine, [n])
    with session(engine) as s:
        msg = _parse(render_bytes(s, n))
    assert str(msg["Subject"]).startswith("【会议议题】WT-2024-0003")
    text = msg.get_body(("plain",)).get_content()
    assert "列入县政府会议议题的通知" in text and "已列入下次县政府会议议题" in text
    assert "汇报材料" in text


def test_hostile_title_is_escaped_in_html_and_stripped_in_headers(engine):
    hostile = '<script>alert("x")</script>\r\nBcc: victim@example.com\n' + "长" * 2000
    from notice_factories import seed

    with session(engine) as s:
        [p] = seed(s, title=hostile)
        s.commit()
    n = notice(p, "assignment", payload={"comment": "<b>粗体</b>\r\nX-Evil: 1\n" + "评" * 2000})
    add(engine, [n])
    with session(engine) as s:
        raw = render_bytes(s, n)
    header_block = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "Bcc" not in header_block and "X-Evil" not in header_block
    assert all(len(line) <= 78 for line in header_block.split("\r\n"))
    msg = _parse(raw)
    assert "Bcc" not in msg and "X-Evil" not in msg
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject
    assert len(subject) <= SUBJECT_MAX and subject.endswith("…")
    assert subject.startswith('【交办通知】WT-2024-0003 <script>alert("x")</script> Bcc: victim@example.com 长')
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "<b>粗体</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;粗体&lt;/b&gt;" in html
    assert "长" * 1000 in html  # long text is kept in the body
    text = msg.get_body(("plain",)).get_content()
    assert '<script>alert("x")</script>' in text  # plain text is not HTML: shown as typed
    # 8-bit bodies only where every line fits SMTP's 998 octets: these lines do not
    with session(engine) as s:
        eight = _parse(render_bytes(s, n, eight_bit=True))
    for sub in ("plain", "html"):
        assert eight.get_body((sub,))["Content-Transfer-Encoding"] == "base64"
        assert eight.get_body((sub,)).get_content() == msg.get_body((sub,)).get_content()


def test_header_text_strips_controls_and_caps():
    assert header_text("a\r\nb\tc\x00d\u2028e\u202ef", 100) == "a b c d e f"
    assert header_text("一" * 10, 5) == "一一一一…"


def test_message_is_byte_identical_when_rendered_again(engine, problem):
    n = _notice_for("assignment", problem)
    add(engine, [n])
    with session(engine) as s:
        assert render_bytes(s, n) == render_bytes(s, n)


def test_provisional_deadline_is_flagged(engine, problem):
    from models.tables import Problem

    with session(engine) as s:
        s.get(Problem, problem.id).deadline_provisional = True
        s.commit()
    n = _notice_for("assignment", problem)
    add(engine, [n])
    with session(engine) as s:
        text = _parse(render_bytes(s, n)).get_body(("plain",)).get_content()
    assert "办结时限：2024年2月19日（暂定）" in text and "暂按法定节假日和周一至周五工作日推算" in text


@pytest.mark.parametrize(
    "email, reason",
    [(None, "没有收件地址"), ("张三@例子.中国", "ASCII"), ("a b@example.com", "无效"), ("x@y>\r\nBcc: z@w", "无效")],
)
def test_bad_recipient_is_a_render_error(engine, problem, email, reason):
    n = _notice_for("assignment", problem, email=email)
    add(engine, [n])
    with session(engine) as s, pytest.raises(RenderError, match=reason):
        render_bytes(s, n)


def test_preview_returns_plain_data_for_pending_notices(engine, problem):
    ids = add(
        engine,
        [
            _notice_for("assignment", problem),
            _notice_for("warning", problem),
            _notice_for("overdue", problem, status="sent"),
            _notice_for("review", problem, email=None, login="nobody"),
        ],
    )
    with session(engine) as s:
        items = preview(s, "WT-2024-0003")
        with pytest.raises(ProblemNotFound):
            preview(s, "WT-2099-9999")
    assert [i["id"] for i in items] == [ids[0], ids[1], ids[3]]
    first = items[0]
    assert first["kind_label"] == "交办通知" and first["to"] == "张三 <zhangsan@example.gov.cn>"
    assert first["subject"].startswith("【交办通知】") and "已交办蟒河镇办理" in first["text"]
    assert first["from"] == "督办系统 <duban@localhost>" and first["message_id"].startswith("<duban.notice.")
    assert items[2]["error"] and not items[2]["subject"]


def test_a_notice_describes_the_problem_as_it_was_when_recorded(engine, problem):
    """A delayed 交办通知 never says the problem is at another level than it was: the snapshot stored with the
    row is what the mail shows, whatever the problem has become since."""
    snapshot = {
        "id": problem.id,
        "code": problem.code,
        "title": "交办时的标题",
        "description": "交办时的描述",
        "category": "land",
        "severity": "general",
        "state": "assigned",
        "level": "unit",
        "light": "green",
        "deadline": "2023-12-18",
        "deadline_provisional": False,
        "deploy_due": None,
        "feedback_due": None,
        "progress": "",
        "resolution": "",
        "rating": None,
        "project": "阳城县城区集中供热改造项目",
        "unit": "蟒河镇",
        "person": "张三",
        "leader": "李四",
        "project_leader": "王五",
        "section": "规划股",
        "created_at": "2023-11-20T02:00:00+00:00",
    }
    payload = {**PAYLOADS["assignment"], "problem": snapshot}
    n = notice(problem, "assignment", payload=payload, level="unit", deadline=None)
    add(engine, [n])  # the live problem is at 13710, yellow, with a 2024-02-19 deadline
    with session(engine) as s:
        msg = _parse(render_bytes(s, n))
    text = msg.get_body(("plain",)).get_content()
    assert "当前状态：交办 · 单位/乡镇内部专人负责 · 正常" in text
    assert "办结时限：2023年12月18日" in text and "2024年2月19日" not in text
    assert "13710" not in text and "黄灯" not in text
    assert "交办时的标题" in str(msg["Subject"]) and "交办时的描述" in text
    assert "问题类别：土地（一般问题）" in text
