"""directory_stamp: a version that triggers raise on every change to users, units and projects

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.triggers import create_directory_triggers, drop_directory_triggers

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



def upgrade() -> None:
    op.create_table(
        "directory_stamp",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO directory_stamp (id, version) VALUES (1, 1)")
    create_directory_triggers(op)


def downgrade() -> None:
    drop_directory_triggers(op)
    op.drop_table("directory_stamp")
