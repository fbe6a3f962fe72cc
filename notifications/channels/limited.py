"""A channel behind a rate limiter: wait locally instead of being refused by the service.

``RateLimited(channel, limiter, clock)`` asks ``limiter.allow(channel.rate_key, clock())`` before each send;
when the window is full it answers ``retry_later`` at once, without a request. When the service itself
reports a rate limit (the window was filled by another process, or the service counts differently), the
key is held for the delay the channel reported, so the next messages for that robot wait too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import httpx

from notifications.channels.base import Channel, ChannelMessage, Clock, DeliveryResult, system_clock

RATE_ERRCODES = frozenset({45009, 130101})  # WeCom, DingTalk: too many messages per minute


class Limiter(Protocol):
    def allow(self, key: str, now: datetime) -> timedelta | None: ...

    def hold(self, key: str, until: datetime) -> None: ...


class RateLimited:
    """A ``Channel`` that respects ``limiter`` for ``channel.rate_key``."""

    def __init__(self, channel: Channel, limiter: Limiter, clock: Clock = system_clock):
        self.channel = channel
        self.limiter = limiter
        self.clock = clock
        self.kind = channel.kind
        self.rate_key = channel.rate_key

    async def send(self, client: httpx.AsyncClient, message: ChannelMessage) -> DeliveryResult:
        wait = self.limiter.allow(self.rate_key, self.clock())
        if wait is not None:
            seconds = max(1, round(wait.total_seconds()))
            return DeliveryResult.retry_later(wait, f"已达到每分钟发送上限，{seconds} 秒后再发")
        result = await self.channel.send(client, message)
        if result.outcome == "retry" and result.errcode in RATE_ERRCODES and result.after:
            self.limiter.hold(self.rate_key, self.clock() + result.after)
        return result
