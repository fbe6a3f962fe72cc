"""dashboard indexes: the tally read by key range, campaign members by the day they were logged

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op


revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # The ledger's count reads only the state keys and the chart only the logged/closed hours: a range of
    # this index each, the counts read from the index itself.
    op.create_index("ix_ledger_tally_key_n", "ledger_tally", ["key", "n"])
    # A campaign's progress reads the problems logged within its dates, and only the columns it counts.
    op.create_index("ix_problem_created_state", "problem", ["created_at", "state", "deadline", "closed_at"])


def downgrade() -> None:
    op.drop_index("ix_problem_created_state", table_name="problem")
    op.drop_index("ix_ledger_tally_key_n", table_name="ledger_tally")
