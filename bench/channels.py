"""Benchmark: messages per second through the WeCom channel against a plain httpx loop, same process, same robot.

    python bench/channels.py [--count 2000] [--concurrency 1 8] [--rounds 3]

A WeCom test robot (tests/channel_servers.py, rate limit off) runs on 127.0.0.1 in its own process.

1. ``WeComChannel.send``: format the message (escape, truncate by bytes), encode JSON, POST, read and
   classify the answer — what a delivery worker calls for each notice.
2. Baseline: the same bodies, rendered beforehand (not timed), posted with ``AsyncClient.post`` and only
   ``errcode == 0`` checked.

Both run in this process over one ``httpx.AsyncClient``; ``concurrency`` tasks send in parallel. The two
alternate every 100 messages so that a noisy machine hurts both alike; the median round is reported. The robot's accepted
count is checked against the messages sent (exactly once). Goal: channel ≥ 0.8 × baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

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
    """The test robot in its own process: answers ``url``, then ``accepted`` counts until ``stop``."""
    with WeComRobotServer(rate_limit=None) as server:
        conn.send(server.add_robot("bench-robot-key-0001"))
        while conn.recv() != "stop":
            conn.send(len(server.accepted))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    parent, child = mp.Pipe()
    robot = mp.Process(target=serve, args=(child,), daemon=True)
    robot.start()
    url = parent.recv()
    rows = []
    try:
        for concurrency in args.concurrency:
            ours, base = asyncio.run(measure(url, args.count, concurrency, args.rounds))
            rows.append((concurrency, statistics.median(ours), statistics.median(base)))
            print(
                f"concurrency {concurrency}: channel {[round(x) for x in ours]} baseline {[round(x) for x in base]} msg/s"
            )
        parent.send("count")
        expected = sum(2 * args.count * args.rounds + 100 for _ in args.concurrency)
        if parent.recv() != expected:
            raise SystemExit("the robot did not accept every message exactly once")
    finally:
        parent.send("stop")
        robot.join(5)
    print(f"WeCom channel vs plain httpx — {args.count} messages × {args.rounds} rounds, median round")
    print(f"Python {platform.python_version()}, httpx {httpx.__version__}, {platform.machine()}")
    print()
    print("| concurrency | WeComChannel.send msg/s | httpx post msg/s | ratio |")
    print("|---:|---:|---:|---:|")
    for concurrency, ours, base in rows:
        print(f"| {concurrency} | {ours:,.0f} | {base:,.0f} | {ours / base:.2f} |")
    channel = WeComChannel(WeComConfig(url, allow_http=True))
    batch = messages(args.count)
    started = time.perf_counter()
    for m in batch:
        channel.body(m)
    per_message = (time.perf_counter() - started) / args.count * 1e6
    print()
    print(f"formatting alone (escape, truncate by bytes, JSON): {per_message:.0f} µs per message")
    worst = min(ours / base for _, ours, base in rows)
    print()
    print(f"goal ≥ 0.80 × baseline: {'met' if worst >= 0.8 else 'NOT met'} (worst ratio {worst:.2f})")


if __name__ == "__main__":
    main()
