"""Evidence benchmark: upload and download a 10 MB photo (content check, SHA-256, EXIF, thumbnail, stored
with a note action) and a 10 MB PDF, on the embedded SQLite store (files under files/) and on PostgreSQL
(bytea in the blob table), against copying the same bytes to disk; and the thumbnail alone.

    .venv/bin/python bench/evidence.py                      # SQLite only
    DUBAN_TEST_PG=postgresql+psycopg://duban:duban@127.0.0.1:55432/postgres .venv/bin/python bench/evidence.py

Each figure is the median of ``--runs`` runs; each upload is a fresh file (different bytes), so nothing is
deduplicated. Every download is checked against the upload's SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import evidence_files as ef  # noqa: E402

MB = 1024 * 1024


def _pdf(megabytes: float, seed: int) -> bytes:
    """A valid PDF padded to about ``megabytes`` with a stream of random bytes."""
    base = ef.pdf(text=f"bench {seed}")
    pad = os.urandom(int(megabytes * MB) - len(base))
    return base.replace(b"%%EOF", b"%" + pad.hex().encode()[: len(pad)] + b"\n%%EOF", 1)


def _database(url: str | None, work: Path) -> tuple[str, callable]:
    if url is None:
        return f"sqlite:///{work / 'duban.db'}", lambda: None
    import sqlalchemy as sa

    name = f"duban_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.rsplit("/", 1)[0] + "/" + name, drop


def run(url: str | None, runs: int) -> dict[str, float]:
    from models.db import make_engine
    from service.attachments import Attachments
    from service.problems import ProblemService
    from workflow.rules import load_rules

    work = Path(tempfile.mkdtemp(prefix="duban-bench-"))
    db, drop = _database(url, work)
    env = {**os.environ, "DUBAN_DB": db, "DUBAN_MAIL_DIR": str(work / "mail")}
    subprocess.run([str(ROOT / ".venv/bin/duban"), "init", "--sample"], env=env, check=True, capture_output=True)
    engine = make_engine(db)
    os.environ.pop("DUBAN_FILES_DIR", None)
    try:
        rules = load_rules()
        svc = ProblemService(engine, rules, lambda: __import__("datetime").datetime.now().astimezone())
        files = Attachments(engine, svc.store)
        code = svc.engine.connect().exec_driver_sql("SELECT code FROM problem WHERE state='assigned' LIMIT 1").scalar()
        inspector = "zhang.dcs"  # the sample's inspection office
        out: dict[str, list[float]] = {"photo up": [], "photo down": [], "pdf up": [], "pdf down": [], "copy": []}
        for n in range(runs):
            for kind, data in (("photo", ef.noisy_photo(10, seed=n)), ("pdf", _pdf(10, n))):
                src = work / f"in-{kind}-{n}"
                src.write_bytes(data)
                t = time.perf_counter()
                with svc.store.batch() as batch:
                    batch.add_file(src, f"{kind}-{n}.{'jpg' if kind == 'photo' else 'pdf'}")
                    state = svc.act(inspector, code, "note", text="bench", attachments=batch)
                out[f"{kind} up"].append(time.perf_counter() - t)
                t = time.perf_counter()
                info, chunks = files.content(inspector, state.attachment_ids[0])
                digest = hashlib.sha256()
                with (work / f"out-{kind}-{n}").open("wb") as f:
                    for chunk in chunks:
                        digest.update(chunk)
                        f.write(chunk)
                out[f"{kind} down"].append(time.perf_counter() - t)
                assert digest.hexdigest() == hashlib.sha256(data).hexdigest() == info.sha256
            t = time.perf_counter()
            shutil.copyfile(src, work / f"copy-{n}")
            with (work / f"copy-{n}").open("rb") as f:
                os.fsync(f.fileno())
            out["copy"].append(time.perf_counter() - t)
        return {k: statistics.median(v) for k, v in out.items()}
    finally:
        engine.dispose()
        drop()
        shutil.rmtree(work, ignore_errors=True)


def thumbnail_time(runs: int) -> float:
    from PIL import Image

    from service.images import _thumbnail

    data = ef.noisy_photo(10)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        with Image.open(io.BytesIO(data)) as img:
            _thumbnail(img)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    targets = [("SQLite + files", None)]
    if os.environ.get("DUBAN_TEST_PG"):
        targets.append(("PostgreSQL bytea", os.environ["DUBAN_TEST_PG"]))
    print(f"10 MB files, median of {args.runs} runs (MB/s; seconds)")
    for name, url in targets:
        r = run(url, args.runs)
        for k, v in r.items():
            print(f"  {name:18} {k:10} {10 / v:8.1f} MB/s  {v:7.3f} s")
    print(f"  thumbnail of a 10 MB JPEG ({ef.noisy_photo.__name__}): {thumbnail_time(args.runs):.3f} s")


if __name__ == "__main__":
    main()
