"""Database housekeeping: rebuild the text-search index and the dashboard's tally from the tables
(``duban db reindex``, which also measures the search's common pieces: ``service.search_grams``), and
compact the tally (the sweep does this on every round).

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
from service import search_grams

log = logging.getLogger(__name__)


def reindex(engine: Engine) -> dict:
    """Rebuild the search index and the tally, and measure the search's common pieces (PostgreSQL); returns
    the documents indexed, the tally's keys, the common pieces (None on SQLite) and seconds."""
    dialect = engine.dialect.name
    started = time.perf_counter()
    with engine.begin() as conn:
        for sql in search_index.rebuild(dialect) + tally.drop_triggers(dialect) + tally.rebuild(dialect):
            conn.exec_driver_sql(sql)
        for sql in tally.create_triggers(dialect):
            conn.exec_driver_sql(sql)
        documents = conn.execute(sa.text(f"SELECT count(*) FROM {search_index.TABLE}")).scalar_one()
        keys = conn.execute(sa.text(f"SELECT count(*) FROM {tally.TABLE}")).scalar_one()
    with engine.begin() as conn:  # the planner's statistics, for the rebuilt index too
        conn.exec_driver_sql("ANALYZE" if dialect == "sqlite" else f"ANALYZE problem, {search_index.TABLE}")
    pieces = search_grams.refresh(engine, force=True)  # None on SQLite
    seconds = time.perf_counter() - started
    log.info("reindexed %d documents, %d tally keys in %.1f s", documents, keys, seconds)
    return {"documents": documents, "tally_keys": keys, "common_pieces": pieces, "seconds": round(seconds, 1)}


def refresh_statistics(engine: Engine, drift: float = 0.25, minimum: int = 1000) -> bool:
    """SQLite only: run ANALYZE when the planner's statistics are missing or the ledger has grown or shrunk by
    more than ``drift`` since they were taken (PostgreSQL's autovacuum does this by itself). Without them
    SQLite may sort every match of a filter instead of walking an index already in the ledger's order.
    Returns whether it ran. The sweep calls it; ``reindex`` always analyzes."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM problem")).scalar_one()
        try:
            stat = conn.execute(sa.text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'problem' LIMIT 1")).scalar()
        except sa.exc.OperationalError:  # no sqlite_stat1 table: never analyzed
            stat = None
        conn.rollback()
    if rows < minimum:
        return False
    seen = int(stat.split()[0]) if stat else 0
    if seen and abs(rows - seen) <= drift * seen:
        return False
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    log.info("planner statistics refreshed (%d problems, %d at the last ANALYZE)", rows, seen)
    return True
