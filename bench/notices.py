"""Benchmark: render and deliver notices from the outbox to a local SMTP server.

    python bench/notices.py [--count 5000] [--concurrency 8]

An aiosmtpd server runs in its own process on 127.0.0.1 and counts the Message-IDs it accepts. The
outbox holds notices as the service writes them: one per recipient of an event (1–4 recipients,
2.5 on average; ~2,000 events over 200 problems, every kind including digests).

1. ``deliver_pending``: claim from a SQLite outbox, render (Jinja2 → MIME), send over N reused
   aiosmtplib connections, record each outcome — the whole production path, timed end to end.
2. Baseline, same run, same server: the same messages, rendered beforehand (not timed), sent with
   ``smtplib`` opening one connection per message.

Prints notices/s for both, their ratio, and a markdown block for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import re
import smtplib
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KINDS = [
    "assignment",
    "warning",
    "reminder",
    "overdue",
    "escalation",
    "review",
    "sent_back",
    "closed",
    "suspended",
    "resumed",
    "unassigned",
    "digest",
    "dispatch",
]
_MID = re.compile(rb"^Message-ID: (<[^>]+>)", re.M)
MAIL_OPTIONS = ["BODY=8BITMIME"]  # the pre-rendered messages are the bytes deliver_pending sends (8-bit bodies)


# -- the server process ---------------------------------------------------------------------------

# What the service puts in a notice of each kind (bench/channels.py sends the same).
SAMPLE_PAYLOADS = {
    "assignment": {"actor_name": "督查室", "comment": "请于春节前完成入户调查。"},
    "reminder": {"milestone": "feedback", "due": "2024-02-14"},
    "escalation": {"from_level": "county_leader", "to_level": "supervision_13710"},
    "review": {"comment": "已签订补偿协议。"},
    "sent_back": {"comment": "缺少协议扫描件。"},
    "closed": {"rating": "good"},
}


def _server(conn) -> None:
    import asyncio

    from aiosmtpd.smtp import SMTP

    seen: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            m = _MID.search(envelope.original_content)
            seen.append(m.group(1) if m else b"")
            return "250 2.0.0 Ok: queued"

    def on_command():
        cmd = conn.recv()
        if cmd == "stats":
            conn.send((len(seen), len(set(seen))))
            seen.clear()
        else:
            loop.stop()

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(Handler(), hostname="localhost", enable_SMTPUTF8=True), "127.0.0.1", 0)
    )
    loop.add_reader(conn.fileno(), on_command)
    conn.send(server.sockets[0].getsockname()[1])
    loop.run_forever()


# -- data -----------------------------------------------------------------------------------------
def build_outbox(url: str, count: int, problems: int) -> None:
    from models.db import create_schema, make_engine, session
    from models.guard import workflow_write
    from models.tables import Notice, Problem, Project, Unit, User

    engine = make_engine(url)
    create_schema(engine)
    t0 = datetime(2024, 2, 8, 1, 30, tzinfo=UTC)
    with session(engine) as s:
        names = ["蟒河镇", "润城镇", "北留镇", "町店镇", "凤城镇", "开发区", "自然资源局", "行政审批局"]
        units = [Unit(code=f"u{i}", name=name, kind="town") for i, name in enumerate(names)]
        units.append(Unit(code="dcs", name="县政府办督查室", kind="inspection_office"))
        s.add_all(units)
        s.flush()
        users = [
            User(
                login=f"user{i}",
                name=f"干部{i:03d}",
                unit_id=units[i % 8].id,
                role="staff",
                email=f"user{i}@example.gov.cn",
                created_at=t0,
            )
            for i in range(100)
        ]
        s.add_all(users)
        s.flush()
        projects = [
            Project(name=f"阳城县重点项目{i:03d}", unit_id=units[i % 8].id, leader_id=users[i].id, created_at=t0)
            for i in range(40)
        ]
        s.add_all(projects)
        s.flush()
        rows = []
        for i in range(problems):
            with workflow_write():
                rows.append(
                    Problem(
                        code=f"WT-2024-{i + 1:04d}",
                        project_id=projects[i % 40].id,
                        title=f"项目建设用地征收与手续办理受阻问题{i:03d}",
                        description="涉及房屋征收补偿标准未达成一致。" * 3,
                        category="land",
                        severity="major" if i % 7 == 0 else "general",
                        state="supervised",
                        level=["unit", "county_leader", "supervision_13710", "government_meeting"][i % 4],
                        light=["green", "blue", "yellow", "red"][i % 4],
                        responsible_unit_id=units[i % 8].id,
                        responsible_person_id=users[i % 100].id,
                        leader_id=users[(i + 1) % 100].id,
                        deadline=date(2024, 2, 19),
                        deploy_due=date(2024, 2, 9),
                        feedback_due=date(2024, 2, 14),
                        created_at=t0,
                        updated_at=t0,
                    )
                )
        s.add_all(rows)
        s.flush()
        items = [
            {
                "code": p.code,
                "title": p.title,
                "light": p.light,
                "level": p.level,
                "deadline": "2024-02-19",
                "unit": "蟒河镇",
                "state": p.state,
            }
            for p in rows[:20]
        ]
        payloads = {
            **SAMPLE_PAYLOADS,
            "digest": {"items": items},
            "dispatch": {"items": items[:5]},
        }
        # As the service writes them: one notice per recipient of an event, 1–4 recipients per event
        # (2.5 on average), events cycling through every kind and over the problems.
        notices, event = [], 0
        while len(notices) < count:
            kind = KINDS[event % len(KINDS)]
            problem = rows[(event * 7) % problems]
            for r in range(min(1 + event % 4, count - len(notices))):
                user = users[(event * 3 + r) % 100]
                notices.append(
                    Notice(
                        dedup_key=f"bench:{event}:{r}",
                        kind=kind,
                        problem_id=None if kind in ("digest", "dispatch") else problem.id,
                        level="supervision_13710" if kind == "escalation" else problem.level,
                        deadline=date(2024, 2, 19),
                        recipient_role=["responsible_person", "unit_head", "leader_in_charge", "inspection_office"][r],
                        recipient_login=user.login,
                        recipient_email=user.email,
                        status="pending",
                        created_at=t0 + timedelta(seconds=event),
                        next_attempt_at=t0,
                        payload=payloads.get(kind, {}),
                    )
                )
            event += 1
        s.add_all(notices)
        s.commit()
    engine.dispose()


def prerender(url: str, config) -> list[tuple[str, str, bytes]]:
    import sqlalchemy as sa

    from models.db import make_engine, session
    from models.tables import Notice
    from notifications.context import ContextLoader
    from notifications.render import render_content, to_bytes

    engine = make_engine(url)
    with session(engine) as s:
        notices = list(s.execute(sa.select(Notice).order_by(Notice.id)).scalars())
        loader = ContextLoader(s)
        loader.prefetch(notices)
        out = []
        for n in notices:
            r = render_content(s, n, config, loader=loader)
            out.append((config.mail_from, r.to_addr, to_bytes(r, config, eight_bit=config.eight_bit)))
    engine.dispose()
    return out


async def _pool_send(messages, port: int, concurrency: int) -> None:
    import aiosmtplib

    queue = list(reversed(messages))

    async def worker():
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="localhost", start_tls=False)
        await smtp.connect()
        while queue:
            sender, rcpt, data = queue.pop()
            await smtp.sendmail(sender, [rcpt], data, mail_options=MAIL_OPTIONS)
        await smtp.quit()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _reset_outbox(url: str) -> None:
    """Every notice back to pending, as it was before the first round."""
    import sqlalchemy as sa

    from models.db import make_engine
    from notifications.outbox import T

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            T.update().values(
                status="pending",
                attempts=0,
                sent_at=None,
                claimed_by=None,
                claimed_until=None,
                next_attempt_at=T.c.created_at,
                last_error="",
            )
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(T).where(T.c.status == "pending")).scalar()
    engine.dispose()


def _server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _round(url, port, parent, config, messages, count, server_pid) -> dict[str, tuple[float, float, float]]:
    """One round of the three timed runs; returns (wall s, client CPU s, server CPU s) per run. The
    server checks that every message arrived exactly once."""
    from models.db import make_engine
    from notifications.sender import deliver_pending

    def received() -> None:
        parent.send("stats")
        got, unique = parent.recv()
        assert got == unique == count, (got, unique)

    def timed(key, run) -> None:
        wall, cpu, srv = time.perf_counter(), time.process_time(), _server_cpu(server_pid)
        run()
        out[key] = (time.perf_counter() - wall, time.process_time() - cpu, _server_cpu(server_pid) - srv)
        received()

    def ours() -> None:
        engine = make_engine(url)
        stats = deliver_pending(engine, config, datetime(2024, 2, 9, tzinfo=UTC), "bench")
        engine.dispose()
        assert stats.sent == count, stats.as_dict()

    def baseline() -> None:
        for sender, rcpt, data in messages:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=30) as smtp:
                smtp.sendmail(sender, [rcpt], data, mail_options=MAIL_OPTIONS)

    out: dict[str, tuple[float, float, float]] = {}
    _reset_outbox(url)
    timed("ours", ours)
    timed("pool", lambda: asyncio.run(_pool_send(messages, port, config.concurrency)))
    timed("base", baseline)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3, help="repeat, report best and median (noisy machines)")
    args = ap.parse_args()

    from notifications.config import MailConfig

    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_server, args=(child,), daemon=True)
    proc.start()
    port = parent.recv()
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='duban-bench-')) / 'bench.db'}"
    try:
        build_outbox(url, args.count, args.problems)
        config = MailConfig(smtp_host="127.0.0.1", smtp_port=port, concurrency=args.concurrency, timeout=30)
        t = time.perf_counter()
        messages = prerender(url, config)  # for the reference and the baseline (not part of their time)
        render_s = time.perf_counter() - t
        rounds = [_round(url, port, parent, config, messages, args.count, proc.pid) for _ in range(args.rounds)]
    finally:
        parent.send("stop")
        proc.join(5)

    n = args.count
    keys = ("ours", "base", "pool")
    best = {k: n / min(r[k][0] for r in rounds) for k in keys}
    median = {k: n / statistics.median(r[k][0] for r in rounds) for k in keys}
    client = {k: statistics.median(r[k][1] for r in rounds) / n * 1000 for k in keys}
    server = {k: statistics.median(r[k][2] for r in rounds) / n * 1000 for k in keys}
    ratios = sorted(r["base"][0] / r["ours"][0] for r in rounds)
    label = {
        "ours": f"`deliver_pending`: claim + render + send ({args.concurrency} reused aiosmtplib connections) + record",
        "base": "baseline: same messages pre-rendered, `smtplib`, one connection per message",
        "pool": f"reference: same messages pre-rendered, {args.concurrency} reused aiosmtplib connections, "
        "no database, no rendering",
    }
    for key in keys:
        print(
            f"{label[key]}: best {best[key]:,.0f}/s, median {median[key]:,.0f}/s; CPU per notice: "
            f"client {client[key]:.2f} ms, server {server[key]:.2f} ms"
        )
    print(f"ratio ours/baseline per round: {', '.join(f'{x:.2f}x' for x in ratios)}")
    print()
    print(
        f"| run ({n:,} notices; {args.rounds} rounds) | best /s | median /s | client CPU ms/notice "
        "| server CPU ms/notice |"
    )
    print("|---|---:|---:|---:|---:|")
    for key in keys:
        print(f"| {label[key]} | {best[key]:,.0f} | {median[key]:,.0f} | {client[key]:.2f} | {server[key]:.2f} |")
    print(f"| render only (Jinja2 text + HTML → MIME bytes, one pass, no sending) | {n / render_s:,.0f} | | | |")
    print()
    print(
        f"Ratio `deliver_pending` / baseline: {statistics.median(ratios):.2f}× (median; rounds "
        f"{ratios[0]:.2f}–{ratios[-1]:.2f}×). aiosmtpd server in its own process on 127.0.0.1, SQLite outbox, "
        f"{n:,} notices averaging {sum(len(m[2]) for m in messages) / n / 1024:.1f} KiB "
        f"(multipart text + HTML, UTF-8 8-bit bodies); Python {platform.python_version()}, {os.cpu_count()} CPUs."
    )


if __name__ == "__main__":
    main()
