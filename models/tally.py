"""Triggers that keep ``ledger_tally`` — the dashboard's counts — current in the transaction of every write.

Each change to a problem appends signed rows (+1 for what it became, −1 for what it was) instead of updating
a shared counter row: concurrent writers on PostgreSQL never wait on, or deadlock over, one hot row.
``service.tally`` sums the rows (a few hundred after compaction) and compacts them now and then.

Keys:
- ``s|<state>|<level>|<light>`` — problems in that state, level and light;
- ``c|<YYYY-MM-DD HH>`` — problems logged in that UTC hour (``created_at``);
- ``x|<YYYY-MM-DD HH>`` — problems whose ``closed_at`` falls in that UTC hour.
UTC hours, so the reader can group them by local day in any time zone.
"""

from __future__ import annotations

TABLE = "ledger_tally"
WATCHED = ("state", "level", "light", "created_at", "closed_at")


def _hour(column: str, dialect: str) -> str:
    if dialect == "sqlite":  # stored as naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff"
        return f"substr({column}, 1, 13)"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


def _rows(row: str, sign: int, dialect: str) -> list[str]:
    """SELECTs of the (key, n) rows that ``row`` (NEW or OLD) contributes, with sign ``sign``."""
    return [
        f"SELECT 's|' || {row}.state || '|' || {row}.level || '|' || {row}.light, {sign}",
        f"SELECT 'c|' || {_hour(row + '.created_at', dialect)}, {sign}",
        f"SELECT 'x|' || {_hour(row + '.closed_at', dialect)}, {sign} WHERE {row}.closed_at IS NOT NULL",
    ]


def create_triggers(dialect: str) -> list[str]:
    insert = f"INSERT INTO {TABLE} (key, n) "
    add = insert + " UNION ALL ".join(_rows("NEW", 1, dialect))
    remove = insert + " UNION ALL ".join(_rows("OLD", -1, dialect))
    both = insert + " UNION ALL ".join(_rows("OLD", -1, dialect) + _rows("NEW", 1, dialect))
    if dialect == "sqlite":
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
        return [
            f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON problem BEGIN {add}; END",
            f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON problem BEGIN {remove}; END",
            f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF {', '.join(WATCHED)} ON problem WHEN {changed} "
            f"BEGIN {both}; END",
        ]
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    return [
        "CREATE OR REPLACE FUNCTION duban_tally() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'INSERT' THEN {add}; ELSIF TG_OP = 'DELETE' THEN {remove}; ELSE {both}; END IF; "
        "RETURN NULL; END $$",
        f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON problem FOR EACH ROW EXECUTE FUNCTION duban_tally()",
        f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON problem FOR EACH ROW EXECUTE FUNCTION duban_tally()",
        f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF {', '.join(WATCHED)} ON problem "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION duban_tally()",
    ]


def drop_triggers(dialect: str) -> list[str]:
    names = ("insert", "delete", "update")
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {TABLE}_{n}" for n in names]
    return [f"DROP TRIGGER IF EXISTS {TABLE}_{n} ON problem" for n in names] + ["DROP FUNCTION IF EXISTS duban_tally()"]


def fill(dialect: str) -> list[str]:
    """The tally of every existing problem, one row per key (the table is empty)."""
    keys = [
        "SELECT 's|' || state || '|' || level || '|' || light AS key FROM problem",
        f"SELECT 'c|' || {_hour('created_at', dialect)} AS key FROM problem",
        f"SELECT 'x|' || {_hour('closed_at', dialect)} AS key FROM problem WHERE closed_at IS NOT NULL",
    ]
    return [f"INSERT INTO {TABLE} (key, n) SELECT key, count(*) FROM ({' UNION ALL '.join(keys)}) t GROUP BY key"]


def rebuild(dialect: str) -> list[str]:
    return [f"DELETE FROM {TABLE}"] + fill(dialect)
