"""The ledger's text-search index, kept by database triggers in the transaction of every write.

One search document per problem: ``doc`` (code, title, description, progress, resolution, project name,
responsible unit's name — rebuilt when any of them changes, including a project or unit rename) and
``notes`` (the comments people wrote in the audit log, appended as events arrive; events are append-only).

- SQLite: an FTS5 table ``problem_search(doc, notes)`` with the ``trigram`` tokenizer, rowid = problem id.
  Any substring of three characters or more is found through the index (Chinese needs no word segmenter).
- PostgreSQL: a table ``problem_search(problem_id, doc, notes)`` with a ``pg_trgm`` GIN index on
  ``doc || E'\\n' || notes`` (``ILIKE '%…%'`` uses it; ``pg_trgm`` ships with postgresql-contrib).

Used by migration 0009 and by ``duban db reindex`` (``service.maintenance``). Each function returns SQL
statements for a dialect ("sqlite" or "postgresql"); the caller runs them (Alembic ``op.execute``, a
connection, or a raw sqlite3 cursor in the benchmarks).
"""

from __future__ import annotations

TABLE = "problem_search"
PG_INDEX = "ix_problem_search_trgm"
# The expression the PostgreSQL index is built on; queries must use exactly this expression.
PG_DOCUMENT = "(doc || E'\\n' || notes)"
# Events whose comment is not indexed: the sweep's own wording, and the 登记 event (its comment is the title).
SYSTEM_ACTOR = "system"
SKIPPED_ACTION = "log"
# Problem columns whose change rebuilds the document.
DOC_COLUMNS = ("code", "title", "description", "progress", "resolution", "project_id", "responsible_unit_id")
# Tables and other objects that are not SQLModel tables (the drift check ignores them).
OBJECT_PREFIXES = (TABLE,)


def _doc_expr(p: str, dialect: str) -> str:
    """SQL for the document of problem row alias ``p`` (NEW in a trigger)."""
    nl = "char(10)" if dialect == "sqlite" else "E'\\n'"
    parts = [
        f"{p}.code",
        f"{p}.title",
        f"{p}.description",
        f"{p}.progress",
        f"{p}.resolution",
        f"coalesce((SELECT name FROM project WHERE id = {p}.project_id), '')",
        f"coalesce((SELECT name FROM unit WHERE id = {p}.responsible_unit_id), '')",
    ]
    return f" || {nl} || ".join(parts)


def _notes_expr(p: str, dialect: str) -> str:
    """SQL for every indexed comment of problem ``p``, oldest first (a rebuild)."""
    where = (
        f"e.problem_id = {p}.id AND e.comment <> '' AND e.actor <> '{SYSTEM_ACTOR}' AND e.action <> '{SKIPPED_ACTION}'"
    )
    if dialect == "sqlite":
        return (
            f"coalesce((SELECT group_concat(comment, char(10)) FROM "
            f"(SELECT e.comment FROM event e WHERE {where} ORDER BY e.id)), '')"
        )
    return f"coalesce((SELECT string_agg(e.comment, E'\\n' ORDER BY e.id) FROM event e WHERE {where}), '')"


def _changed(columns: tuple[str, ...], dialect: str) -> str:
    op = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in columns)


_EVENT_WHEN = f"NEW.comment <> '' AND NEW.actor <> '{SYSTEM_ACTOR}' AND NEW.action <> '{SKIPPED_ACTION}'"


def create_table(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"CREATE VIRTUAL TABLE {TABLE} USING fts5(doc, notes, tokenize='trigram')"]
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"CREATE TABLE {TABLE} (problem_id integer PRIMARY KEY REFERENCES problem(id) ON DELETE CASCADE, "
        "doc text NOT NULL, notes text NOT NULL DEFAULT '')",
    ]


def create_index(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return []
    return [f"CREATE INDEX {PG_INDEX} ON {TABLE} USING gin ({PG_DOCUMENT} gin_trgm_ops)"]


def fill(dialect: str) -> list[str]:
    """Every problem's document from the tables (the table is empty)."""
    if dialect == "sqlite":
        return [
            f"INSERT INTO {TABLE} (rowid, doc, notes) "
            f"SELECT p.id, {_doc_expr('p', dialect)}, {_notes_expr('p', dialect)} FROM problem p"
        ]
    return [
        f"INSERT INTO {TABLE} (problem_id, doc, notes) "
        f"SELECT p.id, {_doc_expr('p', dialect)}, {_notes_expr('p', dialect)} FROM problem p"
    ]


def create_triggers(dialect: str) -> list[str]:
    doc = _doc_expr("NEW", dialect)
    rebuild_from = _doc_expr("p", dialect)
    append = "CASE WHEN notes = '' THEN NEW.comment ELSE notes || {nl} || NEW.comment END"
    if dialect == "sqlite":
        append = append.format(nl="char(10)")
        return [
            f"CREATE TRIGGER {TABLE}_problem_insert AFTER INSERT ON problem BEGIN "
            f"INSERT INTO {TABLE} (rowid, doc, notes) VALUES (NEW.id, {doc}, ''); END",
            f"CREATE TRIGGER {TABLE}_problem_update AFTER UPDATE OF {', '.join(DOC_COLUMNS)} ON problem "
            f"WHEN {_changed(DOC_COLUMNS, dialect)} BEGIN UPDATE {TABLE} SET doc = {doc} WHERE rowid = NEW.id; END",
            f"CREATE TRIGGER {TABLE}_problem_delete AFTER DELETE ON problem BEGIN "
            f"DELETE FROM {TABLE} WHERE rowid = OLD.id; END",
            f"CREATE TRIGGER {TABLE}_event_insert AFTER INSERT ON event WHEN {_EVENT_WHEN} BEGIN "
            f"UPDATE {TABLE} SET notes = {append} WHERE rowid = NEW.problem_id; END",
            f"CREATE TRIGGER {TABLE}_project_rename AFTER UPDATE OF name ON project WHEN OLD.name IS NOT NEW.name "
            f"BEGIN UPDATE {TABLE} SET doc = (SELECT {rebuild_from} FROM problem p WHERE p.id = {TABLE}.rowid) "
            f"WHERE rowid IN (SELECT id FROM problem WHERE project_id = NEW.id); END",
            f"CREATE TRIGGER {TABLE}_unit_rename AFTER UPDATE OF name ON unit WHEN OLD.name IS NOT NEW.name "
            f"BEGIN UPDATE {TABLE} SET doc = (SELECT {rebuild_from} FROM problem p WHERE p.id = {TABLE}.rowid) "
            f"WHERE rowid IN (SELECT id FROM problem WHERE responsible_unit_id = NEW.id); END",
        ]
    append = append.format(nl="E'\\n'")
    rebuild = f"UPDATE {TABLE} s SET doc = {rebuild_from} FROM problem p WHERE p.id = s.problem_id"
    return [
        "CREATE OR REPLACE FUNCTION duban_search_problem() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {TABLE} (problem_id, doc) VALUES (NEW.id, {doc}) "
        "ON CONFLICT (problem_id) DO UPDATE SET doc = EXCLUDED.doc; RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION duban_search_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE {TABLE} SET notes = {append} WHERE problem_id = NEW.problem_id; RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION duban_search_project() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{rebuild} AND p.project_id = NEW.id; RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION duban_search_unit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{rebuild} AND p.responsible_unit_id = NEW.id; RETURN NULL; END $$",
        f"CREATE TRIGGER {TABLE}_problem_insert AFTER INSERT ON problem "
        "FOR EACH ROW EXECUTE FUNCTION duban_search_problem()",
        f"CREATE TRIGGER {TABLE}_problem_update AFTER UPDATE OF {', '.join(DOC_COLUMNS)} ON problem "
        f"FOR EACH ROW WHEN ({_changed(DOC_COLUMNS, dialect)}) EXECUTE FUNCTION duban_search_problem()",
        f"CREATE TRIGGER {TABLE}_event_insert AFTER INSERT ON event "
        f"FOR EACH ROW WHEN ({_EVENT_WHEN}) EXECUTE FUNCTION duban_search_event()",
        f"CREATE TRIGGER {TABLE}_project_rename AFTER UPDATE OF name ON project "
        "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION duban_search_project()",
        f"CREATE TRIGGER {TABLE}_unit_rename AFTER UPDATE OF name ON unit "
        "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION duban_search_unit()",
    ]


_TRIGGERS = (
    ("problem_insert", "problem"),
    ("problem_update", "problem"),
    ("problem_delete", "problem"),
    ("event_insert", "event"),
    ("project_rename", "project"),
    ("unit_rename", "unit"),
)
_FUNCTIONS = ("duban_search_problem", "duban_search_event", "duban_search_project", "duban_search_unit")


def drop_triggers(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {TABLE}_{name}" for name, _ in _TRIGGERS]
    return [f"DROP TRIGGER IF EXISTS {TABLE}_{name} ON {table}" for name, table in _TRIGGERS] + [
        f"DROP FUNCTION IF EXISTS {f}()" for f in _FUNCTIONS
    ]


def create(dialect: str) -> list[str]:
    """The table, filled from the existing rows, its index and the triggers that keep it current."""
    return create_table(dialect) + fill(dialect) + create_index(dialect) + create_triggers(dialect)


def drop(dialect: str) -> list[str]:
    return drop_triggers(dialect) + [f"DROP TABLE IF EXISTS {TABLE}"]


def rebuild(dialect: str) -> list[str]:
    """Drop and recreate the index from the tables (``duban db reindex``); one transaction on both databases.
    Bulk-filling an empty table and then building the GIN index is much faster than updating it row by row."""
    statements = drop_triggers(dialect) + [f"DROP TABLE IF EXISTS {TABLE}"]
    if dialect == "sqlite":
        statements += create_table(dialect)
    else:
        statements += create_table(dialect)[1:]  # the extension stays
    statements += fill(dialect) + create_index(dialect) + create_triggers(dialect)
    if dialect == "sqlite":
        statements.append(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")
    return statements
