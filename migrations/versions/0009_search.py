"""search and scale: the text-search index (FTS5 trigram / pg_trgm), the dashboard's tally, shared login
throttle, and an index for overdue-by-unit

Revision ID: 0009
Revises: 0003
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import models.types
from models import search_index, tally

revision: str = "0009"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run(statements: list[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "ledger_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_key", "login_failure", ["login", "ip", "at"], unique=False)
    op.create_index(op.f("ix_login_failure_at"), "login_failure", ["at"], unique=False)
    # A plain CREATE INDEX (no batch rebuild of problem on SQLite, which would drop its triggers).
    op.create_index(
        "ix_problem_state_deadline_unit", "problem", ["state", "deadline", "responsible_unit_id"], unique=False
    )
    _run(tally.fill(dialect) + tally.create_triggers(dialect))
    _run(search_index.create(dialect))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _run(search_index.drop(dialect))
    _run(tally.drop_triggers(dialect))
    op.drop_index("ix_problem_state_deadline_unit", table_name="problem")
    op.drop_index(op.f("ix_login_failure_at"), table_name="login_failure")
    op.drop_index("ix_login_failure_key", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_table("ledger_tally")
