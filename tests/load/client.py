"""A web client for the load test: random acks, feedback, notes and resolutions through the JSON API.

Run as ``python tests/load/client.py BASE_URL TOKEN SEED OUT.jsonl CODES_FILE STEPS``; writes one line per
attempted action with its outcome, so the test can check that every accepted action is in the audit log
exactly once and that no update was lost.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import httpx

ACTIONS = [("ack", "text"), ("feedback", "text"), ("note", "text"), ("resolve", "resolution")]


def main(base: str, token: str, seed: int, out: str, codes: list[str], steps: int) -> None:
    rng = random.Random(seed)
    with (
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client,
        open(out, "w", encoding="utf-8") as log,
    ):
        for i in range(steps):
            code = rng.choice(codes)
            action, field = rng.choice(ACTIONS)
            text = f"客户端{seed}-{i}：{action}"
            r = client.post(f"/api/v1/problems/{code}/transitions/{action}", json={field: text})
            body = r.json()
            assert r.status_code < 500, (r.status_code, body)
            result = (
                {"ok": True, "version": body["version"]}
                if r.status_code == 200
                else {"ok": False, "error": body["code"]}
            )
            log.write(json.dumps({"code": code, "action": action, "text": text, **result}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    base, token, seed, out, codes_file, steps = sys.argv[1:7]
    main(base, token, int(seed), out, Path(codes_file).read_text().split(), int(steps))
