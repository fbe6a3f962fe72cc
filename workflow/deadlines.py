"""Deadlines, thresholds and lights for one problem. Pure: a snapshot, the rules and "now" in, facts out.

Every moment the sweep must act on is a *threshold* computed from the problem's deadline: the warning
window opens (blue), the deadline passes (overdue: reminder, yellow), the grace after it ends
(escalate, red), a 13710 milestone passes unmet (reminder, yellow). ``schedule`` returns the light now
and the next threshold still to come, which is stored in ``next_check_at`` so the sweep selects only
problems that are due, with an index, however large the ledger grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from workflow.calendar import DueDate
from workflow.rules import Rules
from workflow.states import CLOCK_STATES, Level, Light, Milestone, State


@dataclass
class Snapshot:
    """The fields of a problem the pure workflow reads and changes (a plain copy of the row)."""

    id: int | None = None
    code: str = ""
    state: str = State.DISCOVERED
    level: str = Level.UNIT
    category: str = "other"
    severity: str = "general"
    county_level: bool = False
    light: str = Light.GREEN
    created_at: datetime | None = None
    deadline: date | None = None
    deadline_provisional: bool = False
    level_started_at: datetime | None = None
    deploy_due: date | None = None
    feedback_due: date | None = None
    acked_at: datetime | None = None
    feedback_at: datetime | None = None
    warned_at: datetime | None = None
    overdue_reminded_at: datetime | None = None
    deploy_reminded_at: datetime | None = None
    feedback_reminded_at: datetime | None = None
    stalled_at: datetime | None = None
    overdue_escalations: int = 0
    next_check_at: datetime | None = None
    suspended_at: datetime | None = None
    suspended_from: str | None = None
    resolved_at: datetime | None = None

    FIELDS = None  # filled below: the names copied to and from rows


Snapshot.FIELDS = tuple(f for f in Snapshot.__dataclass_fields__ if f != "FIELDS")


def is_overdue(state: str, deadline: date | None, today: date) -> bool:
    """Overdue: the clock runs (assigned or supervised) and the deadline has passed. The one definition;
    ``service.ledger.overdue_condition`` is its SQL."""
    return state in CLOCK_STATES and deadline is not None and deadline < today


def local_date(moment: datetime, rules: Rules) -> date:
    return moment.astimezone(rules.timezone).date()


def start_of_day(day: date, rules: Rules) -> datetime:
    """The UTC instant at which local ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=rules.timezone).astimezone(UTC)


def after_day(day: date, rules: Rules) -> datetime:
    """The first instant after local ``day`` has ended — when a deadline on ``day`` is missed."""
    return start_of_day(day + timedelta(days=1), rules)


@dataclass(frozen=True)
class Thresholds:
    warn_at: datetime | None
    overdue_at: datetime
    escalate_at: datetime
    deploy_missed_at: datetime | None
    feedback_missed_at: datetime | None


def thresholds(s: Snapshot, rules: Rules) -> Thresholds:
    key = (s.level, s.deadline, s.deploy_due, s.feedback_due)
    hit = rules.memo.get(key)
    if hit is None:
        if len(rules.memo) > 100_000:
            rules.memo.clear()
        hit = rules.memo[key] = _thresholds(s, rules)
    return hit


def _thresholds(s: Snapshot, rules: Rules) -> Thresholds:
    rule = rules.level(s.level)
    cal = rules.calendar
    warn_at = None
    if rule.warn_before.amount > 0:
        warn_at = start_of_day(cal.before(s.deadline, rule.warn_before).date, rules)
    overdue_at = after_day(s.deadline, rules)
    escalate_at = (
        after_day(cal.add(s.deadline, rule.remind_after).date, rules) if rule.remind_after.amount else overdue_at
    )
    deploy = after_day(s.deploy_due, rules) if s.deploy_due else None
    feedback = after_day(s.feedback_due, rules) if s.feedback_due else None
    return Thresholds(warn_at, overdue_at, escalate_at, deploy, feedback)


def unassigned_at(s: Snapshot, rules: Rules) -> datetime:
    logged = local_date(s.created_at, rules)
    return after_day(rules.calendar.add(logged, rules.assign_within).date, rules)


def enter_level(s: Snapshot, level: Level, now: datetime, rules: Rules) -> dict:
    """Field changes for a problem entering ``level`` at ``now``: its own fresh time limit and milestones."""
    today = local_date(now, rules)
    rule = rules.level(level)
    due: DueDate = rules.calendar.add(today, rules.time_limit(level, s.category, s.severity))
    changes = dict(
        level=level,
        level_started_at=now,
        deadline=due.date,
        deadline_provisional=due.provisional,
        deploy_due=None,
        feedback_due=None,
        acked_at=None,
        feedback_at=None,
        **reset_reminders(),
    )
    if Milestone.DEPLOY in rule.milestones:
        d = rules.calendar.add(today, rule.milestones[Milestone.DEPLOY])
        changes["deploy_due"] = min(d.date, due.date)
        changes["deadline_provisional"] |= d.provisional
    if Milestone.FEEDBACK in rule.milestones:
        d = rules.calendar.add(today, rule.milestones[Milestone.FEEDBACK])
        changes["feedback_due"] = min(d.date, due.date)
        changes["deadline_provisional"] |= d.provisional
    return changes


def reset_reminders() -> dict:
    return dict(
        warned_at=None, overdue_reminded_at=None, deploy_reminded_at=None, feedback_reminded_at=None, stalled_at=None
    )


def shift_for_pause(s: Snapshot, paused_since: datetime, now: datetime, rules: Rules) -> dict:
    """Move the deadline and milestones by the whole days the clock was paused (suspension, review)."""
    days = (local_date(now, rules) - local_date(paused_since, rules)).days
    if days <= 0 or s.deadline is None:
        return {}
    cal = rules.calendar
    moved = cal.next_workday(s.deadline + timedelta(days=days))
    changes: dict = dict(
        deadline=moved.date, deadline_provisional=s.deadline_provisional or moved.provisional, **reset_reminders()
    )
    for name in ("deploy_due", "feedback_due"):
        value = getattr(s, name)
        if value is not None:
            changes[name] = min(cal.next_workday(value + timedelta(days=days)).date, moved.date)
    return changes


def light_for(s: Snapshot, now: datetime, rules: Rules) -> Light:
    """The light a problem shows at ``now``. Outside running clocks the light stays as it was."""
    if s.state == State.DISCOVERED:
        return Light.YELLOW if s.created_at and now >= unassigned_at(s, rules) else Light.GREEN
    if s.state not in CLOCK_STATES or s.deadline is None:
        return Light(s.light)
    t = thresholds(s, rules)
    if (rules.red_sticky and s.overdue_escalations > 0) or now >= t.escalate_at:
        return Light.RED
    if now >= t.overdue_at:
        return Light.YELLOW
    if t.deploy_missed_at and s.acked_at is None and now >= t.deploy_missed_at:
        return Light.YELLOW
    if t.feedback_missed_at and s.feedback_at is None and now >= t.feedback_missed_at:
        return Light.YELLOW
    if t.warn_at and now >= t.warn_at:
        return Light.BLUE
    return Light.GREEN


def next_check(s: Snapshot, now: datetime, rules: Rules) -> datetime | None:
    """The earliest threshold after ``now`` (or already passed but not yet acted on)."""
    if s.state == State.DISCOVERED:
        return None if s.overdue_reminded_at else unassigned_at(s, rules)
    if s.state not in CLOCK_STATES or s.deadline is None:
        return None
    t = thresholds(s, rules)
    pending: list[datetime] = []
    if t.warn_at and not s.warned_at:
        pending.append(t.warn_at)
    if not s.overdue_reminded_at:
        pending.append(t.overdue_at)
    if not s.stalled_at:
        pending.append(t.escalate_at)
    if t.deploy_missed_at and not (s.acked_at or s.deploy_reminded_at):
        pending.append(t.deploy_missed_at)
    if t.feedback_missed_at and not (s.feedback_at or s.feedback_reminded_at):
        pending.append(t.feedback_missed_at)
    return min(pending) if pending else None


def schedule(s: Snapshot, now: datetime, rules: Rules) -> dict:
    """Light and next check for a snapshot whose other fields are final."""
    return dict(light=light_for(s, now, rules), next_check_at=next_check(s, now, rules))
