"""service.search_grams on both databases: the pieces most search documents hold are measured on PostgreSQL
(nothing on SQLite), refreshed when the ledger has grown, and a search asking the index for a term's rarer
pieces finds exactly what asking for the whole term finds — hostile strings included."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.db import session
from models.tables import Problem
from service import ledger, search, search_grams
from service.ledger import LedgerQuery
from service.maintenance import reindex
from tests.integration.test_search import HOSTILE

pytestmark = [pytest.mark.integration, pytest.mark.pg]
PROJECT = "嘉润综合物流园区"  # in every problem's search document: its pieces are common


@pytest.fixture
def today(clock, rules):
    return clock().astimezone(rules.timezone).date()


@pytest.fixture
def numbered(svc):
    """Twelve problems titled 基准问题<n> plus two whose words appear nowhere else."""
    codes = [svc.log("town", PROJECT, "land", f"基准问题{n}", unit="ziranziyuan").code for n in range(40, 52)]
    codes.append(svc.log("town", PROJECT, "land", "泵站用地预审 BENG-07", unit="ziranziyuan").code)
    codes.append(svc.log("town", PROJECT, "other", "施工便道阻工", unit="dingdian", description="村民反映噪声").code)
    return codes


def found(engine, q: str, common: dict[str, float]) -> list[int]:
    with session(engine) as s:
        stmt = sa.select(Problem.id).where(search.condition(search.parse(q), common))
        return sorted(s.execute(stmt).scalars())


def test_postgresql_measures_the_common_pieces_and_sqlite_nothing(engine, numbered):
    measured = search_grams.refresh(engine, force=True)
    with session(engine) as s:
        common = search_grams.common(s)
    if engine.dialect.name == "sqlite":
        assert measured is None and common == {}
        return
    assert measured == len(common) > 0
    assert common["物流园"] == 1.0 and common["基准问"] == pytest.approx(12 / 14)
    with engine.connect() as conn:
        size = conn.execute(sa.text("SELECT ledger_size FROM search_gram WHERE gram = ''")).scalar_one()
    assert size == len(numbered)


QUERIES = [
    "基准问题45",
    "基准问题4",
    "问题5",
    "BENG-07",
    "beng",
    "物流园区 噪声",
    "嘉润综合物流园区",
    "泵站 基准问题41",
]


def test_asking_for_the_rarer_pieces_finds_what_asking_for_the_whole_term_finds(engine, numbered):
    common = {"基准问": 0.9, "准问题": 0.9, "物流园": 1.0, "嘉润综": 1.0, "综合物": 1.0, "润综合": 1.0, "合物流": 1.0}
    for q in QUERIES + HOSTILE:  # one ledger for all of them: each query is a read
        assert found(engine, q, common) == found(engine, q, {}), q
    assert len(found(engine, "基准问题4", common)) == 10 and len(found(engine, "基准问题45", common)) == 1


def test_postgresqls_index_is_asked_for_the_rarer_pieces_only(engine, numbered):
    common = {"基准问": 0.9, "准问题": 0.9}
    stmt = sa.select(Problem.id).where(search.condition(search.parse("基准问题45"), common))
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    if engine.dialect.name == "sqlite":  # an FTS5 phrase of the whole term, whatever is common
        assert "MATCH '\"基准问题45\"'" in sql and "题45" not in sql.replace("基准问题45", ""), sql
        return
    with engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))  # a tiny table would be scanned anyway
        plan = "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + sql)))
    index_cond = plan[plan.index("Index Cond") :].split("->")[0]
    assert "题45" in index_cond and "基准问题45" not in index_cond, plan
    assert "基准问题45" in plan  # checked on the rows the index returned


def test_the_pieces_are_measured_again_once_the_ledger_has_grown(engine, svc, numbered, today):
    if engine.dialect.name == "sqlite":
        assert search_grams.refresh(engine, minimum=0) is None
        return
    assert search_grams.refresh(engine, minimum=100) is None  # a small ledger: nothing to gain
    assert search_grams.refresh(engine, minimum=0) is not None  # never measured
    assert search_grams.refresh(engine, minimum=0) is None  # measured at this size
    with session(engine) as s:
        assert search_grams.common(s)["施工便"] == pytest.approx(1 / 14)
    for n in range(4):
        svc.log("town", PROJECT, "other", f"施工便道第{n}段", unit="dingdian")
    assert search_grams.refresh(engine, minimum=0) is not None  # 14 → 18: more than a quarter
    with session(engine) as s:
        assert search_grams.common(s)["施工便"] == pytest.approx(5 / 18)  # this process reads the new shares
    # The ledger's pages search through them and find the same problems.
    page = ledger.browse(engine, "insp", LedgerQuery(q="施工便道第2段"), today)
    assert len(page.rows) == 1 and page.rows[0]["title"] == "施工便道第2段"


def test_reindex_measures_the_pieces_whatever_the_ledgers_size(engine, numbered):
    reindex(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM search_gram")).scalar_one()
    assert rows == (0 if engine.dialect.name == "sqlite" else len(search_grams_common(engine)) + 1)


def search_grams_common(engine) -> dict[str, float]:
    with session(engine) as s:
        return search_grams.common(s)
