"""Tables of delivery beyond e-mail: the channels (work-group robots, SMS numbers), each person's choice of
how to receive each kind of notice, and the robots' rate-limit state shared by every sender process.

``notice_channel.address`` (a robot's webhook URL with its key, or a phone number) and ``secret`` (a DingTalk
signing secret) are credentials: only ``service.channels`` reads them, and shows them redacted or masked.
Changes to channels and preferences raise ``directory_stamp`` (database triggers, like the directory's), so
a process may keep them in memory with the directory (``service.routing``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class NoticeChannel(SQLModel, table=True):
    """One destination: a unit's work group (robot or duty phone), or one person's robot or mobile phone."""

    __tablename__ = "notice_channel"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)  # wecom | dingtalk | sms
    address: str = Field(sa_column=sa.Column(sa.Text, nullable=False), repr=False)
    secret: str | None = Field(default=None, max_length=255, repr=False)
    keyword: str | None = Field(default=None, max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    active: bool = Field(default=True)
    created_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="", max_length=64)


class NoticePreference(SQLModel, table=True):
    """How one person receives one kind of notice (``notifications.choices``); no row = the default."""

    __tablename__ = "notice_preference"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    kind: str = Field(max_length=32, primary_key=True)
    ways: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))


class ChannelRate(SQLModel, table=True):
    """The sliding window of one robot (``notifications.channels.ratelimit``), shared by every process:
    ``sent`` holds the send moments (epoch seconds) inside the window, ``held_until`` a throttle the
    service announced."""

    __tablename__ = "channel_rate"

    rate_key: str = Field(max_length=64, primary_key=True)
    sent: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    held_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
