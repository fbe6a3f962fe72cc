"""The action table: every workflow action stated once — where it may start, where it leads, who may take it,
which fields it takes and how people see it. Pure: no I/O.

The state machine (``workflow.machine``) builds its transitions from this table; ``workflow.permissions``
reads the roles from it; the web builds its forms and buttons, the JSON API its request schema and the
``actions`` it advertises, and the CLI its commands and options — all from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from workflow.errors import InvalidValue
from workflow.states import Category, Level, Rating, Severity, State

S = State
ACTIVE = (S.ASSIGNED, S.SUPERVISED)
OPEN = (S.DISCOVERED, S.ASSIGNED, S.SUPERVISED, S.SUSPENDED, S.REVIEW)


class Relation(StrEnum):
    """Who may take an action, relative to the problem (checked in ``workflow.permissions``)."""

    ANYONE = "anyone"  # any active user
    OFFICE = "office"  # the county inspection office (督查室) and administrators
    CONTRACTOR = "contractor"  # the county leader who contracts the problem's project (包联县级领导)
    HANDLER = "handler"  # the responsible unit's staff and head, the responsible person, the leader in charge
    UNIT_HEAD = "unit_head"  # a head of the responsible unit
    ADMIN = "admin"
    SYSTEM = "system"  # the scheduler's sweep
    REPORTER = "reporter"  # the person who logged the problem


class FieldKind(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    DATE = "date"
    SELECT = "select"
    UNIT = "unit"  # a unit code, name or alias
    USER = "user"  # a login
    PROJECT = "project"  # a project name or number
    BOOL = "bool"


@dataclass(frozen=True)
class FieldSpec:
    """One input of an action: its API/form/CLI name, its Chinese label and how it is entered."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 5000
    hint: str = ""  # what to enter, e.g. "YYYY-MM-DD；不填则按规则计算"


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: str
    sources: tuple[State, ...]
    targets: tuple[State, ...] = ()  # empty: the state stays as it is
    fields: tuple[FieldSpec, ...] = ()
    allow: tuple[Relation, ...] = ()
    deny_own_unit: bool = False  # nobody of the responsible unit may (a unit never closes its own problem)
    deny_resolver: bool = False  # not the person who applied to close it (nobody reviews their own application)
    who: str = ""  # who may, in words (refusals and help)
    help: str = ""  # what it does, in words (CLI help, form hints)
    danger: bool = False  # the web asks for confirmation
    system: bool = False  # only the scheduler's sweep takes it
    evidence: bool = False  # files (佐证材料) may be attached to it (workflow.evidence)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def read(self, data: Mapping[str, object]) -> dict[str, str]:
        """This action's non-empty fields from a form or a JSON body, trimmed and length-checked; fields the
        action does not take are ignored (what is required is the machine's to decide)."""
        out: dict[str, str] = {}
        for spec in self.fields:
            value = data.get(spec.name)
            if value is None or isinstance(value, bool):
                if value is True:
                    out[spec.name] = "1"
                continue
            text = str(value).strip()
            if len(text) > spec.max_length:
                raise InvalidValue(
                    f"{spec.label}过长：{len(text)} 字，最多 {spec.max_length} 字",
                    field=spec.name,
                    value=text,
                    label=spec.label,
                )
            if text:
                out[spec.name] = text
        return out


_DATE_HINT = "YYYY-MM-DD；不填则按规则计算"


def _f(name: str, label: str, kind: FieldKind = FieldKind.TEXT, required: bool = False, **kw) -> FieldSpec:
    return FieldSpec(name, label, kind, required, **kw)


_OFFICE_OR_CONTRACTOR = (Relation.OFFICE, Relation.CONTRACTOR)
_HANDLERS = (Relation.ADMIN, Relation.HANDLER)
_TEXTAREA = FieldKind.TEXTAREA

_TABLE: tuple[ActionSpec, ...] = (
    # Logging creates the problem (发现): no source state, so no machine transition.
    ActionSpec(
        "log",
        "登记问题",
        (),
        (S.DISCOVERED,),
        (
            _f("project", "项目", FieldKind.PROJECT, True, max_length=200, hint="项目名称或编号"),
            _f(
                "category",
                "问题类型",
                FieldKind.SELECT,
                True,
                choices=tuple((c.value, c.label) for c in Category),
                max_length=32,
            ),
            _f("title", "问题标题", FieldKind.TEXT, True, max_length=200),
            _f("description", "问题描述", _TEXTAREA),
            _f("unit", "责任单位", FieldKind.UNIT, max_length=128, hint="不填则为项目所属单位"),
            _f(
                "severity",
                "问题性质",
                FieldKind.SELECT,
                choices=tuple((v.value, v.label) for v in Severity),
                max_length=16,
                hint="不填则为一般",
            ),
            _f("county_level", "需县级层面协调解决", FieldKind.BOOL),
        ),
        (Relation.ANYONE,),
        who="任何在职用户",
        help="登记（发现）一个问题，输出新问题编号。",
        evidence=True,
    ),
    ActionSpec(
        "assign",
        "交办",
        (S.DISCOVERED,),
        (S.ASSIGNED,),
        (
            _f("unit", "责任单位", FieldKind.UNIT, True, max_length=128),
            _f("person", "责任人", FieldKind.USER, True, max_length=64, hint="登录名"),
            _f("leader", "分管领导", FieldKind.USER, max_length=64, hint="登录名；责任单位的领导或县级领导"),
            _f("section", "责任科室", max_length=128),
            _f("deadline", "办结时限", FieldKind.DATE, max_length=20, hint=_DATE_HINT),
            _f("comment", "交办意见", _TEXTAREA),
        ),
        _OFFICE_OR_CONTRACTOR,
        who="督查室、管理员或该项目的包联县级领导",
        help="交办：指定责任单位、责任人、分管领导和办结时限（不填则按规则计算）。",
    ),
    ActionSpec(
        "ack",
        "签收（研究部署）",
        ACTIVE,
        fields=(_f("text", "签收说明", _TEXTAREA),),
        allow=_HANDLERS,
        who="责任单位的人员、责任人或分管领导",
        help="签收（研究部署）。",
    ),
    ActionSpec(
        "feedback",
        "反馈办理情况",
        ACTIVE,
        fields=(_f("text", "反馈内容", _TEXTAREA, True),),
        allow=_HANDLERS,
        who="责任单位的人员、责任人或分管领导",
        help="反馈办理情况。",
        evidence=True,
    ),
    ActionSpec(
        "note",
        "添加备注",
        tuple(State),
        fields=(_f("text", "备注内容", _TEXTAREA, True),),
        allow=(Relation.ANYONE,),
        who="任何在职用户",
        help="添加备注（不改变状态）。",
        evidence=True,
    ),
    ActionSpec(
        "attach",
        "上传附件",
        OPEN,
        fields=(_f("text", "附件说明", _TEXTAREA, hint="如：批复扫描件、现场照片"),),
        allow=(Relation.OFFICE, Relation.CONTRACTOR, Relation.HANDLER, Relation.REPORTER),
        who="督查室、管理员、包联县级领导、责任单位的人员、责任人、分管领导或问题提出人",
        help="上传佐证材料（照片、扫描件、文档），记入办理记录（不改变状态）。",
        evidence=True,
    ),
    ActionSpec(
        "supervise",
        "督办",
        (S.ASSIGNED,),
        (S.SUPERVISED,),
        (_f("reason", "督办意见", _TEXTAREA, True),),
        _OFFICE_OR_CONTRACTOR,
        who="督查室、管理员或该项目的包联县级领导",
        help="督办：把已交办问题纳入督办。",
    ),
    ActionSpec(
        "escalate",
        "升级",
        ACTIVE,
        (S.SUPERVISED,),
        (
            _f(
                "to",
                "目标层级",
                FieldKind.SELECT,
                choices=tuple((lv.value, lv.label) for lv in Level if lv != Level.UNIT),
                max_length=32,
                hint="不填则为下一层级",
            ),
            _f("reason", "升级理由", _TEXTAREA, True),
            _f("deadline", "新层级办结时限", FieldKind.DATE, max_length=20, hint=_DATE_HINT),
        ),
        # The system escalates a problem found past its deadline and grace (超期自动升级).
        (Relation.OFFICE, Relation.CONTRACTOR, Relation.UNIT_HEAD, Relation.SYSTEM),
        who="督查室、管理员、包联县级领导或责任单位负责人",
        help="升级到更高层级（默认下一层级）。",
        danger=True,
    ),
    ActionSpec(
        "suspend",
        "挂起",
        ACTIVE,
        (S.SUSPENDED,),
        (_f("reason", "挂起原因", _TEXTAREA, True, hint="如等待上级批复"),),
        (Relation.OFFICE,),
        who="督查室或管理员",
        help="挂起（等待外部审批时暂停计时）。",
        danger=True,
    ),
    ActionSpec(
        "resume",
        "恢复",
        (S.SUSPENDED,),
        ACTIVE,  # back to the state it was suspended from
        (_f("reason", "恢复说明", _TEXTAREA),),
        (Relation.OFFICE,),
        who="督查室或管理员",
        help="恢复计时；办结时限顺延挂起的天数。",
    ),
    ActionSpec(
        "resolve",
        "申请销号",
        ACTIVE,
        (S.REVIEW,),
        (_f("resolution", "办结情况", _TEXTAREA, True),),
        _HANDLERS,
        who="责任单位的人员、责任人或分管领导",
        help="申请销号（提交办结情况，待督查室审核）。",
        evidence=True,
    ),
    ActionSpec(
        "close",
        "销号",
        (S.REVIEW,),
        # 不合格 is not a closing: the problem goes back to 督办 with the reason (as ``send_back``).
        (S.CLOSED, S.SUPERVISED),
        (
            _f(
                "rating",
                "评价等级",
                FieldKind.SELECT,
                True,
                choices=tuple((r.value, r.label + ("（退回）" if r == Rating.FAIL else "")) for r in Rating),
                max_length=16,
            ),
            _f("comment", "销号意见", _TEXTAREA),
            _f("reason", "退回理由", _TEXTAREA, hint="评为不合格时必填：问题退回督办"),
        ),
        (Relation.OFFICE,),
        deny_own_unit=True,
        deny_resolver=True,
        who="督查室或管理员（责任单位不能给自己的问题销号，申请人不能审核自己的申请）",
        help="销号（督查室审核通过，须评定等级）；评为不合格则退回督办，须写明退回理由。",
        danger=True,
        evidence=True,
    ),
    ActionSpec(
        "send_back",
        "退回",
        (S.REVIEW,),
        (S.SUPERVISED,),
        (_f("reason", "退回理由", _TEXTAREA, True),),
        (Relation.OFFICE,),
        deny_own_unit=True,
        deny_resolver=True,
        who="督查室或管理员（责任单位不能审核自己的问题，申请人不能审核自己的申请）",
        help="退回（督查室审核不通过），问题回到督办状态。",
        danger=True,
        evidence=True,
    ),
    # 重大问题每半月至少调度一次: the scheduler records each half-month's dispatch as the system; a person
    # records a dispatch meeting's arrangements.
    ActionSpec(
        "dispatch",
        "调度",
        OPEN,
        fields=(_f("text", "调度情况", _TEXTAREA, True, hint="调度了什么、作出了哪些安排"),),
        allow=(Relation.OFFICE, Relation.CONTRACTOR, Relation.SYSTEM),
        who="督查室、管理员或该项目的包联县级领导",
        help="记录一次调度（重大问题每半月至少调度一次）：调度情况和作出的安排，不改变状态。",
    ),
    # The county government meeting's decision on an agenda item (会议纪要), carried forward by the workflow.
    ActionSpec(
        "decide",
        "会议决定",
        ACTIVE,
        (S.SUPERVISED,),
        (
            _f("decision", "会议决定", _TEXTAREA, True, hint="会议纪要中对该问题的决定"),
            _f("meeting", "会议", max_length=100, hint="如 2024年1月25日县政府常务会议"),
            _f("unit", "责任单位", FieldKind.UNIT, max_length=128, hint="不填则不变"),
            _f("person", "责任人", FieldKind.USER, max_length=64, hint="登录名；更换责任单位时必填"),
            _f("leader", "分管领导", FieldKind.USER, max_length=64, hint="登录名；不填则为责任单位负责人"),
            _f("deadline", "新办结时限", FieldKind.DATE, max_length=20, hint="YYYY-MM-DD；不填则不变"),
        ),
        (Relation.OFFICE,),
        who="督查室或管理员（会议组织方）",
        help="记录县政府会议对该问题的决定（会议纪要）：决定事项，以及新的责任单位和办结时限。",
    ),
    ActionSpec(
        "reclassify",
        "重新定性",
        (S.DISCOVERED, S.ASSIGNED, S.SUPERVISED, S.SUSPENDED),
        fields=(
            _f(
                "severity",
                "问题性质",
                FieldKind.SELECT,
                choices=tuple((v.value, v.label) for v in Severity),
                max_length=16,
                hint="不填则为重大",
            ),
            _f("reason", "定性理由", _TEXTAREA, True),
        ),
        allow=(Relation.OFFICE,),
        who="督查室或管理员",
        help="重新定性问题性质（一般 ↔ 重大）：重大问题可经“13710”督办提交县政府会议研究；本层级时限按新性质重算。",
        danger=True,
    ),
    # The sweep's actions: no person takes them, but each is an audited workflow step.
    ActionSpec("warn", "临期预警", ACTIVE, allow=(Relation.SYSTEM,), system=True),
    ActionSpec("remind", "催办", ACTIVE, allow=(Relation.SYSTEM,), system=True),
    ActionSpec("overdue", "超期催办", ACTIVE, allow=(Relation.SYSTEM,), system=True),
    ActionSpec("stall", "最高层级超期", ACTIVE, allow=(Relation.SYSTEM,), system=True),
    ActionSpec("unassigned", "逾期未交办提醒", (S.DISCOVERED,), allow=(Relation.SYSTEM,), system=True),
    ActionSpec("review_overdue", "审核逾期提醒", (S.REVIEW,), allow=(Relation.SYSTEM,), system=True),
    # The calendar changed (a year declared in the rules file): deadlines computed again from their basis.
    ActionSpec(
        "recalculate",
        "重新核定时限",
        (S.ASSIGNED, S.SUPERVISED, S.SUSPENDED, S.REVIEW),
        allow=(Relation.SYSTEM,),
        system=True,
    ),
    # Recomputes the light and the next check only: nothing happened to the problem, so no audit event.
    ActionSpec("refresh", "更新预警灯", OPEN, allow=(Relation.SYSTEM,), system=True),
)

ACTIONS: dict[str, ActionSpec] = {a.name: a for a in _TABLE}
# The actions a person takes on an existing problem (the buttons on its page).
USER_ACTIONS: tuple[str, ...] = tuple(a.name for a in _TABLE if not a.system and a.sources)
SYSTEM_ACTIONS: frozenset[str] = frozenset(a.name for a in _TABLE if a.system)
# Labels of everything that can appear in the audit log; an automatic escalation is an ``escalate`` event
# whose data says ``auto``.
ACTION_LABELS: dict[str, str] = {a.name: a.label for a in _TABLE}
# The actions files may be attached to (log creates the problem, so it is not among USER_ACTIONS).
EVIDENCE_ACTIONS: tuple[str, ...] = tuple(a.name for a in _TABLE if a.evidence)
AUTO_ESCALATE_LABEL = "超期自动升级"
# Audit events that are not workflow actions: the 督办函 register (service.letters) records its signing and
# its overdue reminders on the problem's history.
AUDIT_ONLY_LABELS = {"letter_sign": "签发督办函", "letter_overdue": "督办函逾期未回复"}
ACTION_LABELS.update(AUDIT_ONLY_LABELS)


def label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def spec(action: str) -> ActionSpec:
    """The action's spec; an unknown name is an InvalidValue naming what is allowed."""
    found = ACTIONS.get(action)
    if found is None:
        raise InvalidValue(
            f"未知操作「{action}」，可选：{'、'.join(f'{a}（{label(a)}）' for a in USER_ACTIONS)}",
            field="action",
            value=action,
        )
    return found


def all_fields() -> dict[str, FieldSpec]:
    """Every field name any action takes (the API's request schema is their union)."""
    out: dict[str, FieldSpec] = {}
    for a in _TABLE:
        for f in a.fields:
            out.setdefault(f.name, f)
    return out
