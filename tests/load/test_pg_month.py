"""A county month on PostgreSQL: 600 problems, three scheduler processes and two clients at once.

Every escalation and every notice exactly once, every accepted action in the audit log, no lost update;
and a scheduler killed with SIGKILL in the middle of a sweep loses and doubles nothing.

Sized for the suite's five-minute budget: 600 problems (three of the PostgreSQL sweep's 200-problem batches,
so three schedulers share every due day and a kill lands between batches), imported once per module and
copied for each test; the clients make 2 × 100 calls on 200 problems.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models.db import make_engine, session
from models.tables import Event, Notice, Problem
from service import directory, directory_admin, tokens
from tests import backends
from tests.conftest import at
from tests.evidence_files import rules_file_without_evidence
from tests.processes import Launched
from tests.servers import answers, start_server

DUBAN = str(Path(sys.executable).with_name("duban"))
CLIENT = str(Path(__file__).with_name("client.py"))
LADDER = ["unit", "county_leader", "supervision_13710", "government_meeting"]
N = 600

pytestmark = [pytest.mark.load, pytest.mark.pg]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory, rules):
    """The county with its imported ledger, built once; each test works on a copy."""
    tmp_path = tmp_path_factory.mktemp("county")
    url = backends.new_migrated_url("postgresql", tmp_path)
    engine = make_engine(url)
    now = at("2024-01-02")
    with session(engine) as s, s.begin():
        directory_admin.load_units(s)
        for login, name, unit, role in [
            ("admin", "管理员", "duchashi", "admin"),
            ("insp", "督查员", "duchashi", "inspector"),
            ("head", "局长", "ziranziyuan", "unit_head"),
            ("lead", "副县长", "county_gov", "county_leader"),
        ]:
            directory_admin.create_user(s, login, name, unit, role, None, now)
        for i in range(5):
            directory_admin.create_project(s, f"示例项目{i}", "kaifaqu", "lead", now)
    # The ledger arrives the way a county's does: an imported spreadsheet, every row through the workflow.
    path = tmp_path / "ledger.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "项目名称",
                "问题名称",
                "问题类型",
                "问题性质",
                "县级协调",
                "责任单位",
                "责任人",
                "责任科室",
                "登记日期",
                "交办日期",
                "状态",
            ]
        )
        cats = ["土地", "征拆", "手续", "资金", "要素保障", "其他"]
        for i in range(N):
            w.writerow(
                [
                    f"示例项目{i % 5}",
                    f"负载问题{i:05d}",
                    cats[i % 6],
                    "重大" if i % 50 == 0 else "一般",
                    "是" if i % 7 == 0 else "否",
                    "自然资源局",
                    "局长",
                    "耕地保护股",
                    "2024-01-02",
                    f"2024-01-0{2 + i % 3}",
                    "交办",
                ]
            )
    from reports.importer import import_ledger

    report = import_ledger(engine, rules, at("2024-01-04T18:00"), "admin", path)
    assert report.ok and report.created == N, report.as_dict()
    engine.dispose()  # a template for the tests' copies: no open connections
    yield url
    backends.release(url)


@pytest.fixture
def county(ledger, tmp_path):
    url = backends.copy_database(ledger, tmp_path)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()
    backends.release(url)


def test_three_schedulers_and_two_web_clients_over_a_month(county, tmp_path):
    url, engine = county
    with session(engine) as s:
        codes = [p.code for p in s.exec(select(Problem)).all()]
    (tmp_path / "codes.txt").write_text("\n".join(codes[:200]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {"DUBAN_DB": url}
    env["DUBAN_RULES"] = str(rules_file_without_evidence(tmp_path))  # its clients apply to close without files
    with session(engine) as s, s.begin():
        token = tokens.create(s, directory.view(s).user("head").id, "load", at("2024-01-05"))
    web, port = start_server(
        lambda port: [DUBAN, "--at", "2024-01-20T10:00", "serve", "--port", str(port), "--no-scheduler"],
        lambda port: answers(f"http://127.0.0.1:{port}/api/v1/openapi.json"),
        env=env,
        cwd=tmp_path,
    )
    try:
        schedulers = [
            Launched(
                [
                    DUBAN,
                    "--at",
                    "2024-01-05T00:00",
                    "scheduler",
                    "--until",
                    "2024-02-05T00:00",
                    "--step",
                    "6h",
                    "--no-deliver",
                ],
                env,
                tmp_path,
                f"scheduler{i}",
            )
            for i in range(3)
        ]
        clients = [
            Launched(
                [
                    sys.executable,
                    CLIENT,
                    f"http://127.0.0.1:{port}",
                    token,
                    str(seed),
                    str(tmp_path / f"client{seed}.jsonl"),
                    str(tmp_path / "codes.txt"),
                    "100",
                ],
                env,
                tmp_path,
                f"client{seed}",
            )
            for seed in (1, 2)
        ]
        for proc in schedulers + clients:
            done = proc.wait(timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
    finally:
        web.send_signal(signal.SIGTERM)
        web.communicate(timeout=30)

    with session(engine) as s:
        events = s.exec(select(Event).order_by(Event.id)).all()
        problems = {p.id: p for p in s.exec(select(Problem)).all()}
        notice_keys = s.exec(select(Notice.dedup_key)).all()
    escalations = [e for e in events if e.action == "escalate" and e.actor == "system"]
    assert len({e.problem_id for e in escalations}) > N // 2  # most problems climbed at least once in a month
    # Every escalation exactly once: one rung at a time, each rung once per problem.
    rungs = Counter((e.problem_id, e.from_level, e.to_level) for e in escalations)
    assert max(rungs.values()) == 1
    assert all(LADDER.index(t) == LADDER.index(f) + 1 for _, f, t in rungs)
    # Every sweep action once per problem, level and deadline; every notice once (unique keys hold).
    sweep_steps = Counter(
        (e.problem_id, e.action, e.to_level, e.data.get("deadline"), e.comment) for e in events if e.actor == "system"
    )
    assert max(sweep_steps.values()) == 1
    assert len(notice_keys) == len(set(notice_keys)) and len(notice_keys) > 3 * N
    # Every accepted client action is in the audit log exactly once; no update was lost.
    by_text = Counter(e.comment for e in events if e.actor == "head")
    accepted = 0
    last_feedback: dict[str, str] = {}
    for seed in (1, 2):
        for line in (tmp_path / f"client{seed}.jsonl").read_text("utf-8").splitlines():
            item = json.loads(line)
            if item["ok"]:
                accepted += 1
                assert by_text[item["text"]] == 1, item
    assert accepted > 50
    for e in events:
        if e.action == "feedback":
            last_feedback[e.problem_id] = e.comment
    for pid, text in last_feedback.items():
        assert problems[pid].progress == text
    # Versions: one per write, so nothing was overwritten by a stale copy.
    per_problem = Counter(e.problem_id for e in events)
    for pid, p in problems.items():
        assert p.version >= per_problem[pid]


def test_a_scheduler_killed_mid_sweep_loses_and_doubles_nothing(county, tmp_path, rules):
    url, engine = county
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {"DUBAN_DB": url}
    # 600 problems fall due at once on 2024-02-01: the first sweep has three batches to commit.
    victim = Launched(
        [DUBAN, "--at", "2024-02-01T09:00", "scheduler", "--once", "--no-deliver"], env, tmp_path, "victim"
    )
    deadline = time.monotonic() + 60
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            done = conn.execute(sa.text("SELECT count(*) FROM event WHERE actor = 'system'")).scalar_one()
            if done > 0:
                break
            time.sleep(0.02)
    victim.proc.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30).returncode == -signal.SIGKILL
    with engine.connect() as conn:
        partial = conn.execute(sa.text("SELECT count(*) FROM event WHERE actor = 'system'")).scalar_one()
    assert 0 < partial  # it was killed mid-work, after some batches committed
    again = subprocess.run(
        [DUBAN, "--at", "2024-02-01T09:00", "scheduler", "--once", "--no-deliver"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    with session(engine) as s:
        events = s.exec(select(Event)).all()
        notices = s.exec(select(Notice.dedup_key)).all()
        problems = s.exec(select(Problem)).all()
    assert len(notices) == len(set(notices))
    system = Counter((e.problem_id, e.action, e.to_level) for e in events if e.actor == "system")
    assert max(system.values()) == 1
    assert partial < sum(system.values())  # the kill left work for the second scheduler
    due = [p for p in problems if p.next_check_at is not None and p.next_check_at <= at("2024-02-01T09:00")]
    assert due == []  # nothing was left undone
