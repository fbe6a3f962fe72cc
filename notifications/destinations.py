"""A stored channel (``models.delivery.NoticeChannel``) as a ``Channel`` object that can send.

The address and secret are read here and handed to the protocol clients, which keep them out of every
reason and answer (``channels.base.Scrubber``). An SMS channel needs the gateway of the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifications.channel_config import ChannelSettings
from notifications.channels.base import Channel, Clock, system_clock
from notifications.channels.dingtalk import DingTalkChannel, DingTalkConfig
from notifications.channels.sms import SmsGateway
from notifications.channels.wecom import WeComChannel, WeComConfig
from workflow.errors import InvalidValue

NO_GATEWAY = "未配置短信网关：请在服务器设置中指定短信网关配置文件后重发"


@dataclass(frozen=True)
class Stored:
    """What a destination needs of a stored channel."""

    id: int
    name: str
    kind: str
    address: str
    secret: str | None
    keyword: str | None
    active: bool = True


class Destinations:
    """Builds channels for one delivery run (one SMS gateway compiled once, channels reused by id)."""

    def __init__(self, settings: ChannelSettings, clock: Clock = system_clock):
        self.settings, self.clock = settings, clock
        self._gateway: SmsGateway | None = None
        self._built: dict[int, Channel | str] = {}

    def get(self, stored: Stored) -> Channel | str:
        """The channel, or why it cannot send (a reason for ``last_error``)."""
        if stored.id not in self._built:
            self._built[stored.id] = self._build(stored)
        return self._built[stored.id]

    def _build(self, s: Stored) -> Channel | str:
        if not s.active:
            return f"渠道「{s.name}」已停用"
        try:
            return build(s, self.settings, self.clock, self.gateway)
        except InvalidValue as exc:
            return f"渠道「{s.name}」的设置无效：{exc.message}"

    def gateway(self) -> SmsGateway | None:
        if self._gateway is None and self.settings.sms is not None:
            self._gateway = SmsGateway(self.settings.sms)
        return self._gateway


def build(s: Stored, settings: ChannelSettings, clock: Clock = system_clock, gateway=None) -> Channel | str:
    """The channel for ``s``; raises ``InvalidValue`` for settings that do not validate."""
    allow, timeout = settings.allow_http, settings.timeout
    if s.kind == "wecom":
        return WeComChannel(WeComConfig(s.address, allow_http=allow, timeout=timeout))
    if s.kind == "dingtalk":
        config = DingTalkConfig(s.address, s.secret, s.keyword, allow_http=allow, timeout=timeout)
        return DingTalkChannel(config, clock)
    if s.kind == "sms":
        sms = gateway() if gateway else (SmsGateway(settings.sms) if settings.sms else None)
        return NO_GATEWAY if sms is None else sms.channel(s.address)
    raise InvalidValue(f"渠道类型「{s.kind}」无效，可选：wecom、dingtalk、sms", field="kind", value=s.kind)
