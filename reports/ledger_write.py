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
from dataclasses import dataclass
from datetime import datetime

from reports.ledger_import import RowPlan
from reports.ledger_read import Issue
from service import directory
from service.persist import Loaded, persist, stake_after
from service.problems import NewProblem, create_problems
from workflow import deadlines as dl
from workflow.actions import label as action_label
from workflow.errors import DubanError
from workflow.machine import Outcome, fire
from workflow.permissions import Actor, Stake
from workflow.rules import Rules
from workflow.states import Light, State

BATCH = 2000


@dataclass
class Step:
    at: datetime
    action: str
    params: dict


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
        # The ledger's 办结时限 is kept on entering the higher level, as a supervision letter's own deadline is.
        out.append(
            Step(
                at["level_started"],
                "escalate",
                {
                    "to": plan.level.value,
                    "reason": f"台账导入：原台账层级为「{plan.level.label}」",
                    "deadline": plan.deadline,
                },
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
    """The problem as ``create_problems`` leaves it: discovered, at its ledger's 登记日期."""
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
    plan: RowPlan, snap: dl.Snapshot, stake: Stake, actor: Actor, rules: Rules, now: datetime, source: str
) -> list[tuple[datetime, Outcome]]:
    """Fire every step on ``snap``; raises the workflow's typed error for the first step that is refused."""
    out = []
    for step in steps(plan, now, source):
        try:
            outcome = fire(step.action, snap, actor, stake, step.at, rules, **step.params)
        except DubanError as exc:
            exc.step = step.action  # type: ignore[attr-defined]
            raise
        # Imports record no notices: the rows describe what already happened on paper.
        outcome.notices = []
        outcome.data = {**outcome.data, "import": {"file": source, "row": plan.number}}
        if "resolver_id" in outcome.changes:
            # A resolution transcribed from paper: the importer did not apply to close it, so it must not
            # bar them (or anyone) from reviewing it, now or later.
            outcome.changes = {**outcome.changes, "resolver_id": None}
        stake = stake_after(stake, outcome.changes)
        out.append((step.at, outcome))
        snap = outcome.after or snap
    return out


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
    events, issues = 0, []
    view = directory.view(session)
    for lo in range(0, len(plans), batch):
        events += _write_batch(session, plans[lo : lo + batch], actor, rules, now, source, issues, view)
        if progress:
            progress(len(plans[lo : lo + batch]))
    return events, issues


def _refused(plan: RowPlan, exc: DubanError) -> Issue:
    step = action_label(getattr(exc, "step", "")) if getattr(exc, "step", "") else ""
    return Issue(plan.number, None, None, "", f"无法{step}：{exc.message}" if step else exc.message)


def _write_batch(
    session, plans: list[RowPlan], actor: Actor, rules: Rules, now: datetime, source: str, issues: list[Issue], view
) -> int:
    drafts = [
        NewProblem(
            plan.project_id,
            plan.title,
            plan.description,
            plan.category,
            plan.severity,
            plan.county_level,
            plan.unit_id,
            plan.at["created"],
            code=plan.code,
            event_data={"import": {"file": source, "row": plan.number}},
        )
        for plan in plans
    ]
    created = create_problems(session, drafts, actor, rules)
    by_moment: dict[datetime, list[tuple[Loaded, list[Outcome]]]] = defaultdict(list)
    count = len(plans)
    for (pid, code), plan in zip(created, plans):
        snap = first_snapshot(plan, code, rules, pid)
        stake = Stake(plan.unit_id, None, None, plan.project_leader_id, actor.user_id)
        loaded = Loaded(snap, 1, stake)
        grouped: dict[datetime, list[Outcome]] = {}
        try:
            replayed = replay(plan, snap, stake, actor, rules, now, source)
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
        persist(session, items, actor, at, view)
        for loaded, _ in items:
            loaded.version += 1
    return count
