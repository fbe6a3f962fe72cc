"""Who gets a notice how: the four ways (e-mail, work-group robot, SMS, in-app inbox), the kinds a person
chooses them for, and the defaults. Pure: the stored choices come in, the ways out.

The 督办函 is its own kind (``letter``, sent when the office signs it), so a county can, say, text every
letter but not every escalation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from notifications.kinds import KIND_LABELS
from workflow.errors import InvalidValue

EMAIL, CHANNEL, SMS, INBOX = "email", "channel", "sms", "inbox"
WAYS: dict[str, str] = {
    EMAIL: "邮件",
    CHANNEL: "工作群（企业微信/钉钉）",
    SMS: "短信",
    INBOX: "站内消息",
}
LETTER = "letter"

# What a person chooses for: every notice kind.
PREFERENCE_KINDS: dict[str, str] = dict(KIND_LABELS)

# Everything to the inbox; 交办, 升级 and 督办函 also by e-mail and to the unit's group; SMS only for
# escalations and letters.
DEFAULTS: dict[str, frozenset[str]] = {kind: frozenset({INBOX}) for kind in PREFERENCE_KINDS}
for _kind in ("assignment", "escalation", LETTER):
    DEFAULTS[_kind] = DEFAULTS[_kind] | {EMAIL, CHANNEL}
for _kind in ("escalation", LETTER):
    DEFAULTS[_kind] = DEFAULTS[_kind] | {SMS}


def ways_for(kind: str, stored: Mapping[str, Iterable[str]] | None) -> frozenset[str]:
    """The ways a person gets ``kind`` (a preference kind): their stored choice, else the default."""
    if stored is not None and kind in stored:
        return frozenset(stored[kind])
    return DEFAULTS.get(kind, frozenset({INBOX}))


def check_ways(kind: str, ways: Iterable[str]) -> frozenset[str]:
    """Validate a person's choice for one kind; raises InvalidValue naming the bad value."""
    if kind not in PREFERENCE_KINDS:
        allowed = "、".join(f"{k}（{v}）" for k, v in PREFERENCE_KINDS.items())
        raise InvalidValue(f"通知类型「{kind}」无效，可选：{allowed}", field="kind", value=kind, label="通知类型")
    chosen = frozenset(w.strip() for w in ways if w.strip())
    bad = sorted(chosen - WAYS.keys())
    if bad:
        allowed = "、".join(f"{k}（{v}）" for k, v in WAYS.items())
        raise InvalidValue(
            f"接收方式「{bad[0]}」无效，可选：{allowed}", field="channels", value=bad[0], label="接收方式"
        )
    return chosen
