"""Write checked ledger rows: create each problem as ``ProblemService.log`` does, then replay it to its
ledger state through real transitions (``workflow.machine.fire``), persisted in bulk by
``service.persist.persist`` — the path the sweep uses — so every imported problem has a full audit trail.

Each step is an event at the moment the ledger gives for it (09:00 on that date), with the importing user
as actor and ``data.import = {file, row}``; a final 添加备注 event at the real import time says, in words,
that the history above it was rebuilt from the ledger. Imports record no notices: they describe what
already happened on paper, and mailing dozens of people about it would be a notification storm. The sweep
takes over from the imported state (warnings, reminders, escalations) as for any problem.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from models.tables import CodeCounter, Event, Problem
from reports.ledger_import import RowPlan
from reports.ledger_read import Issue
from service.persist import Loaded, persist
from service.recipients import Parties
from workflow import deadlines as dl
from workflow.errors import DubanError
from workflow.machine import Outcome, fire
from workflow.permissions import ACTION_LABELS, Actor, Stake
from workflow.rules import Rules
from workflow.states import Light, State

PROBLEM, EVENT, COUNTER = Problem.__table__, Event.__table__, CodeCounter.__table__
BATCH = 2000


@dataclass
class Step:
    at: datetime
    action: str
    params: dict
    pin: object | None = None  # a ledger deadline to keep when entering a higher level


def steps(plan: RowPlan, now: datetime, source: str) -> list[Step]:
    """The transitions that bring a new (discovered) problem to the row's ledger state, in order."""
    at, out = plan.at, []
    s = plan.state
    if s == State.DISCOVERED:
        return [Step(now, "note", {"text": _note(plan, source)})]
    out.append(
        Step(
            at["assigned"],
            "assign",
            dict(
                unit_id=plan.unit_id,
                person_id=plan.person_id,
                leader_id=plan.leader_id,
                section=plan.section,
                deadline=None if plan.escalated else plan.deadline,
                comment=f"台账导入（{source} 第 {plan.number} 行）",
            ),
        )
    )
    if plan.progress:
        out.append(Step(at["assigned"], "feedback", {"text": plan.progress}))
    if plan.escalated:
        out.append(
            Step(
                at["level_started"],
                "escalate",
                {"to": plan.level.value, "reason": f"台账导入：原台账层级为「{plan.level.label}」"},
                pin=plan.deadline,
            )
        )
    elif s == State.SUPERVISED:
        out.append(Step(at["assigned"], "supervise", {"reason": "台账导入：原台账状态为督办"}))
    if s == State.SUSPENDED:
        out.append(Step(at["suspended"], "suspend", {"reason": "台账导入：原台账状态为挂起"}))
    if s in (State.REVIEW, State.CLOSED):
        out.append(Step(at["resolved"], "resolve", {"resolution": plan.resolution}))
    if s == State.CLOSED:
        out.append(Step(at["closed"], "close", {"rating": plan.rating, "comment": "台账导入"}))
    out.append(Step(now, "note", {"text": _note(plan, source)}))
    return out


def _note(plan: RowPlan, source: str) -> str:
    return f"本问题由台账「{source}」第 {plan.number} 行导入；此前的记录按台账所载日期重建"


def first_snapshot(plan: RowPlan, code: str, rules: Rules, problem_id: int | None = None) -> dl.Snapshot:
    snap = dl.Snapshot(
        id=problem_id,
        code=code,
        state=State.DISCOVERED,
        level=plan.routed,
        category=plan.category,
        severity=plan.severity,
        county_level=plan.county_level,
        light=Light.GREEN,
        created_at=plan.at["created"],
    )
    snap.next_check_at = dl.next_check(snap, plan.at["created"], rules)
    return snap


def replay(
    plan: RowPlan, snap: dl.Snapshot, parties: Parties, actor: Actor, rules: Rules, now: datetime, source: str
) -> list[tuple[datetime, Outcome]]:
    """Fire every step on ``snap``; raises the workflow's typed error for the first step that is refused."""
    out = []
    for step in steps(plan, now, source):
        stake = Stake(
            parties.responsible_unit_id, parties.responsible_person_id, parties.leader_id, parties.project_leader_id
        )
        try:
            outcome = fire(step.action, snap, actor, stake, step.at, rules, **step.params)
        except DubanError as exc:
            exc.step = step.action  # type: ignore[attr-defined]
            raise
        if step.pin is not None:
            _pin_deadline(outcome, step.pin, step.at, rules)
        outcome.notices = []
        outcome.data = {**outcome.data, "import": {"file": source, "row": plan.number}}
        if step.action == "assign":
            parties = Parties(
                plan.unit_id, plan.person_id, plan.leader_id, parties.project_leader_id, parties.reporter_id
            )
        out.append((step.at, outcome))
        snap = outcome.after
    return out


def _pin_deadline(outcome: Outcome, deadline, at: datetime, rules: Rules) -> None:
    """Keep the ledger's 办结时限 on entering a higher level, as ``assign --deadline`` does at assignment."""
    ch = outcome.changes
    ch["deadline"] = deadline
    ch["deadline_provisional"] = not rules.calendar.is_known(deadline)
    for name in ("deploy_due", "feedback_due"):
        if ch.get(name):
            ch[name] = min(ch[name], deadline)
    after = replace(
        outcome.after,
        deadline=deadline,
        deadline_provisional=ch["deadline_provisional"],
        deploy_due=ch.get("deploy_due"),
        feedback_due=ch.get("feedback_due"),
    )
    ch.update(dl.schedule(after, at, rules))
    after.light, after.next_check_at = ch["light"], ch["next_check_at"]
    outcome.after = after
    outcome.data = {**outcome.data, "deadline": str(deadline), "deadline_from_ledger": True}


# -- codes -------------------------------------------------------------------------------------------


def allocate_codes(session, plans: list[RowPlan], rules: Rules) -> list[str]:
    """Keep the codes the ledger gives (moving the year's counter past them); number the rest per year of
    their 登记日期, continuing each year's sequence."""
    highest: dict[int, int] = {}
    for p in plans:
        if p.code:
            year, number = int(p.code[3:7]), int(p.code[8:])
            highest[year] = max(highest.get(year, 0), number)
    for year, number in highest.items():
        _counter(session, year, set_to=number)
    wanted: dict[int, int] = defaultdict(int)
    for p in plans:
        if not p.code:
            wanted[dl.local_date(p.at["created"], rules).year] += 1
    next_number = {}
    for year, count in wanted.items():
        last = _counter(session, year, add=count)
        next_number[year] = last - count + 1
    codes = []
    for p in plans:
        if p.code:
            codes.append(p.code)
            continue
        year = dl.local_date(p.at["created"], rules).year
        codes.append(f"WT-{year}-{next_number[year]:04d}")
        next_number[year] += 1
    return codes


def _counter(session, year: int, set_to: int = 0, add: int = 0) -> int:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    c = COUNTER.c
    new = sa.case((c.last < set_to, set_to), else_=c.last) if set_to else c.last + add
    stmt = (
        insert(COUNTER)
        .values(year=year, last=set_to or add)
        .on_conflict_do_update(index_elements=[c.year], set_={"last": new})
        .returning(c.last)
    )
    return session.execute(stmt).scalar_one()


# -- writing -----------------------------------------------------------------------------------------


def write(
    session,
    plans: list[RowPlan],
    actor: Actor,
    rules: Rules,
    now: datetime,
    source: str,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> tuple[int, list[Issue]]:
    """Create and replay every plan in the caller's transaction, batch by batch.

    A step the workflow refuses becomes that row's ``Issue``; from then on the remaining rows are still
    fired (to report every refusal) but no longer persisted — the caller rolls the transaction back.
    Returns (events written, issues).
    """
    codes = allocate_codes(session, plans, rules)
    events, issues = 0, []
    for lo in range(0, len(plans), batch):
        events += _write_batch(
            session, plans[lo : lo + batch], codes[lo : lo + batch], actor, rules, now, source, issues
        )
        if progress:
            progress(len(plans[lo : lo + batch]))
    return events, issues


def _refused(plan: RowPlan, exc: DubanError) -> Issue:
    step = ACTION_LABELS.get(getattr(exc, "step", ""), "")
    return Issue(plan.number, None, None, "", f"无法{step}：{exc.message}" if step else exc.message)


def _write_batch(
    session,
    plans: list[RowPlan],
    codes: list[str],
    actor: Actor,
    rules: Rules,
    now: datetime,
    source: str,
    issues: list[Issue],
) -> int:
    rows = []
    for plan, code in zip(plans, codes):
        t = plan.at["created"]
        rows.append(
            dict(
                code=code,
                project_id=plan.project_id,
                title=plan.title,
                description=plan.description,
                category=plan.category,
                severity=plan.severity,
                county_level=plan.county_level,
                state=State.DISCOVERED.value,
                level=plan.routed.value,
                light=Light.GREEN.value,
                reporter_id=actor.user_id,
                reporting_unit_id=actor.unit_id,
                responsible_unit_id=plan.unit_id,
                responsible_person_id=None,
                leader_id=None,
                responsible_section="",
                deadline=None,
                deadline_provisional=False,
                overdue_escalations=0,
                progress="",
                resolution="",
                created_at=t,
                updated_at=t,
                next_check_at=first_snapshot(plan, code, rules).next_check_at,
                version=1,
            )
        )
    # A plain executemany, then the ids by code (unique): SQLite's INSERT … RETURNING in parameter order
    # runs one statement per row.
    session.execute(sa.insert(PROBLEM), rows)
    found = dict(session.execute(sa.select(PROBLEM.c.code, PROBLEM.c.id).where(PROBLEM.c.code.in_(codes))).all())
    ids = [found[code] for code in codes]
    session.execute(
        sa.insert(EVENT),
        [
            dict(
                problem_id=pid,
                at=plan.at["created"],
                actor=actor.login,
                action="log",
                from_state=None,
                to_state=State.DISCOVERED.value,
                from_level=None,
                to_level=plan.routed.value,
                comment=plan.title,
                data={"import": {"file": source, "row": plan.number}},
            )
            for pid, plan in zip(ids, plans)
        ],
    )

    by_moment: dict[datetime, list[tuple[Loaded, list[Outcome]]]] = defaultdict(list)
    count = len(plans)
    for pid, plan, code in zip(ids, plans, codes):
        snap = first_snapshot(plan, code, rules, pid)
        parties = Parties(plan.unit_id, None, None, plan.project_leader_id, actor.user_id)
        loaded = Loaded(snap, 1, parties)
        grouped: dict[datetime, list[Outcome]] = {}
        try:
            replayed = replay(plan, snap, parties, actor, rules, now, source)
        except DubanError as exc:
            issues.append(_refused(plan, exc))
            continue
        for at, outcome in replayed:
            grouped.setdefault(at, []).append(outcome)
        for at, outcomes in grouped.items():
            by_moment[at].append((loaded, outcomes))
            count += len(outcomes)
    if issues:
        return 0  # the import will be rolled back: only keep finding refusals
    # Moments in order; each problem's version moves on by one per moment it appears in.
    for at in sorted(by_moment):
        items = by_moment[at]
        persist(session, items, actor, at)
        for loaded, _ in items:
            loaded.version += 1
    return count
