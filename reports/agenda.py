"""The county government meeting's agenda (会议议题): every open problem at the ``government_meeting`` level,
with its owners, its history from the audit log and what is asked of the meeting.

Data first (``build``), then two renderings: HTML (print-ready, ``@page`` CSS) and Word (.docx, laid out
after the national standard for official documents GB/T 9704: A4, 仿宋 三号 body, 黑体 headings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

from models.tables import Event, Problem, Project, Unit, User, table_of
from reports.columns import DATE_HINT, CellError, parse_date
from service import directory
from workflow.actions import ACTION_LABELS
from workflow.errors import InvalidValue
from workflow.permissions import SYSTEM_LOGIN, Manage
from workflow.rules import Rules
from workflow.states import OPEN_STATES, Category, Level, Light, Severity, State

DISPATCH_EVERY_DAYS = 15  # 重大问题每半月至少调度一次
# What counts as a dispatch (调度): the dispatch record — the half-monthly dispatch the scheduler records,
# a dispatch a person records — and a meeting's decision. Notes and feedback are not dispatches.
DISPATCH_ACTIONS = ("dispatch", "decide")
_CATEGORY_ASK = {
    "land": "协调用地指标、组卷报批和耕地占补平衡，明确自然资源部门的办理时限",
    "demolition": "研究征收补偿政策口径和安置方案，明确属地乡镇和相关部门的分工",
    "permit": "协调审批部门并联办理、容缺受理，明确各环节办理时限",
    "funding": "研究资金来源和拨付方式，明确财政和相关部门的责任",
    "factor": "协调水、电、气、路等要素保障，明确供应单位和完成时间",
    "other": "研究解决办法，明确牵头单位和配合单位",
}


def parse_meeting_date(text: str) -> date:
    try:
        value = parse_date(text)
    except CellError as exc:
        reason = exc.message
    else:
        if value is not None:
            return value
        reason = "不能为空，" + DATE_HINT
    raise InvalidValue(
        f"会议日期「{str(text)[:40]}」无效：{reason}",
        field="meeting",
        value=text,
        label="会议日期",
    )


@dataclass
class HistoryLine:
    at: str
    actor: str
    action: str
    change: str
    comment: str


@dataclass
class AgendaItem:
    number: int
    code: str
    title: str
    description: str
    project: str
    category: str
    severity: str
    state: str
    light: str
    unit: str
    person: str
    leader: str
    project_leader: str
    section: str
    deadline: date | None
    provisional: bool
    days_overdue: int
    entered: str | None
    how: str
    progress: str
    last_dispatch: date | None
    days_since_dispatch: int | None
    asks: list[str] = field(default_factory=list)
    history: list[HistoryLine] = field(default_factory=list)
    dispatches: int = 0  # dispatch records of the problem
    decision: str = ""  # the last meeting decision (会议纪要), if any
    decided: str | None = None  # its date

    @property
    def dispatch_overdue(self) -> bool:
        return self.days_since_dispatch is not None and self.days_since_dispatch > DISPATCH_EVERY_DAYS


@dataclass
class Agenda:
    meeting: date
    generated: datetime
    items: list[AgendaItem]

    def as_dict(self) -> dict:
        return {
            "meeting": self.meeting.isoformat(),
            "generated": self.generated.isoformat(),
            "items": [
                {
                    **{k: v for k, v in i.__dict__.items() if k != "history"},
                    "deadline": i.deadline.isoformat() if i.deadline else None,
                    "last_dispatch": i.last_dispatch.isoformat() if i.last_dispatch else None,
                    "history": [h.__dict__ for h in i.history],
                }
                for i in self.items
            ],
        }


_LIGHT_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.BLUE: 2, Light.GREEN: 3}


def build(engine, rules: Rules, meeting: date, now: datetime, actor_login: str | None) -> Agenda:
    directory.authorize(engine, actor_login, Manage.REPORTS)
    from models.db import session as open_session

    p, proj = table_of(Problem), table_of(Project)
    with open_session(engine) as session:
        rows = (
            session.execute(
                sa.select(p, proj.c.name.label("project_name"), proj.c.leader_id.label("project_leader_id"))
                .select_from(p.join(proj, proj.c.id == p.c.project_id))
                .where(p.c.level == Level.GOVERNMENT_MEETING.value, p.c.state.in_([s.value for s in OPEN_STATES]))
            )
            .mappings()
            .all()
        )
        units = dict(session.execute(sa.select(Unit.id, Unit.name)).all())
        names = dict(session.execute(sa.select(User.id, User.name)).all())
        logins = dict(session.execute(sa.select(User.login, User.name)).all())
        ids = [r["id"] for r in rows]
        events: dict[int, list] = {i: [] for i in ids}
        if ids:
            e = table_of(Event)
            for ev in session.execute(sa.select(e).where(e.c.problem_id.in_(ids)).order_by(e.c.at, e.c.id)).mappings():
                events[ev["problem_id"]].append(ev)
    rows = sorted(rows, key=lambda r: (_LIGHT_ORDER[Light(r["light"])], r["deadline"] or date.max, r["code"]))
    items = [_item(n, r, events[r["id"]], units, names, logins, meeting, rules) for n, r in enumerate(rows, start=1)]
    return Agenda(meeting, now, items)


def _item(number: int, r, events: list, units, names, logins, meeting: date, rules: Rules) -> AgendaItem:
    tz = rules.timezone

    def day(moment: datetime | None) -> date | None:
        return moment.astimezone(tz).date() if moment else None

    history = []
    how, entered, last = "", None, None
    dispatches, decision, decided = 0, "", None
    for ev in events:
        change = []
        if ev["from_state"] != ev["to_state"]:
            change.append(f"{State(ev['from_state']).label if ev['from_state'] else '∅'}→{State(ev['to_state']).label}")
        if ev["from_level"] != ev["to_level"] and ev["from_level"]:
            change.append(f"{Level(ev['from_level']).label}→{Level(ev['to_level']).label}")
        actor = "系统自动" if ev["actor"] == SYSTEM_LOGIN else logins.get(ev["actor"], ev["actor"])
        history.append(
            HistoryLine(
                f"{ev['at'].astimezone(tz):%Y-%m-%d}",
                actor,
                ACTION_LABELS.get(ev["action"], ev["action"]),
                "；".join(change),
                ev["comment"],
            )
        )
        if ev["to_level"] == Level.GOVERNMENT_MEETING and ev["action"] in ("assign", "escalate"):
            entered = f"{ev['at'].astimezone(tz):%Y-%m-%d}"
            if ev["action"] == "assign":
                how = "重大问题，交办时即提交县政府会议研究"
            elif (ev["data"] or {}).get("auto"):
                how = f"在「{Level(ev['from_level']).label}」层级超过办结时限及宽限期仍未办结，自动升级提交"
            else:
                how = f"由{actor}升级提交：{ev['comment']}"
        if ev["action"] in DISPATCH_ACTIONS:
            last = day(ev["at"])
            dispatches += 1
        if ev["action"] == "decide":
            decision, decided = ev["comment"], f"{ev['at'].astimezone(tz):%Y-%m-%d}"
    state, deadline = State(r["state"]), r["deadline"]
    overdue_days = (meeting - deadline).days if deadline and meeting > deadline else 0
    asks = _asks(r, state, deadline, overdue_days, how)
    if state == State.DISCOVERED:
        how = how or "重大问题，登记后尚未交办"
    item = AgendaItem(
        number,
        r["code"],
        r["title"],
        r["description"],
        r["project_name"],
        Category(r["category"]).label,
        Severity(r["severity"]).label,
        state.label,
        Light(r["light"]).label,
        units.get(r["responsible_unit_id"], ""),
        names.get(r["responsible_person_id"], ""),
        names.get(r["leader_id"], ""),
        names.get(r["project_leader_id"], ""),
        r["responsible_section"],
        deadline,
        bool(r["deadline_provisional"]),
        overdue_days,
        entered,
        how,
        r["progress"],
        last,
        (meeting - last).days if last else None,
        asks,
        history,
    )
    item.dispatches, item.decision, item.decided = dispatches, decision, decided
    return item


def _asks(r, state: State, deadline: date | None, overdue_days: int, how: str) -> list[str]:
    asks = []
    if state == State.DISCOVERED:
        asks.append("明确责任单位、责任人和办结时限（该问题尚未交办）")
    elif state == State.REVIEW:
        asks.append(f"审议责任单位的销号申请（办结情况：{r['resolution']}），决定是否同意销号")
    elif state == State.SUSPENDED:
        asks.append("该问题因等待外部审批已挂起，请研究向上级争取支持或协调相关部门加快办理")
    if state != State.REVIEW:
        asks.append(f"{_CATEGORY_ASK.get(r['category'], _CATEGORY_ASK['other'])}")
    if overdue_days:
        asks.append(
            f"该问题已超过会议层级办结时限 {deadline}（至会议日超期 {overdue_days} 天），请督促责任单位并重新明确完成时限"
        )
    return asks


# -- rendering -----------------------------------------------------------------------------------------


def agenda_html(agenda: Agenda, rules: Rules) -> str:
    from reports.dispatch_render import environment

    return (
        environment()
        .get_template("agenda.html")
        .render(
            a=agenda,
            generated=f"{agenda.generated.astimezone(rules.timezone):%Y-%m-%d %H:%M}",
            every=DISPATCH_EVERY_DAYS,
        )
    )


def write_agenda(agenda: Agenda, rules: Rules, out_dir: Path) -> list[Path]:
    from reports.agenda_docx import agenda_docx

    html = out_dir / f"agenda-{agenda.meeting.isoformat()}.html"
    docx = out_dir / f"agenda-{agenda.meeting.isoformat()}.docx"
    html.write_text(agenda_html(agenda, rules), encoding="utf-8")
    agenda_docx(agenda, rules, docx)
    return [html, docx]
