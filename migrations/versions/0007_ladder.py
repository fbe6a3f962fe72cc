"""problem: deadline basis and calendar fingerprint (recomputation), closing-review reminder

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10

Deadlines computed before this revision have no basis (NULL) and are not computed again when the calendar
changes; the next level change, pause or typed deadline gives them one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel types)
from alembic import op

import models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_reminded_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("basis_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("basis_period", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column("basis_typed", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("given_back_workdays", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("given_back_days", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("calendar_fp", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_problem_calendar_fp"), ["calendar_fp"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problem_calendar_fp"))
        batch_op.drop_column("calendar_fp")
        batch_op.drop_column("given_back_days")
        batch_op.drop_column("given_back_workdays")
        batch_op.drop_column("basis_typed")
        batch_op.drop_column("basis_period")
        batch_op.drop_column("basis_start")
        batch_op.drop_column("review_reminded_at")
