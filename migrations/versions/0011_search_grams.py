"""search grams: the pieces most search documents hold, so PostgreSQL asks its index for rarer ones

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Filled by the scheduler's housekeeping once the ledger is large enough to need it, and by
    # "duban db reindex"; an empty table only means every search term is asked of the index whole.
    op.create_table(
        "search_gram",
        sa.Column("gram", sa.String(length=3), primary_key=True),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("ledger_size", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("search_gram")
