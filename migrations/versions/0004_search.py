"""search and scale: the text-search index (FTS5 trigram / pg_trgm), the dashboard's tally, shared login
throttle, and an index for overdue-by-unit

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import models.types
from models import search_index, tally

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Indexes that end in ``code`` replace single-column ones: each filter then hands rows over in the ledger's order.
OLD_INDEXES = {
    "ix_problem_unit_state": ["responsible_unit_id", "state"],
    "ix_problem_project_id": ["project_id"],
    "ix_problem_light": ["light"],
}
NEW_INDEXES = {
    "ix_problem_state_code": ["state", "code"],
    "ix_problem_unit_code": ["responsible_unit_id", "code"],
    "ix_problem_unit_state_code": ["responsible_unit_id", "state", "code"],
    "ix_problem_project_code": ["project_id", "code"],
    "ix_problem_light_code": ["light", "code"],
    "ix_problem_state_deadline_unit": ["state", "deadline", "responsible_unit_id"],
    "ix_problem_responsible_person_id": ["responsible_person_id"],
    "ix_problem_leader_id": ["leader_id"],
    "ix_problem_reporter_id": ["reporter_id"],
}


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
    # Plain CREATE/DROP INDEX (no batch rebuild of problem on SQLite, which would drop its triggers).
    for name in OLD_INDEXES:
        op.drop_index(name, table_name="problem")
    for name, columns in NEW_INDEXES.items():
        op.create_index(name, "problem", columns, unique=False)
    _run(tally.fill(dialect) + tally.create_triggers(dialect))
    _run(search_index.create(dialect))
    # Statistics for the query planner (SQLite has none until ANALYZE runs; they pick the indexes above).
    op.execute("ANALYZE" if dialect == "sqlite" else "ANALYZE problem")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _run(search_index.drop(dialect))
    _run(tally.drop_triggers(dialect))
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="problem")
    for name, columns in OLD_INDEXES.items():
        op.create_index(name, "problem", columns, unique=False)
    op.drop_index(op.f("ix_login_failure_at"), table_name="login_failure")
    op.drop_index("ix_login_failure_key", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_table("ledger_tally")
