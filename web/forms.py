"""The fields each workflow action takes — one table for the HTML forms and the JSON API.

Only the field names and how to show them live here; what is required, what is valid and who may act
is decided by ``ProblemService.act`` and ``workflow`` (a missing field comes back as its MissingField).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.errors import InvalidValue
from workflow.permissions import ACTION_LABELS
from workflow.states import Level, Rating

# Actions people take (the sweep's own actions are not offered).
USER_ACTIONS = (
    "assign",
    "ack",
    "feedback",
    "note",
    "supervise",
    "escalate",
    "suspend",
    "resume",
    "resolve",
    "close",
    "send_back",
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"  # text | textarea | date | select | unit | user
    required: bool = False
    choices: tuple = ()
    max_length: int = 5000


_TEXT = 5000
FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "assign": (
        FieldSpec("unit", "责任单位", "unit", True, max_length=128),
        FieldSpec("person", "责任人（登录名）", "user", True, max_length=64),
        FieldSpec("leader", "分管领导（登录名，可空：默认单位负责人）", "user", max_length=64),
        FieldSpec("section", "责任科室", max_length=128),
        FieldSpec("deadline", "办结时限（可空：按规则计算）", "date", max_length=20),
        FieldSpec("comment", "交办意见", "textarea"),
    ),
    "ack": (FieldSpec("text", "签收说明", "textarea"),),
    "feedback": (FieldSpec("text", "反馈内容", "textarea", True),),
    "note": (FieldSpec("text", "备注内容", "textarea", True),),
    "supervise": (FieldSpec("reason", "督办意见", "textarea", True),),
    "escalate": (
        FieldSpec(
            "to",
            "目标层级（可空：下一层级）",
            "select",
            choices=tuple((lv.value, lv.label) for lv in Level if lv != Level.UNIT),
            max_length=32,
        ),
        FieldSpec("reason", "升级理由", "textarea", True),
        FieldSpec("deadline", "新层级办结时限（可空：按规则计算）", "date", max_length=20),
    ),
    "suspend": (FieldSpec("reason", "挂起原因（如等待上级批复）", "textarea", True),),
    "resume": (FieldSpec("reason", "恢复说明", "textarea"),),
    "resolve": (FieldSpec("resolution", "办结情况", "textarea", True),),
    "close": (
        FieldSpec("rating", "评价等级", "select", choices=tuple((r.value, r.label) for r in Rating), max_length=16),
        FieldSpec("comment", "销号意见", "textarea"),
    ),
    "send_back": (FieldSpec("reason", "退回理由", "textarea", True),),
}

BUTTONS = {a: ACTION_LABELS[a] for a in USER_ACTIONS}
# Actions that need a second look before the click counts.
DANGER = {"close", "send_back", "suspend", "escalate"}


def params_from(action: str, data) -> dict:
    """The non-empty fields of ``action`` from a form or a JSON body (anything with ``.get``)."""
    out = {}
    for spec in FIELDS.get(action, ()):
        value = data.get(spec.name)
        if value is None:
            continue
        value = str(value).strip()
        if len(value) > spec.max_length:
            raise InvalidValue(f"{spec.label}过长：{len(value)} 字，最多 {spec.max_length} 字")
        if value:
            out[spec.name] = value
    return out
