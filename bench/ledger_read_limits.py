"""Peak memory and time of ``reports.ledger_read.read_ledger`` on the worst files the default limits let in
(and a few they refuse), each read in a fresh subprocess whose peak RSS comes from resource.getrusage.

    .venv/bin/python bench/ledger_read_limits.py            # every case (builds ~100 MB of files)
    .venv/bin/python bench/ledger_read_limits.py bomb csv   # some

Files are built under var/bench/read-limits/ (git-ignored) and kept for the next run. Each is built in its
own process too: Linux carries a parent's peak RSS over fork and exec into ru_maxrss, so the measuring
child must come from this lean process, not from one that has just built a file. The child also reports
VmHWM (/proc/self/status), which starts afresh at exec, as a cross-check.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reports.columns import COLUMNS, col_letter  # noqa: E402
from reports.read_limits import ReadLimits  # noqa: E402
from tests.security import hostile  # noqa: E402

OUT = ROOT / "var" / "bench" / "read-limits"
LIMITS = ReadLimits()
HEADERS = [c.header for c in COLUMNS]
WIDE = HEADERS + [f"备注{i}" for i in range(LIMITS.max_columns - len(HEADERS))]  # 64 headers, 36 unknown
WIDE[-1], WIDE[len(HEADERS) - 1] = WIDE[len(HEADERS) - 1], WIDE[-1]  # a known header in the last column


def _cjk(rnd: random.Random, n: int) -> str:
    return "".join(chr(0x4E00 + rnd.randrange(20_000)) for _ in range(n))


def _zip_sheet(path: Path, rows, strings: list[str] | None = None) -> Path:
    """Stream ``rows`` (an iterable of <row> XML strings) into sheet1.xml of an otherwise minimal workbook."""
    members = hostile.parts(hostile.sheet(""), strings)
    del members["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, data in members.items():
            z.writestr(name, data)
        head, tail = hostile.sheet("").split("<sheetData>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write((head + "<sheetData>").encode())
            for row in rows:
                f.write(row.encode())
            f.write(tail.encode())
    return path


def _inline_row(n: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{col_letter(i)}{n}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values) if v
    )
    return f'<row r="{n}">{cells}</row>'


def build_bomb(path: Path) -> Path:
    return hostile.whitespace_bomb(path)


def _fit(build, path: Path) -> Path:
    """Build with the most rows allowed; if the file is over the size limit, rebuild with fewer to fit."""
    rows = LIMITS.max_rows
    while build(path, rows).stat().st_size > LIMITS.max_file_bytes:
        rows = int(rows * LIMITS.max_file_bytes / path.stat().st_size * 0.98)
    return path


def build_shared(path: Path, rows_wanted: int = LIMITS.max_rows) -> Path:
    """The most shared strings allowed (1,000,000 distinct 8-character strings) and the widest rows (64
    columns), each cell a random one of them: as many rows as fit in the file size limit."""
    rnd = random.Random(1)
    strings = WIDE + [f"{i:08d}" for i in range(LIMITS.max_shared_strings - len(WIDE))]
    header = "".join(f'<c r="{col_letter(i)}1" t="s"><v>{i}</v></c>' for i in range(len(WIDE)))

    def rows():
        yield f'<row r="1">{header}</row>'
        for n in range(2, rows_wanted + 1):
            cells = "".join(
                f'<c r="{col_letter(i)}{n}" t="s"><v>{rnd.randrange(len(strings))}</v></c>' for i in range(len(WIDE))
            )
            yield f'<row r="{n}">{cells}</row>'

    return _zip_sheet(path, rows(), strings)


def build_inline(path: Path, rows_wanted: int = LIMITS.max_rows) -> Path:
    """Inline strings, distinct in every cell: 64 columns of random 2-character Chinese text."""
    rnd = random.Random(2)

    def rows():
        yield _inline_row(1, WIDE)
        for n in range(2, rows_wanted + 1):
            yield _inline_row(n, [_cjk(rnd, 2) for _ in WIDE])

    return _zip_sheet(path, rows())


def build_ledger(path: Path, rows_wanted: int = LIMITS.max_rows) -> Path:
    """A ledger like duban's own export: 28 columns, Chinese titles and descriptions."""
    rnd = random.Random(3)

    def rows():
        yield _inline_row(1, HEADERS)
        for n in range(2, rows_wanted + 2):
            values = [_cjk(rnd, 6) if c.kind != "wrap" else _cjk(rnd, 40) for c in COLUMNS]
            yield _inline_row(n, values)

    return _zip_sheet(path, rows())


def build_junk(path: Path) -> Path:
    """50 MiB of random two-letter elements nobody reads (compressible enough to pass the ratio check)."""
    rnd = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def rows():
        yield "</sheetData><extLst>"
        for _ in range(50 * 256):
            yield "".join(f"<{rnd.choice(letters)}{rnd.choice(letters)}/>" for _ in range(4096 // 5))
        yield "</extLst><sheetData>"

    return _zip_sheet(path, rows())


def build_long_shared(path: Path) -> Path:
    """The most shared-string text allowed: ~31 million random letters in strings of 30,000."""
    rnd = random.Random(6)
    letters = "abcdefghijklmnopqrstuvwxyz"
    strings = hostile.HEADER + [
        "".join(rnd.choices(letters, k=30_000)) for _ in range(LIMITS.max_shared_chars // 30_000 - 1)
    ]
    header = "".join(f'<c r="{col_letter(i)}1" t="s"><v>{i}</v></c>' for i in range(3))
    rows = [f'<row r="1">{header}</row>']
    return _zip_sheet(path, rows, strings)


def build_amplified(path: Path) -> Path:
    """64 distinct random 32,000-character shared strings, each column of 20,000 rows referring to one."""
    rnd = random.Random(7)
    strings = WIDE + [_cjk(rnd, 32_000) for _ in WIDE]
    header = "".join(f'<c r="{col_letter(i)}1" t="s"><v>{i}</v></c>' for i in range(len(WIDE)))

    def rows():
        yield f'<row r="1">{header}</row>'
        for n in range(2, 20_001):
            cells = "".join(f'<c r="{col_letter(i)}{n}" t="s"><v>{len(WIDE) + i}</v></c>' for i in range(len(WIDE)))
            yield f'<row r="{n}">{cells}</row>'

    return _zip_sheet(path, rows(), strings)


def build_csv(path: Path) -> Path:
    """A CSV just under the CSV size limit: 64 columns of short random cells, as many rows as fit."""
    rnd = random.Random(4)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(WIDE) + "\n")
        size, n = 0, 1
        while n < LIMITS.max_rows:
            line = ",".join(_cjk(rnd, 2) for _ in WIDE) + "\n"
            size += len(line.encode())
            if size > LIMITS.max_csv_bytes - 1024:
                break
            f.write(line)
            n += 1
    return path


CASES = {
    "bomb": (build_bomb, "bomb.xlsx"),
    "shared": (lambda p: _fit(build_shared, p), "shared.xlsx"),
    "inline": (lambda p: _fit(build_inline, p), "inline.xlsx"),
    "ledger": (lambda p: _fit(build_ledger, p), "ledger.xlsx"),
    "junk": (build_junk, "junk.xlsx"),
    "long_shared": (build_long_shared, "long-shared.xlsx"),
    "amplified": (build_amplified, "amplified.xlsx"),
    "csv": (build_csv, "wide.csv"),
}

PROBE = """
import json, resource, sys, time
from pathlib import Path
from reports.ledger_read import read_ledger
from workflow.errors import DubanError
t, r0 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
try:
    sheet = read_ledger(Path(sys.argv[1]))
    result = f"{len(sheet.rows)} rows, {len(sheet.issues)} issues"
except DubanError as exc:
    result = "refused: " + exc.message[:90]
r = resource.getrusage(resource.RUSAGE_SELF)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"result": result, "seconds": round(time.monotonic() - t, 1), "hwm_mb": round(hwm / 1024),
                  "cpu": round(r.ru_utime + r.ru_stime - r0.ru_utime - r0.ru_stime, 1),
                  "peak_mb": round(r.ru_maxrss / 1024), "start_mb": round(r0.ru_maxrss / 1024)}, ensure_ascii=False))
"""


def measure(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", "import reports.ledger_read\n" + PROBE, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(out.stdout)


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    print("| case | file | result | peak RSS (ru_maxrss) | VmHWM | after imports | seconds | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names or list(CASES):
        path = OUT / CASES[name][1]
        if not path.exists():
            subprocess.run([sys.executable, __file__, "--build", name], check=True)
        m = measure(path)
        size = path.stat().st_size / (1 << 20)
        print(
            f"| {name} | {size:.1f} MiB | {m['result']} | {m['peak_mb']} MB | {m['hwm_mb']} MB | {m['start_mb']} MB | "
            f"{m['seconds']} | {m['cpu']} |",
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build, filename = CASES[sys.argv[2]]
        build(OUT / filename)
    else:
        main(sys.argv[1:])
