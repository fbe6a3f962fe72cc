"""Benchmark: work-group robot delivery against a plain httpx loop, and merging a morning's backlog.

    python bench/channels.py [--count 2000] [--concurrency 1 8] [--rounds 3] [--robots 1 8]
                             [--outbox 2000] [--backlog 10000]

A WeCom test robot server (tests/channel_servers.py, rate limit off, one robot per key) runs on 127.0.0.1
in its own process. The machine's load average is printed beside every figure; each comparison runs both
sides in the same process, alternating, so that load from elsewhere falls on both alike.

1. Channel layer. ``WeComChannel.send`` (format: escape, truncate by bytes, JSON; POST; classify the answer)
   against ``AsyncClient.post`` of the same bodies rendered beforehand (not timed), ``errcode == 0``
   checked. ``concurrency`` tasks, alternating every 100 messages; median round.
2. The sender, end to end. ``deliver_channels`` (SQLite outbox: claim → render from the database → send →
   record, rate limit off) for ``--outbox`` notices spread over ``--robots`` group robots, against a plain
   httpx loop posting the very bodies the sender posted (captured by the robot in a warm-up run), one loop
   per robot — a robot takes one message at a time in both. Rounds alternate; median round.
3. A morning's backlog. ``--backlog`` notices held overnight for 20 unit groups, delivered when the window
   opens (Monday 08:30): ``merge.plan`` alone, then ``deliver_channels`` end to end (merged per group and
   kind, at most 10 to a message), against the same notices created inside the window (one message each).

Goal: (1) and (2) ≥ 0.8 × their baseline. The robot's accepted count is checked (exactly once).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # bench/notices.py's outbox

import httpx  # noqa: E402

from notifications.channels.base import ChannelMessage  # noqa: E402
from notifications.channels.wecom import WeComChannel, WeComConfig  # noqa: E402
from tests.channel_servers import WeComRobotServer  # noqa: E402

KINDS = ["assignment", "warning", "reminder", "overdue", "escalation", "review", "sent_back", "closed"]
BLOCK = 100  # messages per alternation
UNITS = ["自然资源局", "住建局", "发改局", "蟒河镇", "开发区", "行政审批局", "交通局", "水务局"]


def messages(count: int) -> list[ChannelMessage]:
    out = []
    for i in range(count):
        unit = UNITS[i % len(UNITS)]
        body = f"{unit}负责的第 {i} 号问题：项目用地预审尚未完成，请于 3 个工作日内反馈办理情况 *加急* <注意>。\n"
        repeat = 60 if i % 10 == 0 else 1 + i % 5  # one in ten is long enough to be truncated
        out.append(
            ChannelMessage(
                title=f"关于“{unit}第 {i} 号问题”的督办通知",
                text=body * repeat,
                url=f"https://duban.example.gov.cn/problems/WT-2024-{i:04d}",
                kind=KINDS[i % len(KINDS)],
            )
        )
    return out


async def send_channel(client: httpx.AsyncClient, channel: WeComChannel, block: list, concurrency: int) -> float:
    items = iter(block)

    async def worker():
        for message in items:
            result = await channel.send(client, message)
            if not result.ok:
                raise RuntimeError(result.reason)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def send_baseline(client: httpx.AsyncClient, url: str, block: list[bytes], concurrency: int) -> float:
    items = iter(block)
    headers = {"Content-Type": "application/json; charset=utf-8"}

    async def worker():
        for body in items:
            response = await client.post(url, content=body, headers=headers)
            if response.json()["errcode"] != 0:
                raise RuntimeError(response.text)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def measure(url: str, count: int, concurrency: int, rounds: int) -> tuple[list[float], list[float]]:
    """msg/s of each round for the channel and the baseline. Within a round the two alternate block by block
    (who goes first alternates too), so that load from elsewhere on the machine falls on both alike."""
    channel = WeComChannel(WeComConfig(url, allow_http=True))
    batch = messages(count)
    bodies = [channel.body(m) for m in batch]  # the baseline's pre-rendered bodies (not timed)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    ours, base = [], []
    async with httpx.AsyncClient(limits=limits) as client:
        await send_baseline(client, url, bodies[:50], concurrency)  # open the connections
        await send_channel(client, channel, batch[:50], concurrency)
        for _ in range(rounds):
            t_ours = t_base = 0.0
            for i, start in enumerate(range(0, count, BLOCK)):
                block = slice(start, start + BLOCK)
                if i % 2:
                    t_base += await send_baseline(client, url, bodies[block], concurrency)
                    t_ours += await send_channel(client, channel, batch[block], concurrency)
                else:
                    t_ours += await send_channel(client, channel, batch[block], concurrency)
                    t_base += await send_baseline(client, url, bodies[block], concurrency)
            ours.append(count / t_ours)
            base.append(count / t_base)
    return ours, base


def serve(conn) -> None:
    """The test robot in its own process. Commands: ``("add", key)`` → url; ``("count",)`` → messages
    accepted; ``("bodies",)`` → the accepted requests as (key, body); ``("reset",)``; ``("stop",)``."""
    with WeComRobotServer(rate_limit=None) as server:
        while True:
            command, *args = conn.recv()
            if command == "stop":
                break
            if command == "add":
                conn.send(server.add_robot(args[0]))
            elif command == "count":
                conn.send(len(server.accepted))
            elif command == "bodies":
                with server.lock:
                    conn.send([(r.query["key"][0], r.body) for r in server.requests])
            elif command == "reset":
                with server.lock:
                    server.requests.clear()
                    server.accepted.clear()
                conn.send(None)


class Robot:
    def __init__(self) -> None:
        self.conn, child = mp.Pipe()
        self.process = mp.Process(target=serve, args=(child,), daemon=True)
        self.process.start()

    def ask(self, *command):
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop",))
        self.process.join(5)


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


# -- 1. the channel layer ---------------------------------------------------------------------------------
def layer(robot: Robot, args) -> list[tuple[int, float, float, str]]:
    url = robot.ask("add", "bench-robot-key-0001")
    rows = []
    for concurrency in args.concurrency:
        robot.ask("reset")
        ours, base = asyncio.run(measure(url, args.count, concurrency, args.rounds))
        rows.append((concurrency, statistics.median(ours), statistics.median(base), load()))
        print(
            f"  concurrency {concurrency}: channel {[round(x) for x in ours]} baseline {[round(x) for x in base]} msg/s"
        )
        if robot.ask("count") != 2 * args.count * args.rounds + 100:
            raise SystemExit("the robot did not accept every message exactly once")
    return rows


# -- 2. and 3.: the sender on a SQLite outbox ------------------------------------------------------------
MONDAY = datetime(2024, 1, 8, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai: inside the window
OPENING = datetime(2024, 1, 8, 0, 30, tzinfo=UTC)  # 08:30: the window opens
NIGHT = datetime(2024, 1, 7, 12, 0, tzinfo=UTC)  # Sunday 20:00: held until Monday
ROBOT_KINDS = ["assignment", "warning", "reminder", "overdue", "escalation", "review", "sent_back", "closed"]


def build_county(url: str, robot: Robot, groups: int) -> list[int]:
    """The outbox of bench/notices.py (units, people, 200 problems; no notices yet) and ``groups`` units each
    with its WeCom group robot; returns the channels' ids."""
    from notices import build_outbox

    from models.db import make_engine, session
    from models.delivery import NoticeChannel
    from models.tables import Unit

    build_outbox(url, 0, 200)
    engine = make_engine(url)
    ids = []
    with session(engine) as s:
        for i in range(groups):
            unit = Unit(code=f"g{i}", name=f"第{i}工作组", kind="department")
            s.add(unit)
            s.flush()
            key = str(uuid.UUID(int=i + 1))
            channel = NoticeChannel(
                name=f"第{i}工作组群", kind="wecom", address=robot.ask("add", key), unit_id=unit.id, created_at=NIGHT
            )
            s.add(channel)
            s.flush()
            ids.append(channel.id)
        s.commit()
    engine.dispose()
    return ids


def fill(url: str, channels: list[int], count: int, created: datetime) -> None:
    """``count`` group notices, round-robin over ``channels`` and the kinds, as the service writes them."""
    import sqlalchemy as sa
    from notices import SAMPLE_PAYLOADS

    from models.db import make_engine
    from models.tables import Notice, table_of

    t = table_of(Notice)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(t.delete())
        rows = []
        for i in range(count):
            kind = ROBOT_KINDS[(i // len(channels)) % len(ROBOT_KINDS)]
            rows.append(
                {
                    "dedup_key": f"bench:{i}",
                    "kind": kind,
                    "problem_id": 1 + (i * 7) % 200,
                    "level": "supervision_13710",
                    "deadline": date(2024, 2, 19),
                    "recipient_role": "unit_group",
                    "channel": "wecom",
                    "channel_id": channels[i % len(channels)],
                    "status": "pending",
                    "attempts": 0,
                    "created_at": created + timedelta(seconds=i % 3600),
                    "next_attempt_at": created,
                    "payload": SAMPLE_PAYLOADS.get(kind, {}),
                }
            )
        conn.execute(sa.insert(t), rows)
    engine.dispose()


def run_sender(url: str, now: datetime, hours) -> tuple[float, object]:
    from models.db import make_engine
    from notifications.channel_config import ChannelSettings
    from notifications.channel_sender import deliver_channels

    settings = ChannelSettings(base_url="https://duban.example.gov.cn", rate_limit=0, allow_http=True)
    engine = make_engine(url)
    started = time.perf_counter()
    stats = deliver_channels(engine, settings, now, "bench", office_hours=hours)
    elapsed = time.perf_counter() - started
    engine.dispose()
    if stats.failed or stats.retried:
        raise SystemExit(f"the sender failed or retried: {stats}")
    return elapsed, stats


async def post_bodies(urls: dict[str, str], bodies: list[tuple[str, bytes]]) -> float:
    """One plain loop per robot posting its bodies in order (robots in parallel, as the sender does)."""
    per_robot: dict[str, list[bytes]] = {}
    for key, body in bodies:
        per_robot.setdefault(key, []).append(body)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    gate = asyncio.Semaphore(8)  # the sender's default concurrency
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def loop(key: str, items: list[bytes]) -> None:
            async with gate:
                for body in items:
                    response = await client.post(urls[key], content=body, headers=headers)
                    if response.json()["errcode"] != 0:
                        raise RuntimeError(response.text)

        started = time.perf_counter()
        await asyncio.gather(*(loop(key, items) for key, items in per_robot.items()))
        return time.perf_counter() - started


def sender(robot: Robot, workdir: Path, args, hours) -> list[tuple]:
    rows = []
    for groups in args.robots:
        url = f"sqlite:///{workdir / f'sender{groups}.db'}"
        channels = build_county(url, robot, groups)
        keys = {str(uuid.UUID(int=i + 1)): "" for i in range(groups)}
        fill(url, channels, args.outbox, MONDAY)
        robot.ask("reset")
        run_sender(url, MONDAY, hours)  # warm-up, and the bodies it posts
        bodies = robot.ask("bodies")
        base_url = robot.ask("add", next(iter(keys))).split("?")[0]
        urls = {key: f"{base_url}?key={key}" for key in keys}
        ours, base = [], []
        for r in range(args.rounds):
            fill(url, channels, args.outbox, MONDAY)
            t_base = asyncio.run(post_bodies(urls, bodies)) if r % 2 else None
            t_ours, stats = run_sender(url, MONDAY, hours)
            if t_base is None:
                t_base = asyncio.run(post_bodies(urls, bodies))
            if stats.sent != args.outbox or stats.messages != args.outbox:
                raise SystemExit(f"sender: {stats}")
            ours.append(args.outbox / t_ours)
            base.append(args.outbox / t_base)
        if robot.ask("count") != args.outbox * (2 * args.rounds + 1):
            raise SystemExit("the robot did not accept every message exactly once")
        print(f"  {groups} robot(s): sender {[round(x) for x in ours]} baseline {[round(x) for x in base]} msg/s")
        rows.append((groups, statistics.median(ours), statistics.median(base), load()))
    return rows


def backlog(robot: Robot, workdir: Path, args, hours) -> dict:
    """A morning's backlog: held overnight and merged at 08:30, against the same notices unmerged."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from models.db import make_engine
    from models.tables import Notice
    from notifications import brief, merge

    url = f"sqlite:///{workdir / 'backlog.db'}"
    channels = build_county(url, robot, 20)
    fill(url, channels, args.backlog, NIGHT)
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.execute(sa.select(Notice).order_by(Notice.id)).scalars())
    engine.dispose()
    held = hours.held_since(OPENING)
    plans = []
    for _ in range(5):
        started = time.perf_counter()
        planned = merge.plan(rows, held, lambda r: r.channel_id, brief.MERGE_MAX)
        plans.append(time.perf_counter() - started)
    out = {"plan_ms": statistics.median(plans) * 1000, "plan_messages": len(planned), "plan_load": load()}
    robot.ask("reset")
    merged_t, merged = run_sender(url, OPENING, hours)
    out |= {"merged_s": merged_t, "merged": merged, "merged_load": load()}
    fill(url, channels, args.backlog, MONDAY)  # the same notices, created inside the window: one message each
    single_t, single = run_sender(url, MONDAY + timedelta(minutes=1), hours)
    out |= {"single_s": single_t, "single": single, "single_load": load()}
    if robot.ask("count") != merged.messages + single.messages or single.sent != args.backlog != merged.sent:
        raise SystemExit("backlog: not every notice delivered exactly once")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--robots", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--outbox", type=int, default=2000)
    parser.add_argument("--backlog", type=int, default=10000)
    args = parser.parse_args()

    from workflow.rules import load_rules

    hours = load_rules().office_hours()
    robot = Robot()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"1. channel layer ({load()})")
            layer_rows = layer(robot, args)
            print(f"2. sender end to end ({load()})")
            sender_rows = sender(robot, Path(tmp), args, hours)
            print(f"3. backlog ({load()})")
            back = backlog(robot, Path(tmp), args, hours)
    finally:
        robot.stop()

    print()
    print(f"Python {platform.python_version()}, httpx {httpx.__version__}, {platform.machine()}, {os.cpu_count()} CPUs")
    print()
    print(f"1. WeComChannel.send vs httpx post of the same bodies — {args.count} messages × {args.rounds} rounds")
    print()
    print("| concurrency | WeComChannel.send msg/s | httpx post msg/s | ratio | load average (1/5/15 min) |")
    print("|---:|---:|---:|---:|---|")
    for concurrency, ours, base, when in layer_rows:
        print(f"| {concurrency} | {ours:,.0f} | {base:,.0f} | {ours / base:.2f} | {when[5:]} |")
    channel = WeComChannel(WeComConfig("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=bench-robot-key-0001"))
    batch = messages(args.count)
    started = time.perf_counter()
    for m in batch:
        channel.body(m)
    per_message = (time.perf_counter() - started) / args.count * 1e6
    print(f"\nformatting alone (escape, truncate by bytes, JSON): {per_message:.0f} µs per message")
    print()
    print(f"2. deliver_channels vs httpx loops posting its bodies — {args.outbox} notices × {args.rounds} rounds")
    print()
    print("| robots | deliver_channels msg/s | httpx loop msg/s | ratio | load average (1/5/15 min) |")
    print("|---:|---:|---:|---:|---|")
    for groups, ours, base, when in sender_rows:
        print(f"| {groups} | {ours:,.0f} | {base:,.0f} | {ours / base:.2f} | {when[5:]} |")
    print()
    m, s1 = back["merged"], back["single"]
    print(f"3. a morning's backlog of {args.backlog:,} notices for 20 unit groups")
    print()
    print("| run | notices | messages | seconds | notices/s | load average |")
    print("|---|---:|---:|---:|---:|---|")
    print(
        f"| merge.plan alone (pure, rows in memory) | {args.backlog:,} | {back['plan_messages']:,} | "
        f"{back['plan_ms'] / 1000:.3f} | {args.backlog / back['plan_ms'] * 1000:,.0f} | {back['plan_load'][5:]} |"
    )
    print(
        f"| deliver_channels at 08:30, held overnight (merged) | {m.sent:,} | {m.messages:,} | "
        f"{back['merged_s']:.1f} | {m.sent / back['merged_s']:,.0f} | {back['merged_load'][5:]} |"
    )
    print(
        f"| deliver_channels, same notices inside the window (one each) | {s1.sent:,} | {s1.messages:,} | "
        f"{back['single_s']:.1f} | {s1.sent / back['single_s']:,.0f} | {back['single_load'][5:]} |"
    )
    worst = min([o / b for _, o, b, _ in layer_rows] + [o / b for _, o, b, _ in sender_rows])
    print()
    print(f"goal ≥ 0.80 × baseline: {'met' if worst >= 0.8 else 'NOT met'} (worst ratio {worst:.2f})")


if __name__ == "__main__":
    main()
