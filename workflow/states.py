"""The vocabulary of the ledger: states, levels, categories, roles — ids in English, labels in Chinese.

Every enum is a ``StrEnum`` so that its value is what the database, the rules file and the JSON API
carry, and ``label`` is what people read.
"""

from __future__ import annotations

from enum import StrEnum


class _Labelled(StrEnum):
    @property
    def label(self) -> str:
        # Keyed by class too: Level.COUNTY_LEADER and Role.COUNTY_LEADER share the value "county_leader".
        return _LABELS[(type(self).__name__, self.value)]

    @classmethod
    def parse(cls, value: str, label: str, field: str | None = None) -> _Labelled:
        """Accept the id or the Chinese label; raise a Chinese error naming ``label`` otherwise."""
        from workflow.errors import InvalidValue

        text = (value or "").strip()
        for member in cls:
            if text in (member.value, member.label):
                return member
        allowed = "、".join(f"{m.value}（{m.label}）" for m in cls)
        raise InvalidValue(f"{label}的值「{value}」无效，可选：{allowed}", field=field, value=value, label=label)


class State(_Labelled):
    DISCOVERED = "discovered"
    ASSIGNED = "assigned"
    SUPERVISED = "supervised"
    SUSPENDED = "suspended"
    REVIEW = "review"
    CLOSED = "closed"


OPEN_STATES = frozenset({State.DISCOVERED, State.ASSIGNED, State.SUPERVISED, State.SUSPENDED, State.REVIEW})
# States whose deadline clock runs (suspended pauses it; review waits on the inspection office).
CLOCK_STATES = frozenset({State.ASSIGNED, State.SUPERVISED})


class Level(_Labelled):
    UNIT = "unit"
    COUNTY_LEADER = "county_leader"
    SUPERVISION_13710 = "supervision_13710"
    GOVERNMENT_MEETING = "government_meeting"


LEVEL_SHORT = {
    "unit": "单位",
    "county_leader": "包联领导",
    "supervision_13710": "13710督办",
    "government_meeting": "县政府会议",
}

LADDER = (Level.UNIT, Level.COUNTY_LEADER, Level.SUPERVISION_13710, Level.GOVERNMENT_MEETING)


class Category(_Labelled):
    LAND = "land"
    DEMOLITION = "demolition"
    PERMIT = "permit"
    FUNDING = "funding"
    FACTOR = "factor"
    OTHER = "other"


class Severity(_Labelled):
    GENERAL = "general"
    MAJOR = "major"


class Light(_Labelled):
    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"


class Role(_Labelled):
    STAFF = "staff"
    UNIT_HEAD = "unit_head"  # the unit's principal (一把手)
    DEPUTY_HEAD = "deputy_head"  # a leader of the unit who may be put in charge of a problem (分管领导)
    COUNTY_LEADER = "county_leader"
    INSPECTOR = "inspector"
    ADMIN = "admin"


class Rating(_Labelled):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"


class UnitKind(_Labelled):
    TOWN = "town"
    ZONE = "zone"
    DEPARTMENT = "department"
    ENTERPRISE = "enterprise"
    INSPECTION_OFFICE = "inspection_office"


class Milestone(_Labelled):
    """The 13710 checkpoints within the supervision level; the last one is the level deadline."""

    DEPLOY = "deploy"
    FEEDBACK = "feedback"
    SETTLE = "settle"


class Recipient(_Labelled):
    """Who a notice goes to, by role relative to the problem (resolved to people at send time)."""

    RESPONSIBLE_PERSON = "responsible_person"
    UNIT_HEAD = "unit_head"
    LEADER_IN_CHARGE = "leader_in_charge"
    CONTRACTING_LEADER = "contracting_leader"
    INSPECTION_OFFICE = "inspection_office"
    REPORTER = "reporter"
    ORGANISER = "organiser"  # the government meeting's organiser (会务), a unit or role named in the rules


_LABELS: dict[tuple[str, str], str] = {}
_LABEL_LIST: list[tuple[StrEnum, str]] = [
    (State.DISCOVERED, "发现"),
    (State.ASSIGNED, "交办"),
    (State.SUPERVISED, "督办"),
    (State.SUSPENDED, "挂起"),
    (State.REVIEW, "待审核"),
    (State.CLOSED, "销号"),
    (Level.UNIT, "单位/乡镇内部专人负责"),
    (Level.COUNTY_LEADER, "项目分包处级领导牵头协调"),
    (Level.SUPERVISION_13710, "“13710”督办"),
    (Level.GOVERNMENT_MEETING, "县政府会议研究"),
    (Category.LAND, "土地"),
    (Category.DEMOLITION, "征拆"),
    (Category.PERMIT, "手续"),
    (Category.FUNDING, "资金"),
    (Category.FACTOR, "要素保障"),
    (Category.OTHER, "其他"),
    (Severity.GENERAL, "一般"),
    (Severity.MAJOR, "重大"),
    (Light.GREEN, "正常"),
    (Light.BLUE, "蓝灯"),
    (Light.YELLOW, "黄灯"),
    (Light.RED, "红灯"),
    (Role.STAFF, "工作人员"),
    (Role.UNIT_HEAD, "单位负责人"),
    (Role.DEPUTY_HEAD, "分管领导"),
    (Role.COUNTY_LEADER, "县级领导"),
    (Role.INSPECTOR, "督查室"),
    (Role.ADMIN, "管理员"),
    (Rating.EXCELLENT, "优秀"),
    (Rating.GOOD, "良好"),
    (Rating.PASS, "合格"),
    (Rating.FAIL, "不合格"),
    (UnitKind.TOWN, "乡镇"),
    (UnitKind.ZONE, "开发区"),
    (UnitKind.DEPARTMENT, "县直部门"),
    (UnitKind.ENTERPRISE, "县属企业"),
    (UnitKind.INSPECTION_OFFICE, "督查室"),
    (Milestone.DEPLOY, "研究部署"),
    (Milestone.FEEDBACK, "反馈办理情况"),
    (Milestone.SETTLE, "落实到位"),
    (Recipient.RESPONSIBLE_PERSON, "责任人"),
    (Recipient.UNIT_HEAD, "责任单位负责人"),
    (Recipient.LEADER_IN_CHARGE, "分管领导"),
    (Recipient.CONTRACTING_LEADER, "项目包联县级领导"),
    (Recipient.INSPECTION_OFFICE, "县政府办督查室"),
    (Recipient.REPORTER, "问题提出人"),
    (Recipient.ORGANISER, "会议组织单位"),
]

_LABELS.update(((type(member).__name__, member.value), text) for member, text in _LABEL_LIST)
