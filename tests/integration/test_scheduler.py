"""The scheduler as real processes against one SQLite file and a real SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from models.db import make_engine, session
from models.tables import Event, Notice, Problem
from service.problems import ProblemService
from service.scheduler import Jobs, simulate
from tests.backends import copy_database
from tests.conftest import at
from tests.mailserver import Mailbox
from tests.processes import Launched

DUBAN = str(Path(sys.executable).with_name("duban"))
REPO = Path(__file__).resolve().parents[2]
LADDER = ["unit", "county_leader", "supervision_13710", "government_meeting"]


@pytest.fixture
def smtpd():
    box = Mailbox().start()
    yield box
    box.stop()


def env_for(engine, smtpd, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(
        DUBAN_DB=engine.url.render_as_string(hide_password=False),
        DUBAN_SMTP_HOST="127.0.0.1",
        DUBAN_SMTP_PORT=str(smtpd.port),
        DUBAN_MAIL_FROM="duban@yc.example",
        **extra,
    )
    return env


def always_open(tmp_path):
    """The rules file with a send window open around the clock, every day."""
    import re

    text = (REPO / "escalation_rules.toml").read_text("utf-8")
    text = re.sub(r"(?m)^window = .*$", 'window = "00:00-24:00"', text)
    text = re.sub(r"(?m)^workdays_only = .*$", "workdays_only = false", text)
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    return path


def seed_ledger(svc, clock, n=12):
    categories = ["land", "demolition", "other", "permit"]
    for i in range(n):
        clock.set(f"2024-01-0{2 + i % 3}T10:00")
        p = svc.log(
            "town",
            "嘉润综合物流园区",
            categories[i % 4],
            f"问题{i}",
            severity="major" if i % 6 == 5 else "general",
            county_level=i % 4 == 1,
        )
        svc.act(
            "insp",
            p.code,
            "assign",
            unit="ziranziyuan",
            person="staff" if i % 2 else "head",
            leader="head",
            section="耕地保护股",
        )


def test_two_scheduler_processes_over_a_simulated_month_do_everything_exactly_once(
    engine, svc, clock, smtpd, rules, tmp_path
):
    seed_ledger(svc, clock)
    # Reference: the same month in one process, without delivery, on a copy of the database.
    engine.dispose()  # PostgreSQL copies from a template with no open connections
    ref_engine = make_engine(copy_database(engine.url.render_as_string(hide_password=False), tmp_path))
    simulate(
        Jobs(ref_engine, rules, None, clock, "reference", deliver=False),
        at("2024-01-05T00:00"),
        at("2024-02-05T00:00"),
        timedelta(hours=6),
    )
    with session(ref_engine) as s:
        ref_escalations = len(s.exec(select(Event).where(Event.action == "escalate")).all())
    # By severity: general problems climb at most to 13710 and stall there; the two majors start at 13710 with
    # a one-month period, so none reaches the meeting within this month. Enough still climbs to matter.
    assert ref_escalations >= 8

    args = [DUBAN, "--at", "2024-01-05T00:00", "scheduler", "--until", "2024-02-05T00:00", "--step", "6h"]
    procs = [
        Launched(args, env_for(engine, smtpd, DUBAN_MAIL_DIR=str(tmp_path / f"mail{i}")), tmp_path, f"scheduler{i}")
        for i in range(2)
    ]
    for p in procs:
        done = p.wait(timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "模拟结束" in done.stdout

    with session(engine) as s:
        events = s.exec(select(Event).order_by(Event.id)).all()
        every = s.exec(select(Notice)).all()
        notices = [n for n in every if n.channel == "email"]
        problems = s.exec(select(Problem)).all()
    escalations = [e for e in events if e.action == "escalate"]
    assert len(escalations) == ref_escalations
    # Each problem climbs the ladder one rung at a time, each rung once.
    for p in problems:
        mine = [(e.from_level, e.to_level) for e in escalations if e.problem_id == p.id]
        assert len(set(mine)) == len(mine), (p.code, mine)
        for a, b in mine:
            assert LADDER.index(b) == LADDER.index(a) + 1
    # Sweep actions happen once per problem, level and deadline.
    seen = Counter(
        (e.problem_id, e.action, e.to_level, e.data.get("deadline"), e.comment) for e in events if e.actor == "system"
    )
    assert max(seen.values()) == 1
    # Every deliverable notice was sent, and the server received each exactly once.
    # Only what came after the last send window (Sunday 4 Feb 2024, a make-up working day, until 18:00) waits.
    status = Counter(n.status for n in notices)
    assert status["sending"] == status["failed"] == 0, status
    waiting = [n for n in notices if n.status == "pending"]
    assert all(n.created_at >= at("2024-02-04T18:00") for n in waiting), waiting
    # Both processes have exited, so everything they sent is in: the server records a message before
    # it acknowledges it, and a notice is marked sent only after the acknowledgement.
    # Notices that waited for office hours go out merged (one mail per recipient and kind), so there are
    # at most as many mails as sent e-mail rows, and none twice.
    ids = smtpd.message_ids()
    assert 0 < sum(ids.values()) <= status["sent"] and max(ids.values()) == 1
    kinds = Counter(n.kind for n in every if n.status == "sent")  # by default some kinds go to the inbox only
    assert {"assignment", "warning", "overdue", "escalation", "digest", "dispatch"} <= set(kinds)


def test_the_real_scheduler_sweeps_delivers_and_stops_cleanly_on_sigterm(engine, rules, smtpd, tmp_path):
    real_now = datetime.now(UTC)
    clock = lambda: real_now - timedelta(days=60)  # noqa: E731 — assigned two months ago
    svc = ProblemService(engine, rules, clock)
    p = svc.log("town", "嘉润综合物流园区", "other", "两个月前交办的问题")
    svc.act("insp", p.code, "assign", unit="ziranziyuan", person="staff", leader="head", section="耕地保护股")

    # The wall clock may be at night or on a holiday: this test is about delivery, not office hours.
    proc = subprocess.Popen(
        [DUBAN, "scheduler"],
        env=env_for(engine, smtpd, DUBAN_MAIL_DIR=str(tmp_path / "mail"), DUBAN_RULES=str(always_open(tmp_path))),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        escalated = False
        while time.monotonic() < deadline and not escalated:
            time.sleep(0.3)
            with session(engine) as s:
                escalated = s.exec(select(Problem)).first().level == "county_leader"
        assert escalated, "the scheduler did not sweep at start-up"
        with session(engine) as s:
            deliverable = [
                n.id
                for n in s.exec(select(Notice).where(Notice.channel == "email")).all()
                if n.status != "undeliverable"
            ]
        assert deliverable, "nothing was queued for delivery"
        assert smtpd.wait_for(len(deliverable), timeout=30), "the scheduler did not deliver what was queued"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "调度器已停止" in out and "Traceback" not in err
    with session(engine) as s:
        status = {n.id: n.status for n in s.exec(select(Notice)).all()}
    assert all(status[i] == "sent" for i in deliverable), status
    assert max(smtpd.message_ids().values()) == 1  # each message once
    subjects = [m["Subject"] for m in smtpd.messages()]
    assert any(s.startswith(f"【升级督办】{p.code} ") for s in subjects), subjects
