"""sessions and hardening: server-side browser sessions, the shared login throttle, who applied to close a
problem (resolver_id), and the wall-clock time of every audit event (recorded_at)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import models.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"], unique=False)
    op.create_index("ix_user_session_created_at", "user_session", ["created_at"], unique=False)

    # login_failure came with 0004 (search); the per-address limit reads it by address and time.
    op.create_index("ix_login_failure_ip_at", "login_failure", ["ip", "at"], unique=False)

    op.add_column("event", sa.Column("recorded_at", models.types.UTCDateTime(timezone=True), nullable=True))

    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its REFERENCES clause in place; a batch rebuild of the problem table would
        # have to drop it while events and notices point at it.
        op.execute("ALTER TABLE problem ADD COLUMN resolver_id INTEGER REFERENCES user_account (id)")
    else:
        op.add_column("problem", sa.Column("resolver_id", sa.Integer(), nullable=True))
        op.create_foreign_key(None, "problem", "user_account", ["resolver_id"], ["id"])
    # A problem waiting for review today was resolved by the actor of its latest 申请销号 event.
    op.execute(
        "UPDATE problem SET resolver_id = (SELECT u.id FROM event e JOIN user_account u ON u.login = e.actor"
        " WHERE e.problem_id = problem.id AND e.action = 'resolve' ORDER BY e.at DESC, e.id DESC LIMIT 1)"
        " WHERE state = 'review'"
    )


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place; the REFERENCES clause goes with it.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("problem_resolver_id_fkey", "problem", type_="foreignkey")
    op.drop_column("problem", "resolver_id")
    op.drop_column("event", "recorded_at")
    op.drop_index("ix_login_failure_ip_at", table_name="login_failure")
    op.drop_index("ix_user_session_created_at", table_name="user_session")
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
