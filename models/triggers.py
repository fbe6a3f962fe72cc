"""Database triggers that keep ``directory_stamp`` moving on every change to users, units and projects
(``service.directory``). Used by migration 0003 — and by any later migration that rebuilds one of those
tables on SQLite (``batch_alter_table`` copies a table into a new one and the old table's triggers are lost:
call ``create_directory_triggers`` again at the end of such a migration)."""

from __future__ import annotations

# user_account columns that matter to the directory (a password change does not).
USER_COLUMNS = "login, name, unit_id, role, email, active"
BUMP = "UPDATE directory_stamp SET version = version + 1 WHERE id = 1"
TABLES = ("user_account", "unit", "project")


def _sqlite_events(table: str) -> tuple[str, ...]:
    return ("INSERT", "DELETE", f"UPDATE OF {USER_COLUMNS}" if table == "user_account" else "UPDATE")


def create_directory_triggers(op) -> None:
    """(Re)create the triggers; ``op`` is Alembic's operations object."""
    drop_directory_triggers(op, function=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION duban_bump_directory() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            what = (
                f"INSERT OR DELETE OR UPDATE OF {USER_COLUMNS}"
                if table == "user_account"
                else "INSERT OR DELETE OR UPDATE"
            )
            op.execute(
                f"CREATE TRIGGER directory_stamp_{table} AFTER {what} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION duban_bump_directory()"
            )
        return
    for table in TABLES:
        for event in _sqlite_events(table):
            name = f"directory_stamp_{table}_{event.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def drop_directory_triggers(op, function: bool = True) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS directory_stamp_{table} ON {table}")
        if function:
            op.execute("DROP FUNCTION IF EXISTS duban_bump_directory()")
        return
    for table in TABLES:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS directory_stamp_{table}_{event}")


# Delivery settings kept in memory with the directory (service.routing): channels and people's choices.
DELIVERY_TABLES = ("notice_channel", "notice_preference")


def create_delivery_triggers(op) -> None:
    """Triggers that raise ``directory_stamp`` on every change to channels and preferences (migration 0008)."""
    drop_delivery_triggers(op)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION duban_bump_directory() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in DELIVERY_TABLES:
            op.execute(
                f"CREATE TRIGGER directory_stamp_{table} AFTER INSERT OR DELETE OR UPDATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION duban_bump_directory()"
            )
        return
    for table in DELIVERY_TABLES:
        for event in ("INSERT", "DELETE", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER directory_stamp_{table}_{event.lower()} AFTER {event} ON {table} BEGIN {BUMP}; END"
            )


def drop_delivery_triggers(op) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in DELIVERY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS directory_stamp_{table} ON {table}")
        return
    for table in DELIVERY_TABLES:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS directory_stamp_{table}_{event}")
