"""SQLModel tables. Timestamps are timezone-aware UTC; dates (deadlines) are local Asia/Shanghai dates.

``table=True`` models do not validate input (GUIDE §5): the service layer validates before it builds
rows. A problem's ``state`` may only be written while the workflow applies a transition (see
``models.guard``); ``version`` is SQLAlchemy's optimistic-locking counter.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: default.copy(), sa_column=sa.Column(sa.JSON, nullable=False))


class Unit(SQLModel, table=True):
    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=128, unique=True)
    kind: str = Field(max_length=32)
    aliases: list = _json([])


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=64)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(max_length=32, index=True)
    email: str | None = Field(default=None, max_length=254)
    active: bool = Field(default=True)
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime | None = _ts(nullable=False)


class Project(SQLModel, table=True):
    __tablename__ = "project"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    leader_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime | None = _ts(nullable=False)


_problem_version = sa.Column("version", sa.Integer, nullable=False)


class Problem(SQLModel, table=True):
    __tablename__ = "problem"
    __mapper_args__ = {"version_id_col": _problem_version}
    # The ledger lists newest code first: an index per common filter that ends in ``code`` hands the rows
    # over already in that order, so a page (and a keyset page) is a seek, not a sort of every match.
    __table_args__ = (
        sa.Index("ix_problem_state_level", "state", "level"),
        sa.Index("ix_problem_state_code", "state", "code"),
        sa.Index("ix_problem_unit_code", "responsible_unit_id", "code"),
        sa.Index("ix_problem_unit_state_code", "responsible_unit_id", "state", "code"),
        sa.Index("ix_problem_project_code", "project_id", "code"),
        sa.Index("ix_problem_light_code", "light", "code"),
        # Overdue by unit (the dashboard): only the open problems past their deadline are read.
        sa.Index("ix_problem_state_deadline_unit", "state", "deadline", "responsible_unit_id"),
        # A person's own problems (the dashboard's "mine").
        sa.Index("ix_problem_responsible_person_id", "responsible_person_id"),
        sa.Index("ix_problem_leader_id", "leader_id"),
        sa.Index("ix_problem_reporter_id", "reporter_id"),
        # A campaign's members by the day they were logged, with what its progress counts (service.campaigns).
        sa.Index("ix_problem_created_state", "created_at", "state", "deadline", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    project_id: int = Field(foreign_key="project.id")
    # Text, not VARCHAR: the service caps titles at 200 characters, but imported or older rows may be longer.
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    category: str = Field(max_length=32, index=True)
    severity: str = Field(max_length=16)
    county_level: bool = Field(default=False)
    state: str = Field(max_length=32)
    level: str = Field(max_length=32)
    light: str = Field(default="green", max_length=16)

    reporter_id: int | None = Field(default=None, foreign_key="user_account.id")
    reporting_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    responsible_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    responsible_person_id: int | None = Field(default=None, foreign_key="user_account.id")
    leader_id: int | None = Field(default=None, foreign_key="user_account.id")
    responsible_section: str = Field(default="", max_length=128)
    # Who applied to close it (the latest 申请销号): they may never close or send back their own application.
    resolver_id: int | None = Field(default=None, foreign_key="user_account.id")

    deadline: date | None = Field(default=None, index=True)
    deadline_provisional: bool = Field(default=False)
    level_started_at: datetime | None = _ts()
    deploy_due: date | None = None
    feedback_due: date | None = None
    acked_at: datetime | None = _ts()
    feedback_at: datetime | None = _ts()
    # What the sweep has already done for the current deadline; reset whenever the deadline changes.
    warned_at: datetime | None = _ts()
    overdue_reminded_at: datetime | None = _ts()
    deploy_reminded_at: datetime | None = _ts()
    feedback_reminded_at: datetime | None = _ts()
    stalled_at: datetime | None = _ts()
    overdue_escalations: int = Field(default=0)
    # The earliest moment the sweep must look at this problem again; NULL when no clock runs.
    next_check_at: datetime | None = _ts(index=True)

    suspended_at: datetime | None = _ts()
    suspended_from: str | None = Field(default=None, max_length=32)
    # The closing review's reminder to the inspection office (``[review] time_limit``) has been sent.
    review_reminded_at: datetime | None = _ts()
    # The deadline basis (workflow.deadlines.DeadlineBasis): the local day the level was entered, its time
    # limit then ("10 workdays"), a typed deadline, and the pauses given back in working and calendar days.
    # ``calendar_fp`` names the calendar the deadline was computed with: the sweep finds deadlines to compute
    # again after the calendar changed by an index range on it (NULL: nothing to compute, e.g. closed).
    basis_start: date | None = None
    basis_period: str | None = Field(default=None, max_length=32)
    basis_typed: date | None = None
    given_back_workdays: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    given_back_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    calendar_fp: str | None = Field(default=None, max_length=32, index=True)
    progress: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    resolution: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    rating: str | None = Field(default=None, max_length=16)

    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)
    assigned_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    version: int = Field(default=1, sa_column=_problem_version)


class Event(SQLModel, table=True):
    """Append-only audit log: one row per action on a problem (who, when, from, to, why)."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    at: datetime | None = _ts(nullable=False, index=True)  # business time: what the workflow counted with
    # Wall-clock time of the write, never the simulated "now" (--at): a backdated entry shows as such.
    # NULL for events written before duban recorded it.
    recorded_at: datetime | None = _ts()
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32, index=True)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str | None = Field(default=None, max_length=32)
    from_level: str | None = Field(default=None, max_length=32)
    to_level: str | None = Field(default=None, max_length=32)
    comment: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    data: dict = _json({})


class Notice(SQLModel, table=True):
    """Outbox: one row per notice per recipient, written in the transaction that caused it.

    ``dedup_key`` is unique, so a replayed sweep or a second scheduler adds nothing twice.
    Status: pending → sending → sent | failed; ``undeliverable`` when no person or address exists.
    """

    __tablename__ = "notice"
    __table_args__ = (
        sa.Index("ix_notice_status_next", "status", "next_attempt_at"),
        sa.Index("ix_notice_inbox", "recipient_login", "channel", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=32, index=True)
    problem_id: int | None = Field(default=None, foreign_key="problem.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    level: str | None = Field(default=None, max_length=32)
    deadline: date | None = None
    recipient_role: str = Field(max_length=32)
    recipient_login: str | None = Field(default=None, max_length=64)
    recipient_email: str | None = Field(default=None, max_length=254)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    created_at: datetime | None = _ts(nullable=False)
    next_attempt_at: datetime | None = _ts()
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_until: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    last_error: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    payload: dict = _json({})
    # How it travels: email | inbox | wecom | dingtalk | sms (models.delivery.NoticeChannel for the last three).
    channel: str = Field(
        default="email", sa_column=sa.Column(sa.String(16), nullable=False, default="email", server_default="email")
    )
    channel_id: int | None = Field(default=None, foreign_key="notice_channel.id")
    read_at: datetime | None = _ts()  # inbox only: when the recipient marked it read


class CodeCounter(SQLModel, table=True):
    """Per-year sequence for problem codes (WT-2024-0001)."""

    __tablename__ = "code_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = Field(default=0)


class DirectoryStamp(SQLModel, table=True):
    """One row whose ``version`` database triggers raise on every change to users, units or projects, so a
    process may keep the directory in memory and know, from one integer read with the problem, whether
    its copy is current (``service.directory.DirectoryCache``). Never restored from a backup: it only
    moves forward."""

    __tablename__ = "directory_stamp"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = Field(default=1)


class Lease(SQLModel, table=True):
    """A named lease (e.g. the sweep) held by one process until ``expires_at``."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str | None = Field(default=None, max_length=128)
    expires_at: datetime | None = _ts()


class ApiToken(SQLModel, table=True):
    """A personal API token for scripts (``duban token create LOGIN``). Only a SHA-256 digest of the
    token is stored: the token itself is 32 random bytes, shown once, so a plain digest is enough (a slow
    password hash would only slow every API call). ``revoked_at`` set = no longer accepted."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_at: datetime | None = _ts(nullable=False)
    expires_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class Blob(SQLModel, table=True):
    """File content by SHA-256, in the database: the store a PostgreSQL deployment uses, so every instance
    serves every file (``service.blobstore.DbStore``). ``data`` is bytea, stored uncompressed out of line
    (photos and scans are compressed already). The SQLite deployment keeps files under ``var/files/``
    instead and leaves this table empty."""

    __tablename__ = "blob"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class Inspection(SQLModel, table=True):
    """An on-site inspection (督查记录): a visit to a project by the inspection office. Append-only."""

    __tablename__ = "inspection"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    visited_on: date = Field(index=True)
    place: str = Field(default="", max_length=200)
    inspectors: str = Field(max_length=200)
    seen: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    checked: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    finding: str = Field(max_length=16, index=True)
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime | None = _ts(nullable=False)


class InspectionProblem(SQLModel, table=True):
    """A problem an inspection concerns: one it looked at (``logged`` false), or one it logged as a follow-up."""

    __tablename__ = "inspection_problem"

    inspection_id: int = Field(foreign_key="inspection.id", primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", primary_key=True, index=True)
    logged: bool = Field(default=False)


class Attachment(SQLModel, table=True):
    """A file kept as evidence: on a problem (with the audit event of the action that carried it) or on an
    inspection. The content is stored once per SHA-256 (``service.blobstore``). Append-only."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int | None = Field(default=None, foreign_key="problem.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    inspection_id: int | None = Field(default=None, foreign_key="inspection.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    name: str = Field(max_length=255)
    kind: str = Field(max_length=16)
    media_type: str = Field(max_length=100)
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime | None = _ts(nullable=False)
    # Evidence metadata read from the file: image size, EXIF time and GPS, camera; flags such as a PDF's scripts.
    meta: dict = _json({})
    thumbnail: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))


class UploadStage(SQLModel, table=True):
    """A ledger workbook uploaded in the browser, kept between its check and the person's 确认导入 — in the
    database, so the confirmation may reach any instance. Removed on import; stale ones are swept."""

    __tablename__ = "upload_stage"

    token: str = Field(primary_key=True, max_length=64)
    login: str = Field(max_length=64)
    name: str = Field(max_length=255)
    created_at: datetime | None = _ts(nullable=False)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class LedgerTally(SQLModel, table=True):
    """The dashboard's counts, kept by database triggers (``models.tally``): signed rows per key, summed by
    ``service.tally`` and compacted now and then. Never dumped: a restore rebuilds it through the triggers."""

    __tablename__ = "ledger_tally"
    # Counts read by key range (the state keys; the logged/closed hours), from the index alone.
    __table_args__ = (sa.Index("ix_ledger_tally_key_n", "key", "n"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100)
    n: int


class SearchGram(SQLModel, table=True):
    """Three-character pieces held by a large share of the search documents, measured on a sample
    (``service.search_grams``): a PostgreSQL search asks its trigram index for a term's rarer pieces instead.
    Derived data, never dumped. The row with the empty gram records the last measurement (the ledger's size
    then) even when no piece was common."""

    __tablename__ = "search_gram"

    gram: str = Field(primary_key=True, max_length=3)
    share: float
    ledger_size: int


class UserSession(SQLModel, table=True):
    """A browser session. The signed cookie holds a random token (32 bytes); the table keeps its SHA-256
    digest as the id, so a copy of the database holds no usable session. The table is the truth for every
    process: ending a session (``revoked_at``) takes effect on the next request, whichever worker serves it."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime | None = _ts(nullable=False, index=True)
    last_seen_at: datetime | None = _ts(nullable=False)
    revoked_at: datetime | None = _ts()
    # logout | password | deactivated | signout | idle | expired
    end_reason: str | None = Field(default=None, max_length=16)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)


class LoginFailure(SQLModel, table=True):
    """A failed sign-in (``service.login_throttle``): shared by every web worker and kept across restarts."""

    __tablename__ = "login_failure"
    __table_args__ = (
        sa.Index("ix_login_failure_key", "login", "ip", "at"),
        sa.Index("ix_login_failure_ip_at", "ip", "at"),  # the per-address limit
    )

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64)
    ip: str = Field(max_length=64)
    at: datetime | None = _ts(nullable=False, index=True)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a model, for prebuilt statements (SQLModel's stubs do not declare ``__table__``)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table
