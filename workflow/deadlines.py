"""Deadlines, thresholds and lights for one problem. Pure: a snapshot, the rules and "now" in, facts out.

Every moment the sweep must act on is a *threshold* computed from the problem's deadline: the warning
window opens (blue), the deadline passes (overdue: reminder, yellow), the grace after it ends
(escalate, red), a 13710 milestone passes unmet (reminder, yellow). ``schedule`` returns the light now
and the next threshold still to come, which is stored in ``next_check_at`` so the sweep selects only
problems that are due, with an index, however large the ledger grows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar

from workflow.calendar import DueDate, Period, PeriodUnit, WorkCalendar
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
    review_reminded_at: datetime | None = None
    # The deadline basis (``DeadlineBasis``): what the deadline and milestones are computed from, kept so
    # that they can be computed again when the calendar changes; ``calendar_fp`` names the calendar used.
    basis_start: date | None = None
    basis_period: str | None = None
    basis_typed: date | None = None
    given_back_workdays: int = 0
    given_back_days: int = 0
    calendar_fp: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ()  # filled below: the names copied to and from rows


Snapshot.FIELDS = tuple(f.name for f in fields(Snapshot))


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
    assert s.deadline is not None, "thresholds exist only where a deadline runs"
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
    assert s.created_at is not None, "a logged problem has its creation time"
    logged = local_date(s.created_at, rules)
    return after_day(rules.calendar.add(logged, rules.assign_within).date, rules)


def enter_level(s: Snapshot, level: Level, now: datetime, rules: Rules) -> dict:
    """Field changes for a problem entering ``level`` at ``now``: its own fresh time limit and milestones,
    and the basis they are computed from."""
    changes = dict(
        level=level,
        level_started_at=now,
        basis_start=local_date(now, rules),
        basis_period=str(rules.time_limit(level, s.category, s.severity)),
        basis_typed=None,
        given_back_workdays=0,
        given_back_days=0,
        acked_at=None,
        feedback_at=None,
        **reset_reminders(),
    )
    changes.update(derive(with_changes(s, changes), rules))
    return changes


def reset_reminders() -> dict:
    return dict(
        warned_at=None, overdue_reminded_at=None, deploy_reminded_at=None, feedback_reminded_at=None, stalled_at=None
    )


@dataclass(frozen=True)
class PauseCredit:
    """What a pause gave back: ``amount`` days in ``unit`` (working days, or calendar days)."""

    amount: int
    unit: PeriodUnit


def credit_unit(period: Period) -> PeriodUnit:
    """The unit a pause is given back in: working days for a working-day period, else calendar days."""
    return PeriodUnit.WORKDAYS if period.unit is PeriodUnit.WORKDAYS else PeriodUnit.CALENDAR_DAYS


def days_lost(paused_on: date, resumed_on: date, unit: PeriodUnit, calendar: WorkCalendar) -> int:
    """The days from the day of suspension through the day before resumption, counted in ``unit``."""
    if resumed_on <= paused_on:
        return 0
    if unit is PeriodUnit.WORKDAYS:
        return calendar.workdays_between(paused_on - timedelta(days=1), resumed_on - timedelta(days=1))
    return (resumed_on - paused_on).days


def give_back(due: date, credit: PauseCredit, calendar: WorkCalendar) -> DueDate:
    """``due`` moved on by ``credit``: working days counted on from it, or calendar days added and the
    result rolled to a working day (Civil Code art. 203). Nothing to give back leaves it where it is."""
    return calendar.add(due, Period(credit.amount, credit.unit))


_MILESTONE_FIELDS = (
    ("deploy_due", Milestone.DEPLOY, "deploy_reminded_at"),
    ("feedback_due", Milestone.FEEDBACK, "feedback_reminded_at"),
)


def shift_for_pause(s: Snapshot, paused_since: datetime, now: datetime, rules: Rules) -> tuple[dict, PauseCredit]:
    """Give back the time a pause (suspension, review) took from the running period.

    The days lost run from the day the clock stopped through the day before it restarted (local dates),
    counted in the unit of the period they interrupted: working days for a working-day time limit (a
    pause over a weekend costs nothing), calendar days for a calendar-day or month limit. The deadline
    moves on by that many; each 13710 milestone likewise in the unit of its own period, never past the
    new deadline. Returns the field changes and the credit given back on the deadline.
    """
    cal = rules.calendar
    paused_on, resumed_on = local_date(paused_since, rules), local_date(now, rules)
    unit = credit_unit(rules.time_limit(s.level, s.category, s.severity))
    if s.deadline is None:
        return {}, PauseCredit(0, unit)
    credit = PauseCredit(days_lost(paused_on, resumed_on, unit, cal), unit)
    changes: dict = {}
    if credit.amount:
        moved = give_back(s.deadline, credit, cal)
        changes.update(
            deadline=moved.date, deadline_provisional=s.deadline_provisional or moved.provisional, **reset_reminders()
        )
    deadline = changes.get("deadline", s.deadline)
    periods = rules.level(s.level).milestones
    for name, milestone, reminded in _MILESTONE_FIELDS:
        value = getattr(s, name)
        if value is None:
            continue
        own = credit_unit(periods[milestone]) if milestone in periods else unit
        lost = credit.amount if own is unit else days_lost(paused_on, resumed_on, own, cal)
        if lost:
            changes[name] = min(give_back(value, PauseCredit(lost, own), cal).date, deadline)
            changes.setdefault(reminded, None)
    return changes, credit


@dataclass(frozen=True)
class DeadlineBasis:
    """What a deadline is computed from, kept so that it can be computed again when the calendar changes
    (the rules file declares a year whose schedule was a guess).

    ``start``: the local day the level was entered; ``period``: the level's time limit then;
    ``given_back``: the pauses' credits summed, in ``credit_unit(period)``; ``typed``: a deadline a person
    set, which replaces the computed one.
    """

    start: date
    period: Period
    given_back: int = 0
    typed: date | None = None


def due_from_basis(basis: DeadlineBasis, calendar: WorkCalendar) -> DueDate:
    """The deadline ``enter_level``, typed deadlines and ``shift_for_pause`` compute from ``basis``.

    Exact for working-day periods however many pauses there were. For calendar-day and month periods it
    gives the credits back in one step, so it can come out earlier than a stored deadline when an earlier
    pause had ended on a holiday and was rolled to the next working day before the next pause added to it
    (art. 203 moves only the period's last day; the stored chain moved an intermediate one).
    """
    if basis.typed is not None:
        base, _ = calendar.roll_forward(basis.typed)
    else:
        base = calendar.add(basis.start, basis.period)
    if not basis.given_back:
        return base
    moved = give_back(base.date, PauseCredit(basis.given_back, credit_unit(basis.period)), calendar)
    return DueDate(moved.date, base.provisional or moved.provisional)


def basis_of(s: Snapshot) -> DeadlineBasis | None:
    """The snapshot's stored basis; None for a deadline computed before bases were kept."""
    if s.basis_start is None or not s.basis_period:
        return None
    period = Period.parse(s.basis_period)
    return DeadlineBasis(s.basis_start, period, _credit(s, credit_unit(period)), s.basis_typed)


def _credit(s: Snapshot, unit: PeriodUnit) -> int:
    return s.given_back_workdays if unit is PeriodUnit.WORKDAYS else s.given_back_days


def with_changes(s: Snapshot, changes: dict) -> Snapshot:
    return replace(s, **{k: v for k, v in changes.items() if k in _FIELD_SET})


def derive(s: Snapshot, rules: Rules) -> dict:
    """The deadline, its 13710 milestones, the provisional flag and the calendar fingerprint, computed from
    the snapshot's basis with the rules' calendar. Every deadline duban sets comes from here, so computing
    it again after the calendar changed (``recalculate``) gives what it would have been from the start.

    A milestone counts its own period from the level's start and gets the pauses back in its own unit; it
    never falls after the deadline."""
    basis = basis_of(s)
    if basis is None:
        return {}
    cal = rules.calendar
    due = due_from_basis(basis, cal)
    out: dict = dict(deadline=due.date, deadline_provisional=due.provisional, calendar_fp=cal.fingerprint)
    periods = rules.level(s.level).milestones
    for name, milestone, _ in _MILESTONE_FIELDS:
        if milestone not in periods:
            out[name] = None
            continue
        period = periods[milestone]
        base = cal.add(basis.start, period)
        credit = _credit(s, credit_unit(period))
        moved = give_back(base.date, PauseCredit(credit, credit_unit(period)), cal) if credit else base
        out[name] = min(moved.date, due.date)
        out["deadline_provisional"] |= base.provisional or moved.provisional
    return out


def moved_fields(s: Snapshot, derived: dict) -> dict:
    """``derived`` plus the reminders to send again: all of them when the deadline moved, a milestone's
    own when only it moved (a reminder already sent was about the old date)."""
    out = dict(derived)
    if derived.get("deadline", s.deadline) != s.deadline:
        out.update(reset_reminders())
        return out
    for name, _, reminded in _MILESTONE_FIELDS:
        if name in derived and derived[name] != getattr(s, name):
            out[reminded] = None
    return out


def pause_changes(s: Snapshot, paused_since: datetime, now: datetime, rules: Rules) -> tuple[dict, PauseCredit]:
    """Give back a pause (suspension, review) through the basis: the days lost are added to the credits in
    both units, and the deadline and milestones computed again. A deadline without a basis (computed
    before bases were kept) moves by ``shift_for_pause``."""
    if basis_of(s) is None:
        return shift_for_pause(s, paused_since, now, rules)
    cal = rules.calendar
    paused_on, resumed_on = local_date(paused_since, rules), local_date(now, rules)
    lost = {u: days_lost(paused_on, resumed_on, u, cal) for u in (PeriodUnit.WORKDAYS, PeriodUnit.CALENDAR_DAYS)}
    credits = dict(
        given_back_workdays=s.given_back_workdays + lost[PeriodUnit.WORKDAYS],
        given_back_days=s.given_back_days + lost[PeriodUnit.CALENDAR_DAYS],
    )
    unit = credit_unit(Period.parse(s.basis_period or ""))
    if not any(lost.values()):
        return {}, PauseCredit(0, unit)
    changes = {**credits, **moved_fields(s, derive(with_changes(s, credits), rules))}
    return changes, PauseCredit(lost[unit], unit)


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


def review_overdue_at(s: Snapshot, rules: Rules) -> datetime | None:
    """When the closing review has taken longer than ``[review] time_limit`` (counted from the day the unit
    applied), unless the inspection office was already reminded."""
    if s.state != State.REVIEW or s.resolved_at is None or s.review_reminded_at is not None:
        return None
    return after_day(rules.calendar.add(local_date(s.resolved_at, rules), rules.review_limit).date, rules)


def stall_repeat_at(s: Snapshot, rules: Rules) -> datetime | None:
    """At the top of its ladder, past deadline and grace, a problem is reminded again every
    ``remind_every`` after the last reminder (``stalled_at``); None when the ladder says never."""
    every = rules.ladder(s.severity).remind_every
    if s.stalled_at is None or every.amount == 0:
        return None
    return start_of_day(rules.calendar.add(local_date(s.stalled_at, rules), every).date, rules)


def next_check(s: Snapshot, now: datetime, rules: Rules) -> datetime | None:
    """The earliest threshold after ``now`` (or already passed but not yet acted on)."""
    if s.state == State.DISCOVERED:
        return None if s.overdue_reminded_at else unassigned_at(s, rules)
    if s.state == State.REVIEW:
        return review_overdue_at(s, rules)
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
    elif rules.next_rung(s.severity, s.level) is None:
        repeat = stall_repeat_at(s, rules)
        if repeat is not None:
            pending.append(repeat)
    if t.deploy_missed_at and not (s.acked_at or s.deploy_reminded_at):
        pending.append(t.deploy_missed_at)
    if t.feedback_missed_at and not (s.feedback_at or s.feedback_reminded_at):
        pending.append(t.feedback_missed_at)
    return min(pending) if pending else None


def schedule(s: Snapshot, now: datetime, rules: Rules) -> dict:
    """Light and next check for a snapshot whose other fields are final."""
    return dict(light=light_for(s, now, rules), next_check_at=next_check(s, now, rules))


_FIELD_SET = frozenset(Snapshot.FIELDS)
