"""The outbox as people look after it: list notices and their delivery, re-queue failed ones (administrators)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from models.db import reader
from models.db import session as open_session
from notifications import outbox
from service import directory
from workflow.errors import InvalidValue, NotFound
from workflow.permissions import Manage

STATUSES = ("pending", "sending", "sent", "failed", "undeliverable")
STATUS_HELP = "pending 待发送、sending 发送中、sent 已发送、failed 发送失败、undeliverable 无法投递"


CHANNELS = ("email", "wecom", "dingtalk", "sms", "inbox")
CHANNEL_HELP = "email 邮件、wecom 企业微信群、dingtalk 钉钉群、sms 短信、inbox 站内消息"


def listing(
    engine: Engine, status: str | None = None, problem_code: str | None = None, channel: str | None = None
) -> tuple[list[dict], dict]:
    """(notices oldest first, counts by status); the inbox's rows only when ``channel`` is ``inbox``."""
    if status and status not in STATUSES:
        raise InvalidValue(f"状态的值「{status}」无效，可选：{STATUS_HELP}", field="status", value=status, label="状态")
    if channel and channel not in CHANNELS:
        raise InvalidValue(
            f"渠道的值「{channel}」无效，可选：{CHANNEL_HELP}", field="channel", value=channel, label="渠道"
        )
    with open_session(reader(engine)) as session:
        rows = outbox.list_notices(session, status, problem_code=problem_code, channel=channel)
        return rows, outbox.status_counts(session)


def retry_failed(engine: Engine, actor_login: str, notice_id: int | None, now: datetime) -> int:
    """Put failed notices (one, or all) back in the queue; returns how many."""
    directory.authorize(engine, actor_login, Manage.OUTBOX)
    n = outbox.retry(engine, notice_id, now)
    if notice_id is not None and n == 0:
        raise NotFound(f"没有编号为 {notice_id} 的发送失败通知", field="notice", value=notice_id)
    return n
