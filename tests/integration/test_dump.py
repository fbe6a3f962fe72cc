"""Full export/import: SQLite → PostgreSQL → SQLite loses nothing; restores are all or nothing."""

from __future__ import annotations

import json

import pytest

from models.db import create_schema, make_engine
from service.dump import export_dump, import_dump
from service.sample import load_sample
from service.sweep import run_sweep
from tests import backends
from tests.conftest import at
from workflow.errors import Conflict, InvalidValue


def rows_of(path):
    lines = path.read_text("utf-8").splitlines()
    return json.loads(lines[0]), lines[1:]


@pytest.fixture
def source(tmp_path, rules):
    """A ledger with history, notices of every status and a sweep behind it, on SQLite."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    engine = make_engine(url)
    create_schema(engine)
    from sqlmodel import Session

    from service import directory_admin

    with Session(engine) as s, s.begin():
        directory_admin.load_units(s)
        directory_admin.create_user(s, "admin", "管理员", "duchashi", "admin", "a@yc.example", at("2024-01-01"))
    load_sample(engine, rules, at("2024-01-10T09:00"))
    run_sweep(engine, rules, at("2024-01-20T09:00"))
    return url, engine


def test_round_trip_sqlite_postgresql_sqlite_loses_nothing(source, tmp_path):
    url, engine = source
    first = tmp_path / "first.jsonl"
    header = export_dump(engine, first, at("2024-01-21"), "admin")
    assert header["tables"]["problem"] == 10 and header["tables"]["event"] > 10 and header["tables"]["notice"] > 0

    pg_url = backends.new_database_url("postgresql", tmp_path)
    pg = make_engine(pg_url)
    import_dump(pg, first)
    second = tmp_path / "second.jsonl"
    export_dump(pg, second, at("2024-01-21"), "admin")
    pg.dispose()

    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    back = make_engine(back_url)
    import_dump(back, second)
    back.dispose()

    h1, r1 = rows_of(first)
    h2, r2 = rows_of(second)
    assert h1["tables"] == h2["tables"] and h1["schema"] == h2["schema"]
    assert r1 == r2  # every row, every value, through PostgreSQL
    engine.dispose()
    assert backends.dump(back_url) == backends.dump(url)  # and back on SQLite, identical to the source


def test_restored_database_keeps_working(source, tmp_path, rules, db_url):
    url, engine = source
    path = tmp_path / "dump.jsonl"
    export_dump(engine, path, at("2024-01-21"), "admin")
    target = make_engine(db_url)
    import_dump(target, path)
    from sqlmodel import Session, select

    from models.tables import Problem
    from service.problems import ProblemService

    with Session(target) as s:
        before = s.exec(select(Problem)).all()
    svc = ProblemService(target, rules, lambda: at("2024-01-22"))
    p = svc.log("xu.kfq", "嘉润综合物流园区", "other", "恢复后新登记的问题")
    # Sequences and code counters continue after the restored rows.
    last_2024 = max(int(x.code[-4:]) for x in before if x.code.startswith("WT-2024-"))
    assert p.code == f"WT-2024-{last_2024 + 1:04d}" and p.id == max(x.id for x in before) + 1
    target.dispose()


def test_restore_refuses_a_database_with_data_and_bad_files(source, tmp_path):
    url, engine = source
    path = tmp_path / "dump.jsonl"
    export_dump(engine, path, at("2024-01-21"), "admin")
    before = backends.dump(url)
    with pytest.raises(Conflict, match="不是空库"):
        import_dump(engine, path)
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(path.read_text("utf-8").splitlines()[:-5]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidValue, match="不完整"):
        import_dump(engine, truncated, replace=True, actor_login="admin")
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"hello": 1}\n', encoding="utf-8")
    with pytest.raises(InvalidValue, match="不是 duban 备份文件"):
        import_dump(engine, bogus, replace=True, actor_login="admin")
    assert backends.dump(url) == before  # nothing changed by any refused restore
    import_dump(engine, path, replace=True, actor_login="admin")
    assert backends.dump(url) == before  # replacing with its own backup is a no-op
    engine.dispose()
