"""Chinese substring search on PostgreSQL: the shipped ``pg_trgm`` GIN index against ``tsvector`` alternatives,
for latency and for recall (issue 15: "or a tsvector with a maintained Chinese parser if you can show it is
better — measure both").

    DUBAN_BENCH_PG=postgresql+psycopg://duban:duban@127.0.0.1:55432/postgres .venv/bin/python bench/search_pg.py
    .venv/bin/python bench/search_pg.py --size 20000 --reps 20

The ledger is bench/common.py's (the SQLite file cached under var/bench/, its PostgreSQL copy kept as the
``duban_bench_l<size>_<due>`` database), copied to ``duban_bench_search_<size>``. Its generated titles are
all 「基准问题N」 and its descriptions empty, which says nothing about Chinese search; this script writes
seeded Chinese titles and descriptions over them (place + works + problem, two or three sentences of
progress, departments and figures, a rare sentence in 1 of 5,000), then rebuilds the search table as
``duban db reindex`` does. The other columns and the search document (code, title, description, progress,
resolution, project and unit names, notes) are the product's.

Methods, each over the same document (``problem_search.doc || E'\\n' || notes``):

- ``strpos`` — every row scanned, case-folded ``strpos``: the ground truth for recall.
- ``pg_trgm (duban)`` — exactly what ``service.search`` sends (``SearchMatch``): ILIKE through the GIN
  trigram index for terms of three characters or more; shorter terms only over the newest 20,000 problems.
- ``pg_trgm ILIKE`` — the same ILIKE for every term, without the short-term bound.
- ``tsvector simple`` — ``to_tsvector('simple', …) @@ plainto_tsquery('simple', term)``, GIN index. This
  PostgreSQL has no Chinese parser (``zhparser``, ``pg_jieba``: not installed, not packaged here); the
  'simple' parser keeps a whole run of Han characters between punctuation as one word, so a fragment is
  found only when it is a whole clause.
- ``tsvector simple prefix`` — the same with ``term:*``: a fragment at the start of a clause.
- ``tsvector bigram`` — the text cut into overlapping two-character pieces before 'simple' sees it (what
  CJK analyzers without a dictionary do), queried as the phrase of the term's pieces: substring search
  that also indexes two-character terms. Not a maintained parser: a SQL function this script defines.

Each method runs ``--reps`` times per query (after two warm-ups), fetching every matching id (what the
recall needs, and what the ledger's count reads); latency is the client-side time of that round trip.
Recall = matches found ÷ ground-truth matches. The plan's access path and the machine's load average are
printed beside the figures: on a shared machine the load moves the figures more than anything else.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import common  # bench/common.py: the script's folder is first on sys.path

DOC = "(doc || E'\\n' || notes)"

PLACES = ["城东片区", "经济开发区", "町店镇", "南关村", "北山乡", "河西街道", "高铁新区", "老城区", "工业园区", "滨河路",
          "西关村", "东岗镇", "凤凰山", "杨柳湾", "沁河南岸"]  # fmt: skip
WORKS = ["泵站", "污水管网", "安置房", "变电站", "中心学校", "跨河桥梁", "停车场", "垃圾中转站", "供水管道", "物流园",
         "标准化厂房", "卫生院", "农贸市场", "公租房", "消防站"]  # fmt: skip
ISSUES = ["用地预审未批复", "征地拆迁进度滞后", "环评手续未办结", "建设资金未到位", "施工许可证未取得", "村民阻工",
          "电力接入延迟", "林地审批未通过", "规划调整未完成", "土地报批材料退回", "管线迁改未启动", "设计变更未确认"]  # fmt: skip
DEPTS = ["自然资源局", "住建局", "生态环境局", "发改局", "财政局", "供电公司", "林业局", "交通运输局", "水务局"]
SENTENCES = [
    "截至{m}月{d}日，{work}工程已完成{p}%，{issue}。",
    "{dept}已于{m}月{d}日召开协调会，明确由{dept2}牵头办理。",
    "现场仍有{k}户群众未签订补偿协议，需{place}配合做好解释工作。",
    "需县{dept}协调解决{issue}问题，计划{m}月底前完成。",
    "已向{dept}报送材料{k}份，等待批复。",
]
RARE = "施工中发现疑似古墓葬，需开展文物勘探。"
RARE_EVERY = 5000


def chinese_text(rng: random.Random, i: int) -> tuple[str, str]:
    """A seeded title and description for problem ``i``."""
    place, work, issue = rng.choice(PLACES), rng.choice(WORKS), rng.choice(ISSUES)
    title = f"{place}{work}{issue}"
    parts = []
    for template in rng.sample(SENTENCES, rng.randint(2, 3)):
        parts.append(
            template.format(
                m=rng.randint(1, 12),
                d=rng.randint(1, 28),
                p=rng.randint(5, 95),
                k=rng.randint(2, 60),
                work=rng.choice(WORKS),
                issue=rng.choice(ISSUES),
                dept=rng.choice(DEPTS),
                dept2=rng.choice(DEPTS),
                place=rng.choice(PLACES),
            )
        )
    if i % RARE_EVERY == 17:
        parts.append(RARE)
    return title, "".join(parts)


BIGRAMS_FN = """
CREATE OR REPLACE FUNCTION bench_bigrams(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(string_agg(substr(t, i, 2), ' ' ORDER BY i), t)
  FROM generate_series(1, length(t) - 1) AS i
$$"""

# Each tsvector kept in a stored generated column (what a real design would do: a GIN index on a tsvector
# keeps no positions, so a phrase query rechecks rows against the column instead of re-parsing the text).
TSVECTORS = {
    "tsvector simple": ("ts_simple", f"to_tsvector('simple', {DOC})"),
    "tsvector bigram": ("ts_bigram", f"to_tsvector('simple', bench_bigrams({DOC}))"),
}


def prepare(pg: str, size: int, log=print) -> str:
    """The work database: the ledger's PostgreSQL copy with Chinese text written over, the search table
    rebuilt, and the tsvector indexes added. Returns its URL."""
    import psycopg

    from models import search_index

    fingerprint = common.schema_fingerprint()
    led = common.ledger(size, max(1, size // 1000), fingerprint, log)
    admin = common.pg_admin(pg)
    try:
        pristine = common.pg_ledger(pg, led, fingerprint, admin, log)
        work = f"{common.PG_PREFIX}search_{size}"
        common.pg_restore(admin, pristine, work)
    finally:
        admin.close()
    rng = random.Random(size * 31 + 7)
    t0 = time.perf_counter()
    with psycopg.connect(common.pg_dsn(pg, work)) as conn:
        conn.execute("CREATE TEMP TABLE bench_text (id integer PRIMARY KEY, title text, description text)")
        with conn.cursor().copy("COPY bench_text (id, title, description) FROM STDIN") as copy:
            for i in range(1, size + 1):
                copy.write_row((i, *chinese_text(rng, i)))
        conn.execute("ALTER TABLE problem DISABLE TRIGGER USER")
        conn.execute(
            "UPDATE problem p SET title = t.title, description = t.description FROM bench_text t WHERE t.id = p.id"
        )
        conn.execute("ALTER TABLE problem ENABLE TRIGGER USER")
        log(f"  Chinese text written in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        for sql in search_index.rebuild("postgresql"):
            conn.execute(sql)
        conn.commit()
        log(f"  search table and pg_trgm GIN index rebuilt (duban db reindex) in {time.perf_counter() - t0:.1f} s")
        (before,) = conn.execute("SELECT pg_table_size('problem_search')").fetchone()
        log(f"  problem_search without tsvector columns: {before / 2**20:.1f} MiB")
        conn.execute(BIGRAMS_FN)
        for name, (column, expr) in TSVECTORS.items():
            t0 = time.perf_counter()
            conn.execute(f"ALTER TABLE problem_search ADD COLUMN {column} tsvector GENERATED ALWAYS AS ({expr}) STORED")
            conn.execute(f"CREATE INDEX bench_{column} ON problem_search USING gin ({column})")
            conn.commit()
            log(f"  {name}: column and GIN index built in {time.perf_counter() - t0:.1f} s")
    with psycopg.connect(common.pg_dsn(pg, work), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE problem_search")
        conn.execute("ANALYZE problem")
        sizes = conn.execute(
            "SELECT c.relname, CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END FROM pg_class c WHERE c.relname IN "
            "('problem_search', 'ix_problem_search_trgm', 'bench_ts_simple', 'bench_ts_bigram') ORDER BY 1"
        ).fetchall()
        log("  sizes (table with both tsvector columns): " + ", ".join(f"{n} {b / 2**20:.1f} MiB" for n, b in sizes))
    return common.pg_url(pg, work)


def statements(q: str, engine) -> dict[str, tuple[str, dict]]:
    """Method name → (SQL returning the matching problem ids, parameters)."""
    import sqlalchemy as sa

    from models.db import session
    from models.tables import Problem
    from service import search, search_grams

    terms = search.parse(q)
    with session(engine) as s:
        shipped = sa.select(Problem.id).where(search.condition(terms, search_grams.common(s)))
    compiled = shipped.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    out: dict[str, tuple[str, dict]] = {}
    params = {f"t{k}": t for k, t in enumerate(terms.terms)}
    each = lambda fmt: " AND ".join(fmt.format(p=f":{k}") for k in params)  # noqa: E731
    out["strpos (全表扫描，基准)"] = (
        f"SELECT problem_id FROM problem_search WHERE {each('strpos(lower(' + DOC + '), lower({p})) > 0')}",
        params,
    )
    out["pg_trgm (duban)"] = (str(compiled).replace("%%", "%"), {})
    out["pg_trgm ILIKE"] = (
        f"SELECT problem_id FROM problem_search WHERE {each(DOC + ' ILIKE {p}')}",
        {k: search.like_pattern(v) for k, v in params.items()},
    )
    out["tsvector simple"] = (
        "SELECT problem_id FROM problem_search WHERE " + each("ts_simple @@ plainto_tsquery('simple', {p})"),
        params,
    )
    out["tsvector simple prefix"] = (
        "SELECT problem_id FROM problem_search WHERE "
        + each("ts_simple @@ (plainto_tsquery('simple', {p})::text || ':*')::tsquery"),
        params,
    )
    out["tsvector bigram"] = (
        "SELECT problem_id FROM problem_search WHERE "
        + each("ts_bigram @@ phraseto_tsquery('simple', bench_bigrams({p}))"),
        params,
    )
    return out


def access_path(conn, sql: str, params: dict) -> str:
    import sqlalchemy as sa

    plan = "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + sql), params))
    for marker in ("Bitmap Index Scan on ", "Index Scan using ", "Index Only Scan using "):
        if marker in plan:
            return "index " + plan.split(marker, 1)[1].split()[0]
    return "seq scan" if "Seq Scan" in plan else "other"


def measure(url: str, queries: list[str], reps: int) -> list[list]:
    import sqlalchemy as sa

    from models.db import make_engine
    from service import search_grams

    engine = make_engine(url)
    search_grams.refresh(engine, force=True)  # what the scheduler's housekeeping measures on a ledger this size
    rows = []
    with engine.connect() as conn:
        for q in queries:
            truth: set[int] | None = None
            for method, (sql, params) in statements(q, engine).items():
                stmt = sa.text(sql)
                for _ in range(2):
                    found = {r[0] for r in conn.execute(stmt, params)}
                times = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    found = {r[0] for r in conn.execute(stmt, params)}
                    times.append(time.perf_counter() - t0)
                if truth is None:
                    truth = found
                recall = len(found & truth) / len(truth) if truth else 1.0
                times.sort()
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                rows.append(
                    [
                        q,
                        method,
                        access_path(conn, sql, params),
                        len(found),
                        f"{recall:.3f}",
                        f"{statistics.median(times) * 1000:.1f}",
                        f"{p95 * 1000:.1f}",
                        f"{os.getloadavg()[0]:.1f}",
                    ]
                )
                print("  " + " | ".join(map(str, rows[-1])), flush=True)
    engine.dispose()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="problems in the ledger")
    ap.add_argument("--reps", type=int, default=30, help="measured runs per query and method")
    ap.add_argument("--keep", action="store_true", help="keep the work database (duban_bench_search_<size>)")
    args = ap.parse_args()
    pg = os.environ.get("DUBAN_BENCH_PG") or os.environ.get("DUBAN_TEST_PG")
    if not pg:
        raise SystemExit("set DUBAN_BENCH_PG (or DUBAN_TEST_PG) to a PostgreSQL server URL")
    print(f"search_pg: {args.size:,} problems, {args.reps} runs each; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    url = prepare(pg, args.size)
    admin = common.pg_admin(pg)
    print(f"  PostgreSQL: {common.pg_settings(admin)}")
    queries = [
        "用地预审",  # 4 characters, in about one problem in seven
        "文物勘探",  # 4 characters, rare (1 in 5,000)
        "变电站",  # 3 characters
        "阻工",  # 2 characters (shorter than a trigram)
        f"WT-B-{min(args.size, 54242):07d}",  # a problem's code
        "南关村 资金",  # two terms
    ]
    try:
        rows = measure(url, queries, args.reps)
    finally:
        if not args.keep:
            common.pg_drop(admin, f"{common.PG_PREFIX}search_{args.size}")
        admin.close()
    print()
    headers = ["query", "method", "access path", "matches", "recall", "p50 ms", "p95 ms", "load"]
    print(common.table(headers, rows))
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
