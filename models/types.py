"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware timestamps stored as UTC.

    SQLite has no time zone type, so values come back naive: we re-attach UTC. A naive value on the way
    in is a programming error (it would be silently misread), so it is refused.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # SQLite fast path: the same stored text SQLAlchemy's DATETIME writes ("YYYY-MM-DD HH:MM:SS.ffffff"),
    # converted in one step instead of two. The sweep reads and writes ~20 timestamps per problem.
    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        utc = UTC

        def process(value):
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
            return value.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        utc, parse = UTC, datetime.fromisoformat

        def process(value):
            return None if value is None else parse(value).replace(tzinfo=utc)

        return process
