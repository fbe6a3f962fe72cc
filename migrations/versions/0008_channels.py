"""channels: work-group robots and SMS numbers, people's delivery choices, shared robot rate windows;
notice.channel / channel_id / read_at (one outbox row per notice × recipient × channel, the in-app inbox)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel types)
from alembic import op

import models.types
from models.triggers import create_delivery_triggers, drop_delivery_triggers

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("keyword", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("notice_channel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_channel_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_channel_user_id"), ["user_id"], unique=False)

    op.create_table(
        "notice_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ways", sa.JSON(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("user_id", "kind"),
    )
    op.create_table(
        "channel_rate",
        sa.Column("rate_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sent", sa.JSON(), nullable=False),
        sa.Column("held_until", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("rate_key"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), server_default="email", nullable=False))
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("read_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("fk_notice_channel_id", "notice_channel", ["channel_id"], ["id"])
        batch_op.create_index("ix_notice_inbox", ["recipient_login", "channel", "read_at"], unique=False)
    create_delivery_triggers(op)


def downgrade() -> None:
    drop_delivery_triggers(op)
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_inbox")
        batch_op.drop_constraint("fk_notice_channel_id", type_="foreignkey")
        batch_op.drop_column("read_at")
        batch_op.drop_column("channel_id")
        batch_op.drop_column("channel")
    op.drop_table("channel_rate")
    op.drop_table("notice_preference")
    with op.batch_alter_table("notice_channel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_channel_user_id"))
        batch_op.drop_index(batch_op.f("ix_notice_channel_unit_id"))
    op.drop_table("notice_channel")
