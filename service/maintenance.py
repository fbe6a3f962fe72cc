"""Database housekeeping: rebuild the text-search index and the dashboard's tally from the tables
(``duban db reindex``), and compact the tally (the sweep does this on every round).

The triggers keep both current on every write, so a rebuild is needed only after something bypassed them:
rows written with the triggers disabled (a bulk load), a restore from a file copy of another version, or
suspected corruption. It runs in one transaction: readers see the old index until it commits.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import search_index, tally

log = logging.getLogger(__name__)


def reindex(engine: Engine) -> dict:
    """Rebuild the search index and the tally; returns the documents indexed, the tally's keys and seconds."""
    dialect = engine.dialect.name
    started = time.perf_counter()
    with engine.begin() as conn:
        for sql in search_index.rebuild(dialect) + tally.drop_triggers(dialect) + tally.rebuild(dialect):
            conn.exec_driver_sql(sql)
        for sql in tally.create_triggers(dialect):
            conn.exec_driver_sql(sql)
        documents = conn.execute(sa.text(f"SELECT count(*) FROM {search_index.TABLE}")).scalar_one()
        keys = conn.execute(sa.text(f"SELECT count(*) FROM {tally.TABLE}")).scalar_one()
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"ANALYZE {search_index.TABLE}")
    seconds = time.perf_counter() - started
    log.info("reindexed %d documents, %d tally keys in %.1f s", documents, keys, seconds)
    return {"documents": documents, "tally_keys": keys, "seconds": round(seconds, 1)}
