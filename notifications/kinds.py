"""Notice kinds and outbox statuses: ids in English, labels in Chinese (as in ``workflow.states``)."""

from __future__ import annotations

KIND_LABELS: dict[str, str] = {
    "assignment": "交办通知",
    "warning": "临期提醒",
    "reminder": "催办",
    "overdue": "超期",
    "escalation": "升级督办",
    "review": "申请销号待审核",
    "sent_back": "退回",
    "closed": "销号",
    "suspended": "挂起",
    "resumed": "恢复",
    "unassigned": "逾期未交办",
    "review_overdue": "审核逾期",
    "recalculated": "时限重新核定",
    "reclassified": "重新定性",
    "digest": "每日汇总",
    "dispatch": "重大问题半月调度",
    "letter": "督办函",
    "letter_overdue": "督办函逾期未回复",
    "decision": "会议决定",
    "assessment": "月度考核通报",
    "campaign": "专项行动总结",
}

# Kinds that are about the whole ledger, not one problem (``Notice.problem_id`` is NULL).
LEDGER_KINDS = frozenset({"digest", "dispatch", "assessment", "campaign"})

STATUS_LABELS: dict[str, str] = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "undeliverable": "无法投递",
}

# What the user-typed ``payload.comment`` means in each kind (shown above it in the mail).
COMMENT_LABELS: dict[str, str] = {
    "assignment": "交办意见",
    "review": "办结情况",
    "sent_back": "退回理由",
    "closed": "审核意见",
    "suspended": "挂起原因",
    "resumed": "恢复说明",
    "escalation": "升级说明",
    "decision": "会议决定",
    "reclassified": "定性理由",
}

# Header band colour of the HTML layout.
ACCENTS: dict[str, str] = {
    "warning": "#d48806",
    "reminder": "#d46b08",
    "overdue": "#cf1322",
    "escalation": "#cf1322",
    "unassigned": "#d46b08",
    "closed": "#389e0d",
    "sent_back": "#d46b08",
    "letter": "#cf1322",
    "letter_overdue": "#cf1322",
    "review_overdue": "#d46b08",
    "recalculated": "#d48806",
    "reclassified": "#cf1322",
}
DEFAULT_ACCENT = "#1d4ed8"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)
