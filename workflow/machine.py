"""The closed loop 发现 → 交办 → 督办 → 销号 as ONE ``transitions`` machine, built once at import.

Each request is fired on a small, throw-away ``Ctx`` (GUIDE §5: a Machine per object costs ~0.8 ms;
``machine.events[name].trigger(ctx)`` costs microseconds). Guards are the transitions' conditions and
raise typed errors; the ``after`` callbacks compute an ``Outcome`` — the field changes, the audit
comment and the notices to send — and the service layer persists it in one transaction. Nothing here
touches the database or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from transitions import Machine

from workflow import deadlines as dl
from workflow.actions import ACTIONS as SPECS
from workflow.actions import USER_ACTIONS, ActionSpec, spec
from workflow.actions import label as action_label
from workflow.calendar import PeriodUnit
from workflow.dates import latest_deadline
from workflow.errors import InvalidTransition, InvalidValue, MissingField
from workflow.ladders import Organiser
from workflow.permissions import Actor, Stake, allowed, check
from workflow.recalculate import e_recalculate
from workflow.review import e_review_overdue, fails, g_close
from workflow.rules import Rules
from workflow.severity import e_reclassify, g_reclassify
from workflow.states import LADDER, Level, Milestone, Rating, Recipient, Severity, State
from workflow.text import TextKind, clean

S = State
MAX_TEXT = TextKind.TEXT.max_length


@dataclass(frozen=True)
class NoticeIntent:
    """A notice to record: kind, who by role, extra payload. ``replayable`` notices come from the
    sweep and are keyed without the event id, so replaying the sweep cannot add them twice."""

    kind: str
    recipients: tuple[Recipient, ...]
    payload: dict = field(default_factory=dict)
    replayable: bool = False
    key: str = ""  # tells apart replayable notices of one kind, level and deadline (e.g. repeated reminders)
    organiser: Organiser | None = None  # who ``Recipient.ORGANISER`` means, from the rules


@dataclass
class Outcome:
    action: str
    from_state: str
    to_state: str
    from_level: str
    to_level: str
    changes: dict
    comment: str = ""
    data: dict = field(default_factory=dict)
    notices: list[NoticeIntent] = field(default_factory=list)
    after: dl.Snapshot | None = None  # the snapshot with the changes applied


class Ctx:
    """What one transition sees; ``state`` is the attribute the machine reads and writes."""

    def __init__(self, snapshot: dl.Snapshot, actor: Actor, now: datetime, rules: Rules, params: dict):
        self.state = str(State(snapshot.state).value)
        self.snap = snapshot
        self.actor = actor
        self.now = now
        self.rules = rules
        self.params = params
        # Escalation by the system is the automatic one (超期自动升级); a person's needs a reason.
        self.auto = actor.is_system
        self.changes: dict[str, Any] = {}
        self.comment = ""
        self.data: dict[str, Any] = {}
        self.notices: list[NoticeIntent] = []
        self.action: str | None = None  # what the audit log records, when not the action fired

    def text(self, name: str, label: str, required: bool = True) -> str:
        # The one text gate: multi-line text, control/bidi/invisible characters refused, MAX_TEXT characters.
        return clean(self.params.get(name), field=name, label=label, kind=TextKind.TEXT, required=required)

    def notify(self, kind: str, recipients, replayable: bool = False, key: str = "", **payload) -> None:
        roles = tuple(dict.fromkeys(recipients))
        organiser = self.rules.organiser if Recipient.ORGANISER in roles else None
        self.notices.append(NoticeIntent(kind, roles, payload, replayable, key, organiser))


def _today(ctx: Ctx) -> date:
    return dl.local_date(ctx.now, ctx.rules)


# -- guards (conditions): raise a typed error, or return True ---------------------------------------


def _g_assign(ev) -> bool:
    ctx: Ctx = ev.model
    p = ctx.params
    if not p.get("unit_id"):
        raise MissingField("交办必须指定责任单位", field="unit", label="责任单位")
    if not p.get("person_id"):
        raise MissingField("交办必须指定责任人", field="person", label="责任人")
    _g_deadline(ctx)
    section = ctx.text("section", "责任科室", required=False)
    rules = ctx.rules
    missing = [
        (name, label, hint)
        for name, label, hint, needed in (
            ("leader", "分管领导", "责任单位的领导或县级领导", rules.require_leader and not p.get("leader_id")),
            ("section", "责任科室", "承办的内设科室或股室", rules.require_section and not section),
        )
        if needed
    ]
    if missing:
        # One error naming everything missing, so nobody fixes one field only to be refused for the next.
        labels = "和".join(label for _, label, _ in missing)
        hints = "；".join(f"{label}：{hint}" for _, label, hint in missing)
        raise MissingField(f"交办必须指定{labels}（{hints}）", field=missing[0][0], label=missing[0][1])
    return True


def _g_text(name: str, label: str):
    def guard(ev) -> bool:
        ev.model.text(name, label)
        return True

    return guard


def _g_ack(ev) -> bool:
    _ready_ack(ev.model.snap, ev.model.rules)
    return True


# -- readiness: guards that depend on the problem alone, not on what was typed. ``available_actions`` runs
# them too, so a page never offers what the machine would refuse.


def _ready_ack(snap: dl.Snapshot, rules: Rules) -> None:
    if snap.acked_at is not None:
        when = snap.acked_at.astimezone(rules.timezone).strftime("%Y-%m-%d %H:%M")
        raise InvalidTransition(f"问题 {snap.code} 已于 {when} 签收，无需重复签收")


def _ready_escalate(snap: dl.Snapshot, rules: Rules) -> None:
    current = Level(snap.level)
    if rules.next_rung(snap.severity, current) is None:
        raise InvalidTransition(_top_message(snap, current))


def _top_message(snap: dl.Snapshot, current: Level) -> str:
    severity = Severity(snap.severity)
    text = f"问题 {snap.code} 已在{severity.label}问题阶梯的最高层级「{current.label}」，不能再升级"
    if severity == Severity.GENERAL and current != LADDER[-1]:
        text += "；重大问题须先由督查室重新定性为重大问题，才能提交县政府会议研究"
    return text


def _ready_decide(snap: dl.Snapshot, rules: Rules) -> None:
    if Level(snap.level) != Level.GOVERNMENT_MEETING:
        raise InvalidTransition(
            f"问题 {snap.code} 在「{Level(snap.level).label}」层级，会议决定只记录"
            f"「{Level.GOVERNMENT_MEETING.label}」层级的问题"
        )


_READY = {"ack": _ready_ack, "escalate": _ready_escalate, "decide": _ready_decide}


def _target_level(ctx: Ctx) -> Level:
    """The rung named (``to``), or the next one; only rungs of the problem's own ladder (by severity)."""
    current = Level(ctx.snap.level)
    ladder = ctx.rules.ladder(ctx.snap.severity)
    wanted = ctx.params.get("to")
    if wanted:
        target = Level(Level.parse(wanted, "目标层级", field="to"))
        if target not in ladder.above(current):
            higher = "、".join(f"{lv.value}（{lv.label}）" for lv in ladder.above(current)) or "无"
            why = "不高于当前层级" if LADDER.index(target) <= LADDER.index(current) else "不在本问题性质的层级阶梯上"
            hint = ""
            if target == Level.GOVERNMENT_MEETING and ladder.severity == Severity.GENERAL:
                hint = "；一般性问题须先重新定性为重大问题，才能提交县政府会议研究"
            raise InvalidValue(
                f"目标层级 {target.value}（{target.label}）{why}（当前 {current.value}，"
                f"{ladder.severity.label}问题），可升级到：{higher}{hint}",
                field="to",
                value=wanted,
                label="目标层级",
            )
        return target
    nxt = ladder.next(current)
    if nxt is None:
        raise InvalidTransition(_top_message(ctx.snap, current))
    return nxt


def _g_escalate(ev) -> bool:
    ctx: Ctx = ev.model
    if not ctx.auto:
        ctx.text("reason", "升级理由")
    _target_level(ctx)
    _g_deadline(ctx)
    return True


def _g_deadline(ctx: Ctx) -> None:
    deadline = ctx.params.get("deadline")
    if deadline is None:
        return
    today = _today(ctx)
    if deadline < today:
        raise InvalidValue(
            f"办结时限 {deadline} 早于今天 {today}，请给出今天或以后的日期",
            field="deadline",
            value=deadline,
            label="办结时限",
        )
    limit = ctx.rules.max_deadline_ahead
    latest = latest_deadline(today, *((limit.amount, 0) if limit.unit is PeriodUnit.MONTHS else (0, limit.amount)))
    if deadline > latest:
        raise InvalidValue(
            f"办结时限 {deadline} 太远：最多可定在今天起 {limit.label}以内（{latest} 及以前）；"
            "如确需更长，请修改规则文件 [limits] max_deadline_ahead",
            field="deadline",
            value=deadline,
            label="办结时限",
        )


def _set_deadline(ctx: Ctx, given: date) -> None:
    """A deadline set by a person (交办 or a supervision letter) replaces the computed one. Like every
    deadline it ends on a working day (Civil Code art. 203): one typed on a holiday moves to the next."""
    _, rolled = ctx.rules.calendar.roll_forward(given)
    ctx.changes["basis_typed"] = given
    ctx.changes.update(dl.derive(dl.with_changes(ctx.snap, ctx.changes), ctx.rules))
    if rolled:
        ctx.data["deadline_rolled_from"] = given.isoformat()


def _g_dispatch(ev) -> bool:
    ctx: Ctx = ev.model
    if not ctx.auto:
        ctx.text("text", "调度情况")
    return True


def _g_decide(ev) -> bool:
    ctx: Ctx = ev.model
    _ready_decide(ctx.snap, ctx.rules)
    ctx.text("decision", "会议决定")
    ctx.text("meeting", "会议", required=False)
    p = ctx.params
    if (p.get("person_id") or p.get("leader_id")) and not p.get("unit_id"):
        raise MissingField("更换责任人或分管领导须同时写明责任单位", field="unit", label="责任单位")
    if p.get("unit_id") and not p.get("person_id"):
        raise MissingField("更换责任单位须同时指定责任人", field="person", label="责任人")
    _g_deadline(ctx)
    return True


def _g_resolve(ev) -> bool:
    ctx: Ctx = ev.model
    ctx.text("resolution", "办结情况")
    # ``evidence``: the files the problem will have with this application (the service counts them).
    ctx.rules.evidence.check_resolve(ctx.snap.category, ctx.params.get("evidence"))
    return True


def _g_attach(ev) -> bool:
    if not ev.model.params.get("files"):
        raise MissingField("请选择要上传的文件（照片、扫描件或文档）", field="attachments", label="附件")
    ev.model.text("text", "附件说明", required=False)
    return True


def _resume_to_assigned(ev) -> bool:
    return ev.model.snap.suspended_from == S.ASSIGNED


# -- effects (after callbacks): fill ctx.changes / comment / notices ----------------------------------


def _level_notify(ctx: Ctx, level: str, kind: str) -> tuple[Recipient, ...]:
    return ctx.rules.recipients(kind, level)


def _e_assign(ev) -> None:
    ctx: Ctx = ev.model
    p, snap = ctx.params, ctx.snap
    level = ctx.rules.initial_level(snap.severity, snap.county_level)
    ctx.changes.update(dl.enter_level(snap, level, ctx.now, ctx.rules))
    if p.get("deadline"):
        _set_deadline(ctx, p["deadline"])
    ctx.changes.update(
        responsible_unit_id=p["unit_id"],
        responsible_person_id=p["person_id"],
        leader_id=p.get("leader_id"),
        responsible_section=ctx.text("section", "责任科室", False),
        assigned_at=ctx.now,
    )
    ctx.comment = ctx.text("comment", "交办意见", required=False)
    ctx.data = {
        **ctx.data,
        "deadline": str(ctx.changes["deadline"]),
        "routing": level.value,
        "unit_id": p["unit_id"],
        "person_id": p["person_id"],
        "leader_id": p.get("leader_id"),
        "section": ctx.changes["responsible_section"],
    }
    ctx.notify(
        "assignment",
        _level_notify(ctx, level, "assignment"),
        comment=ctx.comment,
        due=str(ctx.changes["deadline"]),
    )


def _e_ack(ev) -> None:
    ev.model.changes["acked_at"] = ev.model.now
    ev.model.comment = ev.model.text("text", "签收说明", required=False)


def _e_feedback(ev) -> None:
    ctx: Ctx = ev.model
    ctx.comment = ctx.text("text", "反馈内容")
    ctx.changes.update(feedback_at=ctx.now, progress=ctx.comment)


def _e_note(ev) -> None:
    ev.model.comment = ev.model.text("text", "备注内容")


def _e_attach(ev) -> None:
    ev.model.comment = ev.model.text("text", "附件说明", required=False)


def _e_supervise(ev) -> None:
    ctx: Ctx = ev.model
    ctx.comment = ctx.text("reason", "督办意见")


def _e_escalate(ev) -> None:
    ctx: Ctx = ev.model
    target = _target_level(ctx)
    auto = ctx.auto
    ctx.changes.update(dl.enter_level(ctx.snap, target, ctx.now, ctx.rules))
    if ctx.params.get("deadline"):
        _set_deadline(ctx, ctx.params["deadline"])
    if auto:
        ctx.changes["overdue_escalations"] = ctx.snap.overdue_escalations + 1
        ctx.comment = f"超过办结时限 {ctx.snap.deadline} 及宽限期仍未办结，自动升级至「{target.label}」"
    else:
        ctx.comment = ctx.text("reason", "升级理由")
    ch = ctx.changes
    ctx.data = {
        **ctx.data,
        "deadline": str(ch["deadline"]),
        "auto": auto,
        "deadline_given": bool(ctx.params.get("deadline")),
    }
    ctx.notify(
        "escalation",
        _level_notify(ctx, target, "escalation"),
        replayable=auto,
        comment=ctx.comment,
        from_level=ctx.snap.level,
        to_level=target.value,
        due=str(ch["deadline"]),
        deploy_due=str(ch["deploy_due"] or ""),
        feedback_due=str(ch["feedback_due"] or ""),
    )


def _e_suspend(ev) -> None:
    ctx: Ctx = ev.model
    ctx.comment = ctx.text("reason", "挂起原因")
    ctx.changes.update(suspended_at=ctx.now, suspended_from=ctx.snap.state)
    ctx.notify("suspended", ctx.rules.notices["suspended"], comment=ctx.comment)


def _e_resume(ev) -> None:
    ctx: Ctx = ev.model
    assert ctx.snap.suspended_at is not None, "a suspended problem has its suspension time"
    shifted, credit = dl.pause_changes(ctx.snap, ctx.snap.suspended_at, ctx.now, ctx.rules)
    ctx.changes.update(shifted)
    ctx.changes.update(suspended_at=None, suspended_from=None)
    ctx.comment = ctx.text("reason", "恢复说明", required=False)
    new_deadline = ctx.changes.get("deadline", ctx.snap.deadline)
    ctx.data = {
        "deadline": str(new_deadline),
        "paused_since": ctx.snap.suspended_at.isoformat(),
        "given_back": {"amount": credit.amount, "unit": credit.unit.value},
    }
    ctx.notify("resumed", ctx.rules.notices["resumed"], comment=ctx.comment, due=str(new_deadline))


def _e_resolve(ev) -> None:
    ctx: Ctx = ev.model
    ctx.comment = ctx.text("resolution", "办结情况")
    ctx.changes.update(
        resolution=ctx.comment, resolved_at=ctx.now, resolver_id=ctx.actor.user_id, review_reminded_at=None
    )
    ctx.notify("review", ctx.rules.recipients("review"), comment=ctx.comment)


def _e_close(ev) -> None:
    ctx: Ctx = ev.model
    rating = ctx.params.get("rating")
    # A closed problem's deadline is history: nothing to compute again when the calendar changes.
    ctx.changes.update(rating=rating, closed_at=ctx.now, calendar_fp=None)
    ctx.comment = ctx.text("comment", "销号意见", required=False)
    ctx.data = {"rating": rating}
    ctx.notify("closed", ctx.rules.recipients("closed"), comment=ctx.comment, rating=rating or "")


def _e_send_back(ev) -> None:
    ctx: Ctx = ev.model
    ctx.comment = ctx.text("reason", "退回理由")
    # The clock paused while the inspection office reviewed; the unit gets that time back.
    shifted, credit = dl.pause_changes(ctx.snap, ctx.snap.resolved_at or ctx.now, ctx.now, ctx.rules)
    ctx.changes.update(shifted)
    ctx.changes.update(resolved_at=None, resolver_id=None, review_reminded_at=None)
    ctx.data = {
        **ctx.data,
        "deadline": str(ctx.changes.get("deadline", ctx.snap.deadline)),
        "given_back": {"amount": credit.amount, "unit": credit.unit.value},
    }
    rating = ctx.data.get("rating", "")
    ctx.notify("sent_back", ctx.rules.recipients("sent_back"), comment=ctx.comment, rating=rating)


def _e_close_fail(ev) -> None:
    """不合格: recorded as a send-back with the rating, never as a closing."""
    ctx: Ctx = ev.model
    ctx.action = "send_back"
    ctx.data = {"rating": Rating.FAIL.value}
    _e_send_back(ev)


def _e_dispatch(ev) -> None:
    ctx: Ctx = ev.model
    period = str(ctx.params.get("period") or "")
    if ctx.auto:
        ctx.comment = (
            ctx.text("text", "调度情况", required=False)
            or "重大问题半月调度：列入调度清单，通知包联领导、分管领导和督查室"
        )
    else:
        ctx.comment = ctx.text("text", "调度情况")
    ctx.data = {"period": period} if period else {}


def _e_decide(ev) -> None:
    ctx: Ctx = ev.model
    p, snap = ctx.params, ctx.snap
    ctx.comment = ctx.text("decision", "会议决定")
    meeting = ctx.text("meeting", "会议", required=False)
    ctx.data = {"meeting": meeting, "previous_deadline": str(snap.deadline or "")}
    if p.get("unit_id"):
        ctx.changes.update(
            responsible_unit_id=p["unit_id"], responsible_person_id=p["person_id"], leader_id=p.get("leader_id")
        )
        ctx.data.update(unit_id=p["unit_id"], person_id=p["person_id"], leader_id=p.get("leader_id"))
    if p.get("deadline"):
        # A new deadline is a new start for the sweep: warnings and reminders apply to it afresh.
        ctx.changes.update(dl.reset_reminders())
        _set_deadline(ctx, p["deadline"])
    ctx.data["deadline"] = str(ctx.changes.get("deadline", snap.deadline) or "")
    recipients = ctx.rules.recipients("decision") or ctx.rules.level(snap.level).notify
    ctx.notify("decision", recipients, comment=ctx.comment, meeting=meeting, due=ctx.data["deadline"])


def _e_warn(ev) -> None:
    ctx: Ctx = ev.model
    ctx.changes["warned_at"] = ctx.now
    ctx.comment = f"距办结时限 {ctx.snap.deadline} 已近"
    ctx.notify("warning", _level_notify(ctx, ctx.snap.level, "warning"), replayable=True, due=str(ctx.snap.deadline))


def _e_remind(ev) -> None:
    ctx: Ctx = ev.model
    snap, now = ctx.snap, ctx.now
    t = dl.thresholds(snap, ctx.rules)
    feedback_missed = t.feedback_missed_at and snap.feedback_at is None and now >= t.feedback_missed_at
    milestone = Milestone.FEEDBACK if feedback_missed else Milestone.DEPLOY
    due = snap.feedback_due if feedback_missed else snap.deploy_due
    # One reminder for everything missed so far: a late sweep must not send a burst.
    if feedback_missed:
        ctx.changes["feedback_reminded_at"] = now
    if snap.acked_at is None or not feedback_missed:
        ctx.changes["deploy_reminded_at"] = snap.deploy_reminded_at or now
    if t.warn_at and now >= t.warn_at:
        ctx.changes["warned_at"] = snap.warned_at or now  # the reminder already says the deadline is near
    ctx.comment = f"未按时{milestone.label}（节点 {due}）"
    ctx.data = {"milestone": milestone.value}
    recipients = _level_notify(ctx, snap.level, "reminder")
    ctx.notify("reminder", recipients, replayable=True, milestone=milestone.value, due=str(due))


def _superseded(snap: dl.Snapshot, now: datetime) -> dict:
    """Mark earlier thresholds done once a later one has fired, so they are never sent late."""
    return dict(
        warned_at=snap.warned_at or now,
        deploy_reminded_at=snap.deploy_reminded_at or now,
        feedback_reminded_at=snap.feedback_reminded_at or now,
    )


def _e_overdue(ev) -> None:
    ctx: Ctx = ev.model
    ctx.changes.update(_superseded(ctx.snap, ctx.now), overdue_reminded_at=ctx.now)
    ctx.comment = f"已超过办结时限 {ctx.snap.deadline}，请抓紧办理"
    ctx.notify("overdue", _level_notify(ctx, ctx.snap.level, "overdue"), replayable=True, due=str(ctx.snap.deadline))


def _e_stall(ev) -> None:
    """Past deadline and grace at the top of the problem's ladder: red, everyone told, no further rung. Fired
    again every ``remind_every`` (``stalled_at`` is the last time)."""
    ctx: Ctx = ev.model
    snap = ctx.snap
    repeat = snap.stalled_at is not None
    ctx.changes.update(
        _superseded(snap, ctx.now), overdue_reminded_at=snap.overdue_reminded_at or ctx.now, stalled_at=ctx.now
    )
    ladder = Severity(snap.severity).label
    ctx.comment = f"已在{ladder}问题的最高层级「{Level(snap.level).label}」且超过办结时限 {snap.deadline} 及宽限期"
    if repeat:
        ctx.comment += "，再次提醒"
    ctx.data = {"repeat": repeat}
    ctx.notify(
        "overdue",
        _level_notify(ctx, snap.level, "stalled"),
        replayable=True,
        key=f"final:{_today(ctx)}" if repeat else "",
        final=True,
        repeat=repeat,
        due=str(snap.deadline),
    )


def _e_unassigned(ev) -> None:
    ctx: Ctx = ev.model
    ctx.changes["overdue_reminded_at"] = ctx.now
    ctx.comment = f"登记后超过 {ctx.rules.assign_within.label} 仍未交办"
    ctx.notify("unassigned", ctx.rules.discovered_notify, replayable=True)


# The machine's wiring per action: its guards (conditions) and its effect. Sources, targets, roles and
# fields come from the action table (``workflow.actions``); only behaviour lives here.
_GUARDS: dict[str, list] = {
    "assign": [_g_assign],
    "ack": [_g_ack],
    "feedback": [_g_text("text", "反馈内容")],
    "note": [_g_text("text", "备注内容")],
    "supervise": [_g_text("reason", "督办意见")],
    "escalate": [_g_escalate],
    "suspend": [_g_text("reason", "挂起原因")],
    "resolve": [_g_resolve],
    "attach": [_g_attach],
    "close": [g_close],
    "send_back": [_g_text("reason", "退回理由")],
    "decide": [_g_decide],
    "dispatch": [_g_dispatch],
    "reclassify": [g_reclassify],
}
_EFFECTS = {
    "assign": _e_assign,
    "ack": _e_ack,
    "feedback": _e_feedback,
    "note": _e_note,
    "attach": _e_attach,
    "supervise": _e_supervise,
    "escalate": _e_escalate,
    "suspend": _e_suspend,
    "resume": _e_resume,
    "resolve": _e_resolve,
    "close": _e_close,
    "send_back": _e_send_back,
    "dispatch": _e_dispatch,
    "decide": _e_decide,
    "warn": _e_warn,
    "remind": _e_remind,
    "overdue": _e_overdue,
    "stall": _e_stall,
    "unassigned": _e_unassigned,
    "review_overdue": e_review_overdue,
    "reclassify": e_reclassify,
    "recalculate": e_recalculate,
    "refresh": lambda ev: None,
}


def _transitions(a: ActionSpec) -> list[dict]:
    base = dict(trigger=a.name, source=[s.value for s in a.sources], after=[_EFFECTS[a.name]])
    if a.name == "resume":
        # Back to the state the problem was suspended from.
        return [
            dict(base, dest=S.ASSIGNED.value, conditions=[_resume_to_assigned]),
            dict(base, dest=S.SUPERVISED.value),
        ]
    if a.name == "close":
        # 不合格 goes back to 督办 as a send-back with the reason; any other rating closes.
        guards = _GUARDS["close"]
        return [
            dict(base, dest=S.SUPERVISED.value, conditions=[*guards, fails], after=[_e_close_fail]),
            dict(base, dest=S.CLOSED.value, conditions=guards),
        ]
    (dest,) = a.targets or (None,)
    return [dict(base, dest=None if dest is None else dest.value, conditions=_GUARDS.get(a.name, []))]


TRANSITIONS: list[dict] = [t for a in SPECS.values() if a.sources for t in _transitions(a)]
MACHINE = Machine(
    model=None,
    states=[s.value for s in S],
    transitions=TRANSITIONS,
    initial=S.DISCOVERED.value,
    auto_transitions=False,
    send_event=True,
)
ACTIONS = tuple(MACHINE.events)
# get_triggers scans every event; the answer per state never changes, so ask once.
_TRIGGERS = {s.value: tuple(MACHINE.get_triggers(s.value)) for s in State}


def available(state: str) -> list[str]:
    """Every action the machine accepts from ``state`` (whoever takes it)."""
    return list(_TRIGGERS[State(state).value])


def available_actions(snap: dl.Snapshot, actor: Actor, stake: Stake, rules: Rules) -> list[ActionSpec]:
    """The actions ``actor`` may take on the problem now: accepted from its state, allowed to this actor,
    and passing the guards that depend on the problem alone (not yet acknowledged, a higher level exists).
    Pages, the API and the CLI offer exactly these; ``fire`` checks all of it again."""
    out = []
    for name in _TRIGGERS[State(snap.state).value]:
        if name not in USER_ACTIONS or not allowed(name, actor, stake):
            continue
        ready = _READY.get(name)
        if ready is not None:
            try:
                ready(snap, rules)
            except InvalidTransition:
                continue
        out.append(SPECS[name])
    return out


def fire(
    action: str, snap: dl.Snapshot, actor: Actor, stake: Stake, now: datetime, rules: Rules, **params: Any
) -> Outcome:
    """Run one action on a snapshot. Raises a typed error and changes nothing when it is not allowed."""
    spec(action)  # an unknown action: InvalidValue naming the allowed ones
    state = State(snap.state)
    if action not in _TRIGGERS[state.value]:
        could = "、".join(action_label(a) for a in available(state) if a in USER_ACTIONS) or "无"
        raise InvalidTransition(
            f"问题 {snap.code} 当前状态为「{state.label}」，不能{action_label(action)}；此状态下可以：{could}"
        )
    check(action, actor, stake, snap.code)
    ctx = Ctx(snap, actor, now, rules, dict(params))
    MACHINE.events[action].trigger(ctx)
    changes = ctx.changes
    if ctx.state != snap.state:
        changes["state"] = ctx.state
    after = replace(snap, **{k: v for k, v in changes.items() if k in _SNAPSHOT_FIELDS})
    changes.update(dl.schedule(after, now, rules))
    after.light, after.next_check_at = changes["light"], changes["next_check_at"]
    return Outcome(
        ctx.action or action,
        snap.state,
        ctx.state,
        snap.level,
        after.level,
        changes,
        ctx.comment,
        ctx.data,
        ctx.notices,
        after,
    )


_SNAPSHOT_FIELDS = frozenset(dl.Snapshot.FIELDS)


def mermaid() -> str:
    """The state diagram as Mermaid ``stateDiagram-v2``, generated from the machine's own transitions."""
    lines = ["stateDiagram-v2"]
    for s in State:
        lines.append(f'    state "{s.label} {s.value}" as {s.value}')
    lines.append(f"    [*] --> {S.DISCOVERED.value}: 登记 log")
    internal: dict[str, list[str]] = {}
    seen = set()
    for name, event in MACHINE.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                if t.dest is None:
                    internal.setdefault(source, []).append(name)
                    continue
                key = (source, t.dest, name)
                if key not in seen:
                    seen.add(key)
                    lines.append(f"    {source} --> {t.dest}: {action_label(name)} {name}")
    lines.append(f"    {S.CLOSED.value} --> [*]")
    for source, names in internal.items():
        if source in (S.ASSIGNED, S.SUPERVISED):
            shown = "、".join(action_label(n) for n in names)
            lines.append(f"    note right of {source}: 不改变状态：{shown}")
    return "\n".join(lines) + "\n"
