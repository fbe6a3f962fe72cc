"""What the sweep must do for one due problem at "now". Pure: it plans; the service fires the actions
through the machine and persists them (``service.sweep``).

At most one step per problem per sweep, and the most advanced one wins: a problem found past its
grace is escalated without first being warned and reminded, so a sweep that ran late (a laptop asleep
over a holiday) sends one notice, not a storm. Escalation gives the next level its own fresh time, so a
problem climbs one rung per missed deadline, never several at once. The rungs are those of the problem's
severity (``Rules.next_rung``): at the top of its ladder a problem stays red and is reminded every
``remind_every`` (``stall``). A closing review that outlasts ``[review] time_limit`` is reminded once.
"""

from __future__ import annotations

from datetime import datetime

from workflow import deadlines as dl
from workflow.rules import Rules
from workflow.states import CLOCK_STATES, State


def plan(s: dl.Snapshot, now: datetime, rules: Rules) -> tuple[str, dict] | None:
    """The action to fire (name, params), or None when only the light needs refreshing."""
    if s.state == State.DISCOVERED:
        if s.overdue_reminded_at is None and s.created_at and now >= dl.unassigned_at(s, rules):
            return "unassigned", {}
        return None
    if s.state == State.REVIEW:
        due = dl.review_overdue_at(s, rules)
        return ("review_overdue", {}) if due is not None and now >= due else None
    if s.state not in CLOCK_STATES or s.deadline is None:
        return None
    t = dl.thresholds(s, rules)
    if now >= t.escalate_at:
        if rules.next_rung(s.severity, s.level) is not None:
            return "escalate", {}
        if s.stalled_at is None:
            return "stall", {}
        repeat = dl.stall_repeat_at(s, rules)
        return ("stall", {}) if repeat is not None and now >= repeat else None
    if now >= t.overdue_at:
        return ("overdue", {}) if s.overdue_reminded_at is None else None
    deploy_missed = (
        t.deploy_missed_at and s.acked_at is None and s.deploy_reminded_at is None and now >= t.deploy_missed_at
    )
    feedback_missed = (
        t.feedback_missed_at
        and s.feedback_at is None
        and s.feedback_reminded_at is None
        and now >= t.feedback_missed_at
    )
    if deploy_missed or feedback_missed:
        return "remind", {}
    if t.warn_at and s.warned_at is None and now >= t.warn_at:
        return "warn", {}
    return None
