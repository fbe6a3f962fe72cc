"""Schema migrations with Alembic (``migrations/``): upgrade to head, report the current revision, and
compare the migrated schema with the models (the drift check)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from models.db import reader

    with reader(engine).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "migrations/versions holds at least one revision"
    return head


def drift(engine: Engine) -> list:
    """Differences between the database schema and the models (empty when they match)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import models  # noqa: F401

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        return compare_metadata(ctx, SQLModel.metadata)


def include_name(name: str | None, type_: str, parent_names) -> bool:
    """Schema objects the models do not describe, left out of the comparison: the text-search index
    (an FTS5 virtual table and its shadow tables on SQLite, a table with a GIN index on PostgreSQL), which
    ``models.search_index`` creates with SQL of its own."""
    from models.search_index import OBJECT_PREFIXES

    if type_ == "table" and name and name.startswith(OBJECT_PREFIXES):
        return False
    return True
