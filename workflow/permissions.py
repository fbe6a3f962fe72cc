"""Who may do what — every rule, once. Pure: an actor (and for problem actions the problem's stake) in,
a yes/no or a Chinese refusal out.

Two families of rules live here:

- **problem actions** (交办, 督办, 销号 …): the roles come from the action table (``workflow.actions``),
  relative to the problem — its responsible unit, people and contracting leader;
- **management** (users, units, projects, tokens, backups, imports, the review queue, the outbox, reports):
  one table, ``MANAGEMENT``, by role.

"The actor is active" is checked in one place, ``_active``: a deactivated account may do nothing at all,
whatever its role, through any front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflow.actions import ACTIONS, ActionSpec, Relation, spec
from workflow.actions import label as action_label
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

    def describe(self) -> str:
        return f"{self.name}（{self.login}，{_role_label(self.role)}）"


SYSTEM = Actor(SYSTEM_LOGIN, "系统自动", "system")


@dataclass(frozen=True)
class Stake:
    """The units and people a problem belongs to (by id)."""

    responsible_unit_id: int | None = None
    responsible_person_id: int | None = None
    leader_id: int | None = None
    project_leader_id: int | None = None
    reporter_id: int | None = None
    resolver_id: int | None = None  # who applied to close it (申请销号), while it waits for review
    office_unit: bool = False  # the responsible unit is the county inspection office (督查室) itself


# -- problem actions ------------------------------------------------------------------------------------


def _unit_member(actor: Actor, stake: Stake) -> bool:
    return actor.unit_id is not None and actor.unit_id == stake.responsible_unit_id


def _relation_holds(relation: Relation, actor: Actor, stake: Stake) -> bool:
    if relation is Relation.ANYONE:
        return True
    if relation is Relation.ADMIN:
        return actor.role == Role.ADMIN
    if relation is Relation.OFFICE:
        return actor.role in (Role.INSPECTOR, Role.ADMIN)
    if relation is Relation.CONTRACTOR:
        return (
            actor.role == Role.COUNTY_LEADER and actor.user_id is not None and actor.user_id == stake.project_leader_id
        )
    if relation is Relation.HANDLER:
        return (_unit_member(actor, stake) and actor.role in (Role.STAFF, Role.UNIT_HEAD, Role.DEPUTY_HEAD)) or (
            actor.user_id is not None and actor.user_id in (stake.responsible_person_id, stake.leader_id)
        )
    if relation is Relation.UNIT_HEAD:
        return actor.role == Role.UNIT_HEAD and _unit_member(actor, stake)
    if relation is Relation.REPORTER:
        return actor.user_id is not None and actor.user_id == stake.reporter_id
    return False  # Relation.SYSTEM is the system actor only (see allowed)


def _active(actor: Actor) -> bool:
    """The one place that decides a deactivated account may do nothing."""
    return actor.is_system or actor.active


def allowed(action: str, actor: Actor, stake: Stake) -> bool:
    """May ``actor`` take workflow ``action`` on a problem with ``stake``?"""
    a = ACTIONS.get(action)
    if a is None or not _active(actor):
        return False
    if actor.is_system:
        return Relation.SYSTEM in a.allow
    if a.system:
        return False
    if _own_review(a, actor, stake):
        return False
    return any(_relation_holds(r, actor, stake) for r in a.allow)


def _own_review(a: ActionSpec, actor: Actor, stake: Stake) -> bool:
    """A unit never reviews its own problem, and nobody reviews their own application to close one. The
    inspection office's own problems are reviewed inside the office, so there only the second rule holds:
    another inspector or an administrator closes what one inspector resolved."""
    if a.deny_own_unit and _unit_member(actor, stake) and not stake.office_unit:
        return True
    return a.deny_resolver and actor.user_id is not None and actor.user_id == stake.resolver_id


def check(action: str, actor: Actor, stake: Stake, code: str = "") -> None:
    """Raise PermissionDenied, in words, unless ``allowed``."""
    if allowed(action, actor, stake):
        return
    what = action_label(action)
    if not _active(actor):
        raise PermissionDenied(f"用户 {actor.describe()} 已停用，不能{what}", field="actor", value=actor.login)
    a = spec(action)
    reason = f"只有{a.who}可以{a.label}" if a.who else "该操作由系统自动执行"
    if a.deny_resolver and actor.user_id is not None and actor.user_id == stake.resolver_id:
        reason = f"销号申请是你提交的，不能自己审核，请由督查室其他人员或管理员{a.label}"
    target = f"问题 {code} " if code else ""
    raise PermissionDenied(
        f"{actor.describe()} 无权对{target}执行「{what}」：{reason}", field="actor", value=actor.login
    )


# -- management -----------------------------------------------------------------------------------------


class Manage(StrEnum):
    """Management actions (not about one problem)."""

    USERS = "users"  # add users, activate/deactivate, set someone else's password, sign them out
    UNITS = "units"
    PROJECTS = "projects"
    TOKENS = "tokens"  # someone else's API tokens
    BACKUP = "backup"  # full export, and a restore that replaces existing data
    IMPORT_LEDGER = "import_ledger"
    REVIEW = "review"  # the closing-review queue
    OUTBOX = "outbox"  # re-queue failed notices
    SEE_EMAILS = "see_emails"  # e-mail addresses in the user directory
    REPORTS = "reports"  # dispatch reports and the meeting agenda
    READ_LEDGER = "read_ledger"  # the ledger, a problem, exports of them
    CHANNELS = "channels"  # work-group robots and SMS numbers: add, test, disable
    INBOX = "inbox"  # one's own inbox and delivery choices
    INSPECT = "inspect"  # record on-site inspections (督查记录)
    SIGN_LETTERS = "sign_letters"  # sign (签发) a 督办函: an official act, so inspectors only
    CAMPAIGNS = "campaigns"  # add a campaign, include problems in one
    ASSESSMENT = "assessment"  # compute and keep a month's assessment (考核), notify the units


_ANY = frozenset(Role)
_OFFICE = frozenset({Role.ADMIN, Role.INSPECTOR})
_ADMIN = frozenset({Role.ADMIN})
_INSPECTOR = frozenset({Role.INSPECTOR})

# What each management action is called and who may take it.
MANAGEMENT: dict[Manage, tuple[str, frozenset[Role], str]] = {
    Manage.USERS: ("管理用户", _ADMIN, "管理员"),
    Manage.UNITS: ("管理单位", _ADMIN, "管理员"),
    Manage.PROJECTS: ("登记项目", _OFFICE, "管理员或督查室"),
    Manage.TOKENS: ("管理他人的 API 令牌", _ADMIN, "管理员"),
    Manage.BACKUP: ("导出或恢复全部数据", _ADMIN, "管理员"),
    Manage.IMPORT_LEDGER: ("导入台账", _OFFICE, "管理员或督查室"),
    Manage.REVIEW: ("审核销号", _OFFICE, "督查室或管理员"),
    Manage.OUTBOX: ("重发通知", _ADMIN, "管理员"),
    Manage.SEE_EMAILS: ("查看用户邮箱", _OFFICE, "管理员或督查室"),
    Manage.REPORTS: ("查看报表", _ANY, "在职用户"),
    Manage.READ_LEDGER: ("查看台账", _ANY, "在职用户"),
    Manage.CHANNELS: ("管理通知渠道", _ADMIN, "管理员"),
    Manage.INBOX: ("查看站内消息", _ANY, "在职用户"),
    Manage.INSPECT: ("记录督查", _OFFICE, "督查室或管理员"),
    Manage.SIGN_LETTERS: ("签发督办函", _INSPECTOR, "督查室人员"),
    Manage.CAMPAIGNS: ("管理专项行动", _OFFICE, "管理员或督查室"),
    Manage.ASSESSMENT: ("生成月度考核", _OFFICE, "管理员或督查室"),
}


def may(what: Manage, actor: Actor) -> bool:
    return _active(actor) and not actor.is_system and actor.role in MANAGEMENT[what][1]


def may_for(what: Manage, actor: Actor, owner_login: str) -> bool:
    """For things a person may do to their own account (password, tokens) and ``what`` lets others do."""
    if not _active(actor) or actor.is_system:
        return False
    return actor.login == owner_login or may(what, actor)


def require(what: Manage, actor: Actor, owner_login: str | None = None) -> None:
    """Raise PermissionDenied unless ``actor`` may (with ``owner_login``: or it is their own account)."""
    ok = may_for(what, actor, owner_login) if owner_login is not None else may(what, actor)
    if ok:
        return
    label, _, who = MANAGEMENT[what]
    if not _active(actor):
        raise PermissionDenied(f"用户 {actor.describe()} 已停用，不能{label}", field="actor", value=actor.login)
    self_too = f"或 {owner_login} 本人" if owner_login is not None else ""
    raise PermissionDenied(
        f"只有{who}{self_too}可以{label}，{actor.describe()} 不可以", field="actor", value=actor.login
    )


# -- evidence (attachments) -------------------------------------------------------------------------------


def check_attach(actor: Actor, stake: Stake, code: str = "") -> None:
    """Files go on a problem only from the people it concerns — the roles of the 上传附件 action — whichever
    action carries them: anyone may add a note, but evidence comes from the problem's parties."""
    check("attach", actor, stake, code)


def check_see_files(actor: Actor, stake: Stake) -> None:
    """A problem's files (and inspection photos) are for whoever may see the problem: today every active
    user may read the whole ledger, so this is ``READ_LEDGER``; ``stake`` is where a narrower rule would look."""
    require(Manage.READ_LEDGER, actor)


def _role_label(role: str) -> str:
    return Role(role).label if role in {r.value for r in Role} else "系统"
