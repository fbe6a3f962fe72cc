"""A concurrent client for the load test: random acks, feedback, notes and resolutions at simulated times.

Run as ``python tests/load/client.py DB_URL SEED OUT.jsonl``; writes one line per attempted action with its
outcome, so the test can check that every accepted action is in the audit log exactly once and that no
update was lost.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.db import make_engine  # noqa: E402
from service.problems import ProblemService  # noqa: E402
from workflow.errors import DubanError  # noqa: E402
from workflow.rules import load_rules  # noqa: E402

ACTIONS = [("ack", "text"), ("feedback", "text"), ("note", "text"), ("resolve", "resolution")]


def main(url: str, seed: int, out: str, codes: list[str], start: str, steps: int) -> None:
    rng = random.Random(seed)
    moment = [datetime.fromisoformat(start).replace(tzinfo=ZoneInfo("Asia/Shanghai"))]
    svc = ProblemService(make_engine(url), load_rules(), lambda: moment[0])
    with open(out, "w", encoding="utf-8") as log:
        for i in range(steps):
            moment[0] += timedelta(minutes=rng.randint(5, 60))
            code = rng.choice(codes)
            action, field = rng.choice(ACTIONS)
            text = f"客户端{seed}-{i}：{action}"
            try:
                p = svc.act("head", code, action, **{field: text})
                result = {"ok": True, "version": p.version}
            except DubanError as exc:
                result = {"ok": False, "error": exc.code}
            log.write(json.dumps({"code": code, "action": action, "text": text, **result}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    url, seed, out, codes_file, start, steps = sys.argv[1:7]
    main(url, int(seed), out, Path(codes_file).read_text().split(), start, int(steps))
