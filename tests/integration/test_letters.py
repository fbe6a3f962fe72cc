"""The 督办函 register on a real database (SQLite and PostgreSQL): a draft when a problem enters the 13710
level, signing with the year's next number, the refusals that change nothing, the PDF attached to the notice
mail, the unit's reply as the problem's feedback, the reminder, and the letter's end with its problem."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from models.db import session
from models.office import Letter, LetterCounter
from models.tables import Event, Notice
from notifications.render import render_bytes
from service import letters
from tests.backends import dump
from tests.conftest import at
from workflow.errors import Conflict, InvalidTransition, MissingField, PermissionDenied

pytestmark = [pytest.mark.integration, pytest.mark.pg]
NUMBER = re.compile(r"^阳督函〔(\d{4})〕([1-9]\d*)号$")


def to_13710(svc, clock, title="用地预审未批复") -> str:
    clock.set("2024-01-08T09:00")
    code = svc.log("town", "嘉润综合物流园区", "land", title, unit="ziranziyuan").code
    svc.act("insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
    clock.set("2024-01-09T10:00")
    svc.act("insp", code, "escalate", to="supervision_13710", reason="久拖不决，按“13710”机制督办")
    return code


def only_letter(engine) -> dict:
    (row,) = letters.register(engine, "admin", at("2024-01-09").date())
    return row


def test_entering_13710_drafts_a_letter_with_the_machines_milestones(engine, svc, clock):
    code = to_13710(svc, clock)
    p = svc.get(code)
    d = only_letter(engine)
    assert (d["status"], d["status_label"], d["number"], d["problem"]) == ("draft", "待签发", None, code)
    assert d["issued"] == "2024-01-09" and d["unit"] == "自然资源局"
    assert d["milestones"] == {
        "deploy": p.snap.deploy_due.isoformat(),
        "feedback": p.snap.feedback_due.isoformat(),
        "settle": p.deadline.isoformat(),
    }
    full = letters.get(engine, "staff", d["id"], at("2024-01-09").date(), svc.rules)
    assert full["expected_number"] == "阳督函〔2024〕1号"
    assert full["text"][0] == "关于督促解决嘉润综合物流园区项目用地问题的督办函"
    assert full["text"][1] == "县自然资源局："  # a unit, as county letters name it


def test_a_non_inspector_cannot_sign_and_nothing_changes(engine, svc, clock, db_url):
    to_13710(svc, clock)
    letter_id = only_letter(engine)["id"]
    before = dump(db_url)
    for login in ("admin", "head", "staff", "lead"):
        with pytest.raises(PermissionDenied, match="只有督查室人员可以签发督办函"):
            letters.sign(engine, svc.rules, login, letter_id, at("2024-01-09T11:00"))
    assert dump(db_url) == before


def test_signing_numbers_sends_and_refuses_a_second_signature(engine, svc, clock, db_url):
    code = to_13710(svc, clock)
    letter_id = only_letter(engine)["id"]
    d = letters.sign(engine, svc.rules, "insp", letter_id, at("2024-01-09T11:00"))
    assert NUMBER.match(d["number"]).groups() == ("2024", "1")
    assert (d["status"], d["signed_by"], d["signer"], d["has_pdf"]) == ("signed", "insp", "张督查", True)
    before = dump(db_url)
    with pytest.raises(InvalidTransition, match=r"已于 2024-01-09 11:00 签发（阳督函〔2024〕1号），不能重复签发"):
        letters.sign(engine, svc.rules, "insp", letter_id, at("2024-01-09T12:00"))
    assert dump(db_url) == before

    with session(engine) as s:
        sign_event = s.execute(sa.select(Event).where(Event.action == "letter_sign")).scalar_one()
        assert (sign_event.actor, sign_event.comment, sign_event.data["letter_id"]) == ("insp", d["number"], letter_id)
        mails = s.execute(sa.select(Notice).where(Notice.kind == "letter").order_by(Notice.id)).scalars().all()
        # The 13710 level's recipients: responsible person, unit head (also leader in charge), contracting
        # leader, the inspection office — each once.
        assert sorted(n.recipient_login for n in mails) == ["head", "insp", "lead", "staff"]
        raw = render_bytes(s, mails[0])
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    assert str(msg["Subject"]).startswith("【督办函】阳督函〔2024〕1号")
    (pdf,) = list(msg.iter_attachments())
    assert pdf.get_filename() == "阳督函〔2024〕1号.pdf" and pdf.get_content_type() == "application/pdf"
    name, stored = letters.letter_file(engine, "staff", letter_id, ".pdf", svc.rules)
    assert pdf.get_content() == stored and stored.startswith(b"%PDF")
    text = msg.get_body(("plain",)).get_content()
    assert "已签发督办函阳督函〔2024〕1号" in text and "请自然资源局按督办函要求办理" in text
    # The next letter of the year gets the next number.
    second = to_13710(svc, clock, "第二个问题")
    other = next(r for r in letters.register(engine, "admin", at("2024-01-09").date()) if r["problem"] == second)
    assert letters.sign(engine, svc.rules, "insp", other["id"], at("2024-01-10T09:00"))["number"] == "阳督函〔2024〕2号"
    assert code != second


def test_a_number_collision_is_refused_and_nothing_changes(engine, svc, clock, db_url):
    to_13710(svc, clock)
    first = only_letter(engine)["id"]
    letters.sign(engine, svc.rules, "insp", first, at("2024-01-09T11:00"), send=False)
    to_13710(svc, clock, "第二个问题")
    second = next(r["id"] for r in letters.register(engine, "admin", at("2024-01-09").date()) if r["id"] != first)
    with session(engine) as s, s.begin():  # another instance's counter, set back by hand
        s.execute(sa.update(LetterCounter.__table__).values(last=0))
    before = dump(db_url)
    with pytest.raises(Conflict, match=r"文号 阳督函〔2024〕1号 已被督办函 #\d+ 使用"):
        letters.sign(engine, svc.rules, "insp", second, at("2024-01-09T12:00"))
    assert dump(db_url) == before


def test_the_units_reply_is_its_feedback_and_the_letter_ends_with_the_problem(engine, svc, clock):
    code = to_13710(svc, clock)
    letter_id = only_letter(engine)["id"]
    with pytest.raises(InvalidTransition, match="只有已签发、未回复的督办函可以回复"):
        letters.reply(engine, svc.rules, "staff", letter_id, "已部署", at("2024-01-09T12:00"))
    with pytest.raises(InvalidTransition, match="还没有文号：签发后才能下载"):
        letters.letter_file(engine, "staff", letter_id, ".pdf", svc.rules)
    letters.sign(engine, svc.rules, "insp", letter_id, at("2024-01-09T11:00"), send=False)
    with pytest.raises(MissingField, match="回复内容不能为空"):
        letters.reply(engine, svc.rules, "staff", letter_id, "  ", at("2024-01-10T09:00"))
    with pytest.raises(PermissionDenied):  # another unit's staff may not answer for this one
        letters.reply(engine, svc.rules, "town", letter_id, "代为回复", at("2024-01-10T09:00"))
    d = letters.reply(engine, svc.rules, "staff", letter_id, "已完成踏勘，正在组卷", at("2024-01-10T09:00"))
    assert (d["status"], d["reply"], d["replied_by"]) == ("replied", "已完成踏勘，正在组卷", "staff")
    p = svc.get(code)
    assert p.progress == "已完成踏勘，正在组卷"
    (feedback,) = [e for e in svc.history(p.id) if e.action == "feedback"]
    assert feedback.data["letter_id"] == letter_id and feedback.data["letter_number"] == "阳督函〔2024〕1号"
    _, docx = letters.letter_file(engine, "staff", letter_id, ".docx", svc.rules)
    assert docx.startswith(b"PK")
    svc.act("staff", code, "resolve", resolution="已办结")
    clock.set("2024-01-11T09:00")
    svc.act("insp", code, "close", rating="good")
    assert only_letter(engine)["status"] == "closed"


def test_an_unanswered_letter_is_reminded_once(engine, svc, clock, rules):
    code = to_13710(svc, clock)
    letter_id = only_letter(engine)["id"]
    letters.sign(engine, rules, "insp", letter_id, at("2024-01-09T11:00"), send=False)
    due = svc.get(code).snap.feedback_due
    assert letters.remind_unanswered(engine, rules, at(due.isoformat() + "T23:00")) == 0  # due that day
    after = at(f"{due + timedelta(days=1)}T08:00")
    assert letters.remind_unanswered(engine, rules, after) == 1
    assert letters.remind_unanswered(engine, rules, after) == 0
    with session(engine) as s:
        kinds = s.execute(sa.select(Notice.kind, sa.func.count()).group_by(Notice.kind)).all()
        events = s.execute(sa.select(Event.action, Event.comment).where(Event.action == "letter_overdue")).all()
        reminded = s.execute(sa.select(Letter.reminded_at)).scalar_one()
    assert dict(kinds)["letter_overdue"] == 4 and reminded is not None
    assert events == [("letter_overdue", f"督办函 阳督函〔2024〕1号 要求于 {due} 前反馈办理情况，至今未回复")]


def test_a_draft_is_void_when_the_problem_moves_on_unsigned(engine, svc, clock):
    code = to_13710(svc, clock)
    svc.act("insp", code, "reclassify", severity="major", reason="涉及全县用地指标统筹")  # general stops at 13710
    svc.act("insp", code, "escalate", to="government_meeting", reason="提请县政府会议研究")
    assert only_letter(engine)["status"] == "void"


def test_letters_need_no_signature_when_the_rules_say_so(engine, svc, clock, rules):
    from dataclasses import replace

    unsigned = replace(rules, letters=replace(rules.letters, sign=False))
    to_13710(svc, clock)
    assert letters.deliver_pending(engine, unsigned, at("2024-01-09T10:05")) == 1
    d = only_letter(engine)
    assert (d["number"], d["status"], d["signed_by"], d["has_pdf"]) == ("阳督函〔2024〕1号", "signed", "system", True)
