"""directory_stamp: a version that triggers raise on every change to users, units and projects

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# user_account columns that matter to the directory (a password change does not).
USER_COLUMNS = "login, name, unit_id, role, email, active"
BUMP = "UPDATE directory_stamp SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "directory_stamp",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO directory_stamp (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION duban_bump_directory() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table, what in (
            ("user_account", f"INSERT OR DELETE OR UPDATE OF {USER_COLUMNS}"),
            ("unit", "INSERT OR DELETE OR UPDATE"),
            ("project", "INSERT OR DELETE OR UPDATE"),
        ):
            op.execute(
                f"CREATE TRIGGER directory_stamp_{table} AFTER {what} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION duban_bump_directory()"
            )
        return
    for table, events in (
        ("user_account", ("INSERT", "DELETE", f"UPDATE OF {USER_COLUMNS}")),
        ("unit", ("INSERT", "DELETE", "UPDATE")),
        ("project", ("INSERT", "DELETE", "UPDATE")),
    ):
        for event in events:
            name = f"directory_stamp_{table}_{event.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("user_account", "unit", "project"):
            op.execute(f"DROP TRIGGER IF EXISTS directory_stamp_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS duban_bump_directory()")
    else:
        for table in ("user_account", "unit", "project"):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS directory_stamp_{table}_{event}")
    op.drop_table("directory_stamp")
