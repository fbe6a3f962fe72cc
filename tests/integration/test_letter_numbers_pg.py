"""Two processes signing 督办函 at the same moment on one PostgreSQL database: every letter gets its own number
and the year's numbers run 1…N without a gap. (A signing refused after taking a number gives it back: see
test_letters.test_a_number_collision_is_refused_and_nothing_changes.)"""

from __future__ import annotations

import multiprocessing
import re

import pytest

from models.db import make_engine, session
from service import letters
from tests import backends
from tests.conftest import at
from tests.integration.conftest import PEOPLE

pytestmark = [pytest.mark.integration, pytest.mark.pg]
PER_PROCESS = 6


def _sign_all(url: str, ids: list[int], barrier, results) -> None:
    from workflow.rules import load_rules

    engine = make_engine(url)
    rules = load_rules()
    barrier.wait(60)
    out = []
    for letter_id in ids:
        # No PDF here: the race is the numbering transaction; sending follows it outside any transaction.
        d = letters.sign(engine, rules, "insp", letter_id, at("2024-03-01T09:00"), send=False)
        out.append((letter_id, d["number"]))
    engine.dispose()
    results.put(out)


@pytest.fixture
def pg_engine(tmp_path):
    from service import directory_admin

    url = backends.new_migrated_url("postgresql", tmp_path)
    engine = make_engine(url)
    with session(engine) as s, s.begin():
        directory_admin.load_units(s)
        for login, name, unit, role, email in PEOPLE:
            directory_admin.create_user(s, login, name, unit, role, email, at("2024-01-02"))
        directory_admin.create_project(s, "嘉润综合物流园区", "kaifaqu", "lead", at("2024-01-02"))
    yield url, engine
    engine.dispose()
    backends.release(url)


def test_two_processes_signing_at_once_get_distinct_numbers_without_gaps(pg_engine, rules):
    from service.problems import ProblemService
    from tests.conftest import Clock

    url, engine = pg_engine
    clock = Clock(at("2024-02-26T09:00"))
    svc = ProblemService(engine, rules, clock)
    for i in range(2 * PER_PROCESS):
        code = svc.log("town", "嘉润综合物流园区", "land", f"用地问题{i}", unit="ziranziyuan").code
        svc.act("insp", code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")
        svc.act("insp", code, "escalate", to="supervision_13710", reason="久拖不决")
    ids = sorted(r["id"] for r in letters.register(engine, "admin", clock.now.date()))
    assert len(ids) == 2 * PER_PROCESS

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_sign_all, args=(url, ids[i::2], barrier, results), daemon=True) for i in range(2)]
    for p in procs:
        p.start()
    signed = [pair for _ in procs for pair in results.get(timeout=300)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    numbers = [n for _, n in signed]
    serials = sorted(int(re.fullmatch(r"阳督函〔2024〕(\d+)号", n).group(1)) for n in numbers)
    assert serials == list(range(1, 2 * PER_PROCESS + 1))  # distinct, consecutive from 1
    assert sorted(i for i, _ in signed) == ids
    register = {r["id"]: r["number"] for r in letters.register(engine, "admin", clock.now.date())}
    assert register == dict(signed)
