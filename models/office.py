"""Tables of the inspection office's documents and records: the 督办函 register and its numbering, the
half-monthly dispatch record, the monthly assessment, the campaigns.

Timestamps are UTC (``UTCDateTime``); dates are local. Letter numbers are unique (a database constraint
backs the per-year counter); a problem is dispatched once per period (primary key).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _text() -> Any:
    return Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))


class Letter(SQLModel, table=True):
    """One 督办函 (the letter register, 督办函登记簿). Status: draft 待签发 → signed 已签发 → replied 已回复 →
    closed 已办结; a draft whose problem is closed before it was signed is void 已作废.

    ``content`` holds the facts the letter is composed from (frozen when it is signed); ``pdf`` is the issued
    PDF, rendered once after signing, so the document sent is the document kept."""

    __tablename__ = "letter"

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")  # the escalation that drafted it
    status: str = Field(max_length=16, index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")  # 主送机关
    issued: date  # 成文日期: the day the problem entered the 13710 level
    deploy_due: date | None = None
    feedback_due: date | None = Field(default=None, index=True)
    settle_due: date | None = None
    content: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    prefix: str | None = Field(default=None, max_length=32)
    year: int | None = None
    serial: int | None = None
    number: str | None = Field(default=None, max_length=64, unique=True)
    drafted_at: datetime | None = _ts(nullable=False)
    signed_at: datetime | None = _ts()
    signed_by: str | None = Field(default=None, max_length=64)
    pdf: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    sent_at: datetime | None = _ts()
    reply_text: str = _text()
    replied_at: datetime | None = _ts()
    replied_by: str | None = Field(default=None, max_length=64)
    reply_event_id: int | None = Field(default=None, foreign_key="event.id")
    reminded_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    updated_at: datetime | None = _ts(nullable=False)


class LetterCounter(SQLModel, table=True):
    """The last serial number issued per 机关代字 and year (阳督函〔2024〕N号)."""

    __tablename__ = "letter_counter"

    prefix: str = Field(primary_key=True, max_length=32)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = Field(default=0)


class DispatchRecord(SQLModel, table=True):
    """A major problem dispatched in a half-month period (``2024-01/01``): once per problem and period."""

    __tablename__ = "dispatch_record"

    period: str = Field(primary_key=True, max_length=16)
    problem_id: int = Field(primary_key=True, foreign_key="problem.id", sa_column_kwargs={"autoincrement": False})
    event_id: int | None = Field(default=None, foreign_key="event.id")
    at: datetime | None = _ts(nullable=False)


class AssessmentRun(SQLModel, table=True):
    """One month's assessment: when it was computed, the period it covers and the 通报 as issued (PDF)."""

    __tablename__ = "assessment_run"

    month: str = Field(primary_key=True, max_length=7)
    period_start: date
    period_end: date  # the first day after the period
    computed_at: datetime | None = _ts(nullable=False)
    computed_by: str = Field(max_length=64)
    units: int = Field(default=0)
    pdf: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    notified_at: datetime | None = _ts()


class AssessmentScore(SQLModel, table=True):
    """A unit's score, rank in its group and indicators for one month (the trend reads these rows)."""

    __tablename__ = "assessment_score"
    __table_args__ = (sa.UniqueConstraint("month", "unit_id", name="uq_assessment_score_month_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    group: str = Field(max_length=32)
    score: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    rank: int
    bottom: bool = Field(default=False)
    indicators: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))


class CampaignRecord(SQLModel, table=True):
    """A campaign added from the command line or the web (those in the rules file are not stored)."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    start: date
    end: date
    target: int = Field(default=100)
    created_at: datetime | None = _ts(nullable=False)
    created_by: str = Field(max_length=64)


class CampaignProblem(SQLModel, table=True):
    """A problem included in a campaign by hand (membership by date needs no row)."""

    __tablename__ = "campaign_problem"

    campaign: str = Field(primary_key=True, max_length=64)
    problem_id: int = Field(primary_key=True, foreign_key="problem.id", sa_column_kwargs={"autoincrement": False})
    added_at: datetime | None = _ts(nullable=False)
    added_by: str = Field(max_length=64)
