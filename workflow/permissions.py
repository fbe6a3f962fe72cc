"""Who may do what. Pure: an actor and the problem's stakeholders in, a Chinese refusal or nothing out.

The same table serves the CLI, the web pages and the API, so a rule is stated once.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.errors import PermissionDenied
from workflow.states import Role

SYSTEM_LOGIN = "system"


@dataclass(frozen=True)
class Actor:
    login: str
    name: str
    role: str
    user_id: int | None = None
    unit_id: int | None = None
    unit_name: str = ""
    active: bool = True

    @property
    def is_system(self) -> bool:
        return self.login == SYSTEM_LOGIN


SYSTEM = Actor(SYSTEM_LOGIN, "系统自动", "system")


@dataclass(frozen=True)
class Stake:
    """The people and units a problem belongs to."""

    responsible_unit_id: int | None = None
    responsible_person_id: int | None = None
    leader_id: int | None = None
    project_leader_id: int | None = None


# Actions only the scheduler's sweep performs.
SYSTEM_ACTIONS = frozenset({"warn", "remind", "overdue", "stall", "unassigned", "auto_escalate"})

ACTION_LABELS = {
    "log": "登记问题",
    "assign": "交办",
    "ack": "签收（研究部署）",
    "feedback": "反馈办理情况",
    "note": "添加备注",
    "supervise": "督办",
    "escalate": "升级",
    "suspend": "挂起",
    "resume": "恢复",
    "resolve": "申请销号",
    "close": "销号",
    "send_back": "退回",
    "warn": "临期预警",
    "remind": "催办",
    "overdue": "超期催办",
    "stall": "最高层级超期",
    "unassigned": "逾期未交办提醒",
    "auto_escalate": "超期自动升级",
}


def _is_unit_member(actor: Actor, stake: Stake) -> bool:
    return actor.unit_id is not None and actor.unit_id == stake.responsible_unit_id


def _is_handler(actor: Actor, stake: Stake) -> bool:
    return (_is_unit_member(actor, stake) and actor.role in (Role.STAFF, Role.UNIT_HEAD)) or (
        actor.user_id is not None and actor.user_id in (stake.responsible_person_id, stake.leader_id)
    )


def _contracts(actor: Actor, stake: Stake) -> bool:
    return actor.role == Role.COUNTY_LEADER and actor.user_id is not None and actor.user_id == stake.project_leader_id


def _office(actor: Actor) -> bool:
    return actor.role in (Role.INSPECTOR, Role.ADMIN)


def allowed(action: str, actor: Actor, stake: Stake) -> bool:
    if actor.is_system:
        return action in SYSTEM_ACTIONS
    if not actor.active or action in SYSTEM_ACTIONS:
        return False
    if action in ("log", "note"):
        return True
    if action in ("assign", "supervise"):
        return _office(actor) or _contracts(actor, stake)
    if action in ("ack", "feedback", "resolve"):
        return actor.role == Role.ADMIN or _is_handler(actor, stake)
    if action == "escalate":
        return (
            _office(actor)
            or _contracts(actor, stake)
            or (actor.role == Role.UNIT_HEAD and _is_unit_member(actor, stake))
        )
    if action in ("suspend", "resume"):
        return _office(actor)
    if action in ("close", "send_back"):
        # A unit never closes its own problem, whatever its role.
        return _office(actor) and not _is_unit_member(actor, stake)
    return False


def _role_label(role: str) -> str:
    return Role(role).label if role in {r.value for r in Role} else "系统"


def check(action: str, actor: Actor, stake: Stake, code: str = "") -> None:
    if allowed(action, actor, stake):
        return
    what = ACTION_LABELS.get(action, action)
    who = f"{actor.name}（{actor.login}，{_role_label(actor.role)}）"
    if not actor.active:
        raise PermissionDenied(f"用户 {who} 已停用，不能{what}")
    reason = {
        "assign": "只有督查室、管理员或该项目的包联县级领导可以交办",
        "supervise": "只有督查室、管理员或该项目的包联县级领导可以督办",
        "ack": "只有责任单位的人员、责任人或分管领导可以签收",
        "feedback": "只有责任单位的人员、责任人或分管领导可以反馈",
        "resolve": "只有责任单位的人员、责任人或分管领导可以申请销号",
        "escalate": "只有督查室、管理员、包联县级领导或责任单位负责人可以升级",
        "suspend": "只有督查室或管理员可以挂起",
        "resume": "只有督查室或管理员可以恢复",
        "close": "只有督查室或管理员可以销号，且责任单位不能给自己的问题销号",
        "send_back": "只有督查室或管理员可以退回，且责任单位不能审核自己的问题",
    }.get(action, "该操作由系统自动执行")
    target = f"问题 {code} " if code else ""
    raise PermissionDenied(f"{who} 无权对{target}执行「{what}」：{reason}")
