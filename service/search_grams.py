"""Which three-character pieces most search documents hold, measured on a sample, for PostgreSQL searches.

Why: ``pg_trgm``'s GIN index answers ``ILIKE '%基准问题4242%'`` by reading, for every candidate of the term's
rarest trigram, the posting lists of all its other trigrams. A trigram that most documents hold (a county's
name, "问题", a ledger's numbering) has a list as long as the ledger: at a million problems that search
cost 9 ms in the index, the same search by its rarer pieces 0.7 ms. ``service.search`` therefore asks the
index for a term's rarer pieces and checks the whole term on the rows found, given the shares kept here.

The shares are stale-tolerant: a piece that became common since the last measurement only costs time, and
one that stopped being common only narrows less; results never change. The scheduler's housekeeping measures
again when the ledger has grown or shrunk by a quarter (``refresh``); ``duban db reindex`` always does.
SQLite's FTS5 phrase query costs little at a million problems, so on SQLite nothing is measured or used.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.search_index import PG_DOCUMENT, TABLE
from models.tables import SearchGram, table_of
from service import write_stamp
from service.search import pieces

log = logging.getLogger(__name__)
T = table_of(SearchGram)
SAMPLE = 4000  # documents read to measure the shares (a random sample)
COMMON_SHARE = 0.02  # a piece held by this share of the documents or more is common
MINIMUM = 10_000  # problems below which every trigram's posting list is short: nothing measured
DRIFT = 0.25  # measure again when the ledger has grown or shrunk by this much
CACHE_SECONDS = 300.0  # how long a process keeps the shares it read
MARKER = ""  # the gram of the row that records the last measurement


def refresh(engine: Engine, force: bool = False, minimum: int = MINIMUM, drift: float = DRIFT) -> int | None:
    """Measure the common pieces again when due (``force``: whatever the ledger's size); returns how many
    pieces are common, or None when nothing was measured (SQLite, a small ledger, or not due)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        # The newest id as the ledger's size: one index probe on every sweep round, where a count would read
        # a million rows (ids are dense enough for a drift of a quarter and a sampling rate).
        size = conn.execute(sa.text(f"SELECT coalesce(max(problem_id), 0) FROM {TABLE}")).scalar_one()
        last = conn.execute(sa.select(T.c.ledger_size).where(T.c.gram == MARKER)).scalar()
        conn.rollback()
    if not force and (size < minimum or (last is not None and abs(size - last) <= drift * max(last, 1))):
        return None
    started = time.perf_counter()
    percent = min(100.0, 100.0 * SAMPLE / max(size, 1))
    with engine.begin() as conn:
        # REPEATABLE: the same ledger gives the same sample, and so the same plan, on every measurement.
        sample = conn.execute(
            sa.text(f"SELECT {PG_DOCUMENT} FROM {TABLE} TABLESAMPLE BERNOULLI (:percent) REPEATABLE (1)"),
            {"percent": percent},
        ).scalars()
        held: Counter[str] = Counter()
        documents = 0
        for text in sample:
            documents += 1
            held.update(pieces(text))
        shares = {g: n / documents for g, n in held.items() if n >= COMMON_SHARE * documents} if documents else {}
        conn.execute(T.delete())
        rows = [{"gram": g, "share": s, "ledger_size": size} for g, s in shares.items()]
        conn.execute(T.insert(), [*rows, {"gram": MARKER, "share": 0.0, "ledger_size": size}])
    forget(engine)
    log.info(
        "search: %d common pieces in %d sampled documents of %d (%.1f s)",
        len(shares),
        documents,
        size,
        time.perf_counter() - started,
    )
    return len(shares)


_SHARES = write_stamp.StampedCache(size=1, max_age=CACHE_SECONDS)


def common(session) -> dict[str, float]:
    """The common pieces and their shares, for ``search.condition``; {} on SQLite. Read at most every
    CACHE_SECONDS per process and database: they change only when the ledger has grown by a quarter."""
    if session.get_bind().dialect.name != "postgresql":
        return {}

    def read() -> dict[str, float]:
        return {g: s for g, s in session.execute(sa.select(T.c.gram, T.c.share).where(T.c.gram != MARKER))}

    return _SHARES.get_or_make(session, "shares", (), read)


def forget(engine: Engine) -> None:
    """Drop this process's copy of the shares (after measuring them again)."""
    _SHARES.forget(engine)
