"""The 督办函 register (督办函登记簿): a draft when a problem enters the 13710 level, signing (签发) with a
per-year number, the issued PDF to the unit, the unit's reply, a reminder when no reply came by the feedback
node, and the letter's end with its problem.

Drafting and closing ride on the workflow's own write (``service.persist`` calls ``on_outcomes`` in the
same transaction). Signing is one short transaction — permission, the number from ``letter_counter``
(INSERT … ON CONFLICT DO UPDATE … RETURNING, so concurrent signers queue on the counter row and get
consecutive numbers; a rolled-back signing gives its number back, so there is no gap), the register row,
the audit event — and then the PDF is rendered outside any transaction and sent (``deliver``); the
scheduler retries a letter whose PDF is not yet out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from models.db import insert_for, reader
from models.db import session as open_session
from models.office import Letter, LetterCounter
from models.tables import Event, Problem, Project, Unit, User, table_of
from service import directory
from service.recipients import NoticeSubject, insert_notices, notice_rows
from workflow import deadlines as dl
from workflow.errors import Conflict, InvalidTransition, InvalidValue, MissingField, NotFound
from workflow.letters import LetterStatus, addressee, letter_facts, letter_number
from workflow.machine import NoticeIntent
from workflow.permissions import SYSTEM, Actor, Manage, require
from workflow.rules import Rules
from workflow.states import OPEN_STATES, Level

log = logging.getLogger(__name__)
LETTER, COUNTER, PROBLEM, EVENT = table_of(Letter), table_of(LetterCounter), table_of(Problem), table_of(Event)
L13710 = Level.SUPERVISION_13710.value
MAX_REPLY = 5000


# -- drafting and closing, in the workflow's transaction ------------------------------------------------


def on_outcomes(
    session: Session | Connection, flat: Sequence[tuple], event_ids: Sequence[int], now: datetime, rules: Rules
) -> None:
    """Called by ``service.persist`` for every written outcome: a problem that enters the 13710 level (and
    whose escalation notifies, i.e. not an import) gets a draft letter; a problem that leaves the level
    voids its draft; a problem closed closes its letters."""
    drafts, leaving, closing = [], [], []
    for (loaded, outcome), event_id in zip(flat, event_ids):
        if outcome.to_level == L13710 and outcome.from_level != L13710:
            if any(n.kind == "escalation" or n.kind == "assignment" for n in outcome.notices):
                drafts.append((loaded, outcome, event_id))
        elif outcome.from_level == L13710 and outcome.to_level != L13710:
            leaving.append(loaded.snap.id)
        if outcome.action == "close":
            closing.append(loaded.snap.id)
    if drafts:
        _draft(session, drafts, now, rules)
    if leaving or closing:
        _end(session, leaving, closing, now)


def _draft(session: Session | Connection, drafts: list, now: datetime, rules: Rules) -> None:
    rows = []
    for loaded, outcome, event_id in drafts:
        after = outcome.after or loaded.snap
        rows.append(
            dict(
                problem_id=loaded.snap.id,
                event_id=event_id,
                status=LetterStatus.DRAFT.value,
                unit_id=outcome.changes.get("responsible_unit_id", loaded.stake.responsible_unit_id),
                issued=dl.local_date(now, rules),
                deploy_due=after.deploy_due,
                feedback_due=after.feedback_due,
                settle_due=after.deadline,
                content={"from_level": outcome.from_level, "deadline_given": bool(outcome.data.get("deadline_given"))},
                reply_text="",
                drafted_at=now,
                updated_at=now,
            )
        )
    session.execute(sa.insert(LETTER), rows)


def _end(session: Session | Connection, leaving: list[int], closing: list[int], now: datetime) -> None:
    c = LETTER.c
    ended = list(set(leaving) | set(closing))
    session.execute(
        sa.update(LETTER)
        .where(c.problem_id.in_(ended), c.status == LetterStatus.DRAFT.value)
        .values(status=LetterStatus.VOID.value, closed_at=now, updated_at=now)
    )
    if closing:
        session.execute(
            sa.update(LETTER)
            .where(c.problem_id.in_(closing), c.status.in_([LetterStatus.SIGNED.value, LetterStatus.REPLIED.value]))
            .values(status=LetterStatus.CLOSED.value, closed_at=now, updated_at=now)
        )


# -- reading ---------------------------------------------------------------------------------------------


def _register_select():
    p, u, pr = PROBLEM, table_of(Unit), table_of(Project)
    cols = [c for c in LETTER.c if c.name != "pdf"]
    return (
        sa.select(
            *cols,
            p.c.code,
            p.c.title,
            p.c.state.label("problem_state"),
            p.c.level.label("problem_level"),
            u.c.name.label("unit_name"),
            pr.c.name.label("project_name"),
            (LETTER.c.pdf.is_not(None)).label("has_pdf"),
        )
        .select_from(LETTER.join(p, p.c.id == LETTER.c.problem_id).join(pr, pr.c.id == p.c.project_id))
        .outerjoin(u, u.c.id == LETTER.c.unit_id)
    )


def _view(r, today: date, names: dict[str, str]) -> dict:
    status = LetterStatus(r.status)
    unanswered = status == LetterStatus.SIGNED and r.feedback_due is not None and today > r.feedback_due
    return {
        "id": r.id,
        "number": r.number,
        "status": status.value,
        "status_label": status.label,
        "problem": r.code,
        "title": r.title,
        "project": r.project_name,
        "unit": r.unit_name or "",
        "issued": r.issued.isoformat(),
        "milestones": {
            "deploy": r.deploy_due.isoformat() if r.deploy_due else None,
            "feedback": r.feedback_due.isoformat() if r.feedback_due else None,
            "settle": r.settle_due.isoformat() if r.settle_due else None,
        },
        "drafted_at": r.drafted_at.isoformat(),
        "signed_at": r.signed_at.isoformat() if r.signed_at else None,
        "signed_by": r.signed_by,
        "signer": names.get(r.signed_by or "", r.signed_by or ""),
        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
        "replied_at": r.replied_at.isoformat() if r.replied_at else None,
        "replied_by": r.replied_by,
        "reply": r.reply_text,
        "reminded_at": r.reminded_at.isoformat() if r.reminded_at else None,
        "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        "unanswered": unanswered,
        "has_pdf": bool(r.has_pdf),
    }


def register(engine: Engine, login: str | None, today: date, status: str | None = None) -> list[dict]:
    """Every letter, newest first (optionally of one status)."""
    directory.authorize(engine, login, Manage.READ_LEDGER)
    stmt = _register_select().order_by(LETTER.c.id.desc())
    if status:
        stmt = stmt.where(LETTER.c.status == _status(status).value)
    with open_session(reader(engine)) as session:
        rows = session.execute(stmt).all()
        names = _names(session)
    return [_view(r, today, names) for r in rows]


def _status(text: str) -> LetterStatus:
    for s in LetterStatus:
        if text in (s.value, s.label):
            return s
    allowed = "、".join(f"{s.value}（{s.label}）" for s in LetterStatus)
    raise InvalidValue(f"状态「{text}」无效，可选：{allowed}", field="status", value=text, label="状态")


def _names(session: Session) -> dict[str, str]:
    return dict(session.execute(sa.select(col(User.login), col(User.name))).all())


def _one(session: Session, letter_id: int):
    row = session.execute(_register_select().where(LETTER.c.id == letter_id)).first()
    if row is None:
        raise NotFound(f"督办函 #{letter_id} 不存在", field="id", value=letter_id, label="督办函")
    return row


def get(engine: Engine, login: str | None, letter_id: int, today: date, rules: Rules) -> dict:
    """One letter with its text: the issued text for a signed letter, a preview for a draft."""
    directory.authorize(engine, login, Manage.READ_LEDGER)
    from reports.official.supervision import preview_paragraphs

    with open_session(reader(engine)) as session:
        row = _one(session, letter_id)
        out = _view(row, today, _names(session))
        if row.status == LetterStatus.DRAFT:
            facts = _facts(session, row, rules)
            year = today.year
            nxt = (
                session.execute(
                    sa.select(COUNTER.c.last).where(COUNTER.c.prefix == rules.letters.prefix, COUNTER.c.year == year)
                ).scalar()
                or 0
            ) + 1
            number = letter_number(rules.letters.prefix, year, nxt)
            out["expected_number"] = number
        else:
            facts, number = row.content.get("facts", {}), row.number
    try:
        out["text"] = preview_paragraphs(facts, number) if facts else []
    except (InvalidValue, MissingField) as exc:  # e.g. no contact in the rules file yet
        out["text"], out["problem_with_text"] = [], exc.message
    return out


# -- signing -----------------------------------------------------------------------------------------------


def _facts(session: Session, row, rules: Rules) -> dict:
    """The letter's facts from the problem as it stands and the rules file (a draft's are not frozen)."""
    p = session.execute(
        sa.select(
            PROBLEM.c.title,
            PROBLEM.c.description,
            PROBLEM.c.category,
            PROBLEM.c.severity,
            PROBLEM.c.level,
            PROBLEM.c.assigned_at,
            PROBLEM.c.deploy_due,
            PROBLEM.c.feedback_due,
            PROBLEM.c.deadline,
            table_of(Project).c.name.label("project_name"),
        )
        .join(table_of(Project), table_of(Project).c.id == PROBLEM.c.project_id)
        .where(PROBLEM.c.id == row.problem_id)
    ).one()
    info = directory.view(session).unit_by_id(row.unit_id)
    unit = addressee(info.name, info.aliases) if info else ""
    at_level = p.level == L13710 and p.deadline is not None
    deploy, feedback, settle = (
        (p.deploy_due, p.feedback_due, p.deadline) if at_level else (row.deploy_due, row.feedback_due, row.settle_due)
    )
    return letter_facts(
        rules,
        unit=unit,
        project=p.project_name,
        title=p.title,
        description=p.description,
        category=p.category,
        severity=p.severity,
        issued=row.issued,
        deploy_due=deploy,
        feedback_due=feedback,
        settle_due=settle or row.issued,
        assigned=dl.local_date(p.assigned_at, rules) if p.assigned_at else None,
        from_level=(row.content or {}).get("from_level"),
        deadline_given=bool((row.content or {}).get("deadline_given")),
    )


def _next_serial(session: Session, prefix: str, year: int) -> int:
    insert = insert_for(session.get_bind())
    c = COUNTER.c
    stmt = (
        insert(COUNTER)
        .values(prefix=prefix, year=year, last=1)
        .on_conflict_do_update(index_elements=[c.prefix, c.year], set_={"last": c.last + 1})
        .returning(c.last)
    )
    return session.execute(stmt).scalar_one()


def _audit(
    session: Session, problem_id: int, action: str, actor: Actor, now: datetime, comment: str, data: dict
) -> int:
    state, level = session.execute(sa.select(PROBLEM.c.state, PROBLEM.c.level).where(PROBLEM.c.id == problem_id)).one()
    return session.execute(
        sa.insert(EVENT)
        .values(
            problem_id=problem_id,
            at=now,
            actor=actor.login,
            action=action,
            from_state=state,
            to_state=state,
            from_level=level,
            to_level=level,
            comment=comment,
            data=data,
        )
        .returning(EVENT.c.id)
    ).scalar_one()


def sign(engine: Engine, rules: Rules, login: str | None, letter_id: int, now: datetime, send: bool = True) -> dict:
    """签发: an inspector signs a draft; it gets the next number of the year and goes out (``deliver``; with
    ``send`` false the scheduler sends it on its next round)."""
    with open_session(engine) as session, session.begin():
        actor = directory.view(session).actor(login)
        require(Manage.SIGN_LETTERS, actor)
        _sign(session, rules, actor, letter_id, now)
    if send:
        deliver(engine, rules, letter_id, now)
    return get(engine, login, letter_id, dl.local_date(now, rules), rules)


def _sign(session: Session, rules: Rules, actor: Actor, letter_id: int, now: datetime) -> str:
    query = sa.select(LETTER.c.id).where(LETTER.c.id == letter_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # a second signer waits here, then sees the letter signed
    session.execute(query)
    row = _one(session, letter_id)
    if row.status != LetterStatus.DRAFT:
        if row.number:
            when = row.signed_at.astimezone(rules.timezone).strftime("%Y-%m-%d %H:%M")
            raise InvalidTransition(
                f"督办函 #{letter_id} 已于 {when} 签发（{row.number}），不能重复签发", field="id", value=letter_id
            )
        raise InvalidTransition(
            f"督办函 #{letter_id} 的状态是「{LetterStatus(row.status).label}」，只有待签发的督办函可以签发",
            field="id",
            value=letter_id,
        )
    facts = _facts(session, row, rules)
    year = dl.local_date(now, rules).year
    prefix = rules.letters.prefix
    from reports.official.supervision import letter_doc

    letter_doc(facts, letter_number(prefix, year, 1))  # checks the facts (contact, phone …) before numbering
    serial = _next_serial(session, prefix, year)
    number = letter_number(prefix, year, serial)
    taken = session.execute(sa.select(LETTER.c.id).where(LETTER.c.number == number)).scalar()
    if taken is not None:
        raise Conflict(
            f"文号 {number} 已被督办函 #{taken} 使用：编号计数器与登记簿不一致，未签发；请管理员核对 letter_counter 表",
            field="number",
            value=number,
        )
    try:
        with session.begin_nested():
            result = session.execute(
                sa.update(LETTER)
                .where(LETTER.c.id == letter_id, LETTER.c.status == LetterStatus.DRAFT.value)
                .values(
                    status=LetterStatus.SIGNED.value,
                    prefix=prefix,
                    year=year,
                    serial=serial,
                    number=number,
                    signed_at=now,
                    signed_by=actor.login,
                    content={**(row.content or {}), "facts": facts},
                    deploy_due=date.fromisoformat(facts["milestones"][0]["due"]),
                    feedback_due=date.fromisoformat(facts["milestones"][1]["due"]),
                    settle_due=date.fromisoformat(facts["milestones"][2]["due"]),
                    updated_at=now,
                )
            )
    except IntegrityError:
        raise Conflict(
            f"文号 {number} 已被另一份督办函使用，未签发；请稍后重试", field="number", value=number
        ) from None
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's CursorResult
        raise InvalidTransition(f"督办函 #{letter_id} 已由他人签发，不能重复签发", field="id", value=letter_id)
    _audit(session, row.problem_id, "letter_sign", actor, now, number, {"letter_id": letter_id, "number": number})
    return number


# -- sending -----------------------------------------------------------------------------------------------


def deliver(engine: Engine, rules: Rules, letter_id: int, now: datetime) -> bool:
    """Render the signed letter's PDF (outside any transaction: it takes seconds), keep it, and record the
    督办函 notice to the 13710 level's recipients with the PDF attached. Idempotent."""
    with open_session(reader(engine)) as session:
        row = session.execute(
            sa.select(LETTER.c.number, LETTER.c.content, LETTER.c.signed_at, LETTER.c.pdf.is_not(None)).where(
                LETTER.c.id == letter_id
            )
        ).one()
    number, content, signed_at, has_pdf = row
    if has_pdf or not number:
        return False
    from reports.official.supervision import letter_bytes

    pdf = letter_bytes(content["facts"], number, ".pdf", dl.local_date(signed_at, rules))
    from service.persist import loaded_from_row, select_loaded

    with open_session(engine) as session, session.begin():
        done = session.execute(
            sa.update(LETTER)
            .where(LETTER.c.id == letter_id, LETTER.c.pdf.is_(None))
            .values(pdf=pdf, sent_at=now, updated_at=now)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's CursorResult
            return False  # another process sent it meanwhile
        problem_id, signed_by = session.execute(
            sa.select(LETTER.c.problem_id, LETTER.c.signed_by).where(LETTER.c.id == letter_id)
        ).one()
        loaded = loaded_from_row(session.execute(select_loaded().where(PROBLEM.c.id == problem_id)).one())
        sign_event = session.execute(
            sa.select(sa.func.max(EVENT.c.id)).where(EVENT.c.problem_id == problem_id, EVENT.c.action == "letter_sign")
        ).scalar()
        view = directory.view(session)
        signer = view.actor(signed_by) if signed_by and signed_by != SYSTEM.login else SYSTEM
        deploy, feedback, settle = (m["due"] for m in content["facts"]["milestones"])
        payload = {
            "letter_id": letter_id,
            "number": number,
            "due": settle,
            "deploy_due": deploy,
            "feedback_due": feedback,
        }
        intent = NoticeIntent("letter", rules.level(L13710).notify, payload)
        settle = date.fromisoformat(settle)
        subject = NoticeSubject(problem_id, L13710, settle, loaded.stake, sign_event)
        insert_notices(session.connection(), notice_rows(view, intent, subject, now, signer))
    log.info("督办函 %s sent", number, extra={"letter": letter_id})
    return True


def deliver_pending(engine: Engine, rules: Rules, now: datetime) -> int:
    """Send every signed letter whose PDF is not out yet (a signing whose sending failed), and — when the
    rules file says letters need no signature — issue the drafts as the system. For the scheduler."""
    with open_session(reader(engine)) as session:
        drafts = list(session.execute(sa.select(LETTER.c.id).where(LETTER.c.status == LetterStatus.DRAFT)).scalars())
    if not rules.letters.sign:
        for letter_id in drafts:
            try:
                with open_session(engine) as session, session.begin():
                    _sign(session, rules, SYSTEM, letter_id, now)
            except InvalidTransition:  # another scheduler issued it meanwhile
                continue
    with open_session(reader(engine)) as session:
        waiting = list(
            session.execute(
                sa.select(LETTER.c.id).where(LETTER.c.number.is_not(None), LETTER.c.pdf.is_(None))
            ).scalars()
        )
    sent = 0
    for letter_id in waiting:
        try:
            sent += deliver(engine, rules, letter_id, now)
        except Exception:  # noqa: BLE001 — one letter that cannot be rendered must not stop the others
            log.exception("cannot send letter %s", letter_id)
    return sent


def letter_file(engine: Engine, login: str | None, letter_id: int, suffix: str, rules: Rules) -> tuple[str, bytes]:
    """(file name, bytes) of a signed letter as ``.pdf`` (the PDF as issued) or ``.docx``."""
    directory.authorize(engine, login, Manage.READ_LEDGER)
    if suffix not in (".pdf", ".docx"):
        raise InvalidValue(
            f"文件类型「{suffix or '（无）'}」无效，可选：.pdf、.docx", field="path", value=suffix, label="文件"
        )
    with open_session(reader(engine)) as session:
        row = session.execute(
            sa.select(LETTER.c.number, LETTER.c.content, LETTER.c.pdf, LETTER.c.signed_at, LETTER.c.status).where(
                LETTER.c.id == letter_id
            )
        ).first()
    if row is None:
        raise NotFound(f"督办函 #{letter_id} 不存在", field="id", value=letter_id, label="督办函")
    if not row.number:
        raise InvalidTransition(
            f"督办函 #{letter_id} 的状态是「{LetterStatus(row.status).label}」，还没有文号：签发后才能下载",
            field="id",
            value=letter_id,
        )
    if suffix == ".pdf" and row.pdf:
        return f"{row.number}{suffix}", row.pdf
    from reports.official.supervision import letter_bytes

    return f"{row.number}{suffix}", letter_bytes(
        row.content["facts"], row.number, suffix, dl.local_date(row.signed_at, rules)
    )


# -- the unit's reply ---------------------------------------------------------------------------------------


def reply(engine: Engine, rules: Rules, login: str | None, letter_id: int, text: str, now: datetime) -> dict:
    """The responsible unit answers a signed letter: the reply is the problem's 13710 feedback (the
    workflow's ``feedback`` action, with its permissions and audit event) and is kept in the register.

    Attachments of a reply, once problems have attachments, belong to the feedback event the reply made
    (``reply_event_id``)."""
    from service.persist import loaded_from_row, persist, select_loaded
    from workflow.machine import fire

    text = (text or "").strip()
    if not text:
        raise MissingField("回复内容不能为空", field="text", label="回复内容")
    if len(text) > MAX_REPLY:
        raise InvalidValue(
            f"回复内容过长：{len(text)} 字，最多 {MAX_REPLY} 字", field="text", value=text, label="回复内容"
        )
    with open_session(engine) as session, session.begin():
        row = _one(session, letter_id)
        if row.status != LetterStatus.SIGNED:
            raise InvalidTransition(
                f"督办函 #{letter_id} 的状态是「{LetterStatus(row.status).label}」，只有已签发、未回复的督办函可以回复",
                field="id",
                value=letter_id,
            )
        loaded = loaded_from_row(session.execute(select_loaded().where(PROBLEM.c.id == row.problem_id)).one())
        view = directory.view(session)
        actor = view.actor(login)
        outcome = fire("feedback", loaded.snap, actor, loaded.stake, now, rules, text=text)
        outcome.data = {**outcome.data, "letter_id": letter_id, "letter_number": row.number}
        (event_id,) = persist(session, [(loaded, [outcome])], actor, now, view, rules=rules)
        done = session.execute(
            sa.update(LETTER)
            .where(LETTER.c.id == letter_id, LETTER.c.status == LetterStatus.SIGNED.value)
            .values(
                status=LetterStatus.REPLIED.value,
                reply_text=text,
                replied_at=now,
                replied_by=actor.login,
                reply_event_id=event_id,
                updated_at=now,
            )
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]  # a DML statement's CursorResult
            raise Conflict(f"督办函 #{letter_id} 已被他人回复", field="id", value=letter_id)
    return get(engine, login, letter_id, dl.local_date(now, rules), rules)


# -- the reminder ------------------------------------------------------------------------------------------


def remind_unanswered(engine: Engine, rules: Rules, now: datetime) -> int:
    """Signed letters with no reply after their feedback node (反馈办理情况) — and at least a day after they
    were signed — whose problem is still open: one reminder each (to the 13710 level's recipients), recorded
    on the problem's history."""
    from service.persist import loaded_from_row, select_loaded

    today = dl.local_date(now, rules)
    open_states = [s.value for s in OPEN_STATES]
    with open_session(engine) as session, session.begin():
        rows = session.execute(
            sa.select(LETTER.c.id, LETTER.c.problem_id, LETTER.c.number, LETTER.c.feedback_due)
            .join(PROBLEM, PROBLEM.c.id == LETTER.c.problem_id)
            .where(
                LETTER.c.status == LetterStatus.SIGNED.value,
                LETTER.c.reminded_at.is_(None),
                LETTER.c.feedback_due < today,
                LETTER.c.signed_at < dl.start_of_day(today, rules),  # a letter signed late gets a day first
                PROBLEM.c.state.in_(open_states),
            )
        ).all()
        if not rows:
            return 0
        # Claim them (a second scheduler's UPDATE waits for this one and then finds them reminded).
        claimed = set(
            session.execute(
                sa.update(LETTER)
                .where(LETTER.c.id.in_([r.id for r in rows]), LETTER.c.reminded_at.is_(None))
                .values(reminded_at=now, updated_at=now)
                .returning(LETTER.c.id)
            ).scalars()
        )
        rows = [r for r in rows if r.id in claimed]
        view = directory.view(session)
        for letter_id, problem_id, number, due in rows:
            loaded = loaded_from_row(session.execute(select_loaded().where(PROBLEM.c.id == problem_id)).one())
            comment = f"督办函 {number} 要求于 {due} 前反馈办理情况，至今未回复"
            event_id = _audit(
                session, problem_id, "letter_overdue", SYSTEM, now, comment, {"letter_id": letter_id, "number": number}
            )
            intent = NoticeIntent(
                "letter_overdue",
                rules.level(L13710).notify,
                {"letter_id": letter_id, "number": number, "due": due.isoformat()},
            )
            subject = NoticeSubject(problem_id, loaded.snap.level, loaded.snap.deadline, loaded.stake, event_id)
            insert_notices(session.connection(), notice_rows(view, intent, subject, now, SYSTEM))
    return len(rows)


def for_problem(session: Session, problem_id: int) -> list[dict]:
    """The letters of one problem (the problem page links them)."""
    rows = session.execute(
        sa.select(LETTER.c.id, LETTER.c.number, LETTER.c.status).where(LETTER.c.problem_id == problem_id)
    ).all()
    return [{"id": i, "number": n, "status": s, "status_label": LetterStatus(s).label} for i, n, s in rows]


__all__ = ["deliver", "deliver_pending", "get", "letter_file", "register", "remind_unanswered", "reply"]
