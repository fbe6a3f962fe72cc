"""Managing delivery channels: a unit's work-group robot (企业微信, 钉钉) or duty phone, a person's own robot or
mobile number. Administrators only (``Manage.CHANNELS``).

Addresses and secrets are credentials: they are validated when saved, stored as given, and only ever shown
back redacted (``…/send?key=***``), masked (``SEC***``, ``138****8000``). ``test`` sends one message and returns
the service's answer (scrubbed of every credential by the protocol clients).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from models.db import reader
from models.db import session as open_session
from models.delivery import NoticeChannel
from notifications.channel_config import ChannelSettings
from notifications.channels.base import ChannelMessage, DeliveryResult, mask, redact
from notifications.channels.dingtalk import DingTalkConfig
from notifications.channels.limited import RateLimited
from notifications.channels.validation import KIND_LABELS, validate_phone
from notifications.channels.wecom import WeComConfig
from notifications.destinations import Stored, build
from notifications.rate_store import DatabaseLimiter
from service import directory
from workflow.errors import Conflict, InvalidValue, MissingField, NotFound
from workflow.permissions import Manage

Clock = Callable[[], datetime]
KINDS = tuple(KIND_LABELS)
NAME_MAX = 64
TEST_MESSAGE = "这是一条测试消息：督办系统已接通本渠道。收到即表示设置正确，无需回复。"


def _wall() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChannelRow:
    """A channel as people may see it: the address redacted, the secret masked."""

    id: int
    name: str
    kind: str
    kind_label: str
    address: str
    secret: str | None
    keyword: str | None
    unit: str | None  # unit code
    unit_name: str | None
    user: str | None  # login
    user_name: str | None
    active: bool
    created_at: datetime

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def owner(self) -> str:
        return f"{self.unit_name}（单位工作群）" if self.unit else f"{self.user_name}（{self.user}）"


def shown_address(kind: str, address: str) -> str:
    if kind == "sms":
        digits = address.strip()
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) == 11 else "***"
    return redact(address)


def phone_of(url: str) -> str:
    """``tel:13800138000``, ``tel:+86-138-0013-8000`` or the bare number → 11 digits."""
    text = (url or "").strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    return validate_phone(text)


class ChannelAdmin:
    def __init__(self, engine: Engine, clock: Clock = _wall, settings: ChannelSettings | None = None):
        self.engine, self.clock = engine, clock
        self.settings = settings or ChannelSettings()

    # -- reading ------------------------------------------------------------------------------------
    def _row(self, view: directory.DirectoryView, c: NoticeChannel) -> ChannelRow:
        unit = view.unit_by_id(c.unit_id)
        user = view.user_by_id(c.user_id)
        assert c.created_at is not None  # a stored channel
        return ChannelRow(
            c.id or 0,
            c.name,
            c.kind,
            KIND_LABELS.get(c.kind, c.kind),
            shown_address(c.kind, c.address),
            mask(c.secret) if c.secret else None,
            c.keyword,
            unit.code if unit else None,
            unit.name if unit else None,
            user.login if user else None,
            user.name if user else None,
            c.active,
            c.created_at,
        )

    def list(self, actor: str) -> list[ChannelRow]:
        directory.authorize(self.engine, actor, Manage.CHANNELS)
        with open_session(reader(self.engine)) as session:
            view = directory.view(session)
            rows = session.execute(sa.select(NoticeChannel).order_by(col(NoticeChannel.id))).scalars().all()
            return [self._row(view, c) for c in rows]

    def _get(self, session: Session, name: str) -> NoticeChannel:
        key = (name or "").strip()
        if not key:
            raise MissingField("渠道名称不能为空", field="name", label="渠道名称")
        found = session.execute(sa.select(NoticeChannel).where(col(NoticeChannel.name) == key)).scalar_one_or_none()
        if found is None:
            raise NotFound(f"渠道「{key}」不存在", field="name", value=key, label="渠道名称")
        return found

    # -- writing ------------------------------------------------------------------------------------
    def add(
        self,
        actor: str,
        name: str,
        kind: str,
        url: str,
        *,
        secret: str | None = None,
        keyword: str | None = None,
        unit: str | None = None,
        user: str | None = None,
    ) -> ChannelRow:
        """Register a channel for a unit (its work group) or a user. Every input is checked before anything
        is written; the errors never show a credential."""
        who = directory.authorize(self.engine, actor, Manage.CHANNELS)
        name = _channel_name(name)
        kind = (kind or "").strip().lower()
        if kind not in KINDS:
            raise InvalidValue(
                f"渠道类型「{kind}」无效，可选：wecom（企业微信群机器人）、dingtalk（钉钉群机器人）、sms（短信）",
                field="kind",
                value=kind,
                label="渠道类型",
            )
        address, secret, keyword = self._check(kind, url, secret, keyword)
        if unit and user:
            raise InvalidValue("渠道只能属于一个单位或一个用户，不能同时指定", field="unit", label="所属单位")
        if not unit and not user:
            raise MissingField("请指定渠道所属的单位（工作群）或用户", field="unit", label="所属单位")
        with open_session(self.engine) as session, session.begin():
            view = directory.view(session)
            unit_info = view.unit(unit, "所属单位", "unit") if unit else None
            user_info = view.user(user, "所属用户", "user") if user else None
            if session.execute(sa.select(col(NoticeChannel.id)).where(col(NoticeChannel.name) == name)).first():
                raise Conflict(f"渠道名称「{name}」已存在", field="name", value=name, label="渠道名称")
            same = session.execute(
                sa.select(col(NoticeChannel.name)).where(
                    col(NoticeChannel.kind) == kind, col(NoticeChannel.address) == address
                )
            ).scalar()
            if same:
                raise Conflict(
                    f"该地址已登记为渠道「{same}」，同一群或号码只登记一次",
                    field="url",
                    value=shown_address(kind, address),
                )
            channel = NoticeChannel(
                name=name,
                kind=kind,
                address=address,
                secret=secret,
                keyword=keyword,
                unit_id=unit_info.id if unit_info else None,
                user_id=user_info.id if user_info else None,
                active=True,
                created_at=self.clock(),
                created_by=who.login,
            )
            session.add(channel)
            session.flush()
            return self._row(directory.view(session), channel)

    def _check(
        self, kind: str, url: str, secret: str | None, keyword: str | None
    ) -> tuple[str, str | None, str | None]:
        secret = (secret or "").strip() or None
        keyword = (keyword or "").strip() or None
        allow = self.settings.allow_http
        if kind == "dingtalk":
            config = DingTalkConfig(url, secret, keyword, allow_http=allow)
            return config.webhook_url, config.secret, config.keyword
        label = KIND_LABELS[kind]
        if secret:
            raise InvalidValue(
                f"{label}没有加签密钥（加签只用于钉钉群机器人）", field="secret", value=mask(secret), label="加签密钥"
            )
        if keyword:
            raise InvalidValue(
                f"{label}没有自定义关键词（关键词只用于钉钉群机器人）", field="keyword", value=keyword, label="关键词"
            )
        if kind == "wecom":
            return WeComConfig(url, allow_http=allow).webhook_url, None, None
        return phone_of(url), None, None

    def set_active(self, actor: str, name: str, active: bool) -> ChannelRow:
        """Disable a channel (its pending messages fail with that reason; history stays) or enable it again."""
        directory.authorize(self.engine, actor, Manage.CHANNELS)
        with open_session(self.engine) as session, session.begin():
            channel = self._get(session, name)
            channel.active = active
            session.add(channel)
            session.flush()
            return self._row(directory.view(session), channel)

    # -- trying -------------------------------------------------------------------------------------
    def test(self, actor: str, name: str) -> tuple[ChannelRow, DeliveryResult]:
        """Send one test message through the channel now (office hours do not apply) and return the answer."""
        directory.authorize(self.engine, actor, Manage.CHANNELS)
        with open_session(reader(self.engine)) as session:
            channel = self._get(session, name)
            row = self._row(directory.view(session), channel)
            stored = Stored(
                channel.id or 0, channel.name, channel.kind, channel.address, channel.secret, channel.keyword
            )
        target = build(stored, self.settings, self.clock)
        if isinstance(target, str):
            return row, DeliveryResult.failed(target)
        if self.settings.rate_limit and target.kind in ("wecom", "dingtalk"):
            target = RateLimited(target, DatabaseLimiter(self.engine, self.settings.rate_limit), self.clock)
        message = ChannelMessage(
            title=f"测试消息：{channel.name}", text=TEST_MESSAGE, url=self.settings.base_url, kind="test"
        )

        async def send() -> DeliveryResult:
            async with httpx.AsyncClient(timeout=self.settings.timeout) as client:
                return await target.send(client, message)

        return row, asyncio.run(send())


def _channel_name(value: str | None) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise MissingField("渠道名称不能为空", field="name", label="渠道名称")
    if len(text) > NAME_MAX:
        raise InvalidValue(
            f"渠道名称过长：{len(text)} 字，最多 {NAME_MAX} 字", field="name", value=text, label="渠道名称"
        )
    return text
