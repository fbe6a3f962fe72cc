"""Several ``duban`` processes at once, each writing its output to files rather than pipes.

With pipes, a test that waits for the processes one by one leaves the others' pipes undrained: one that
logs more than a pipe holds (64 KiB) blocks in ``write`` — possibly inside a database transaction, where
the process being waited for then waits on its locks. Files never fill."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


class Launched:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, name: str):
        self.out, self.err = Path(cwd) / f"{name}.stdout", Path(cwd) / f"{name}.stderr"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=err)

    def wait(self, timeout: float) -> Finished:
        self.proc.wait(timeout=timeout)
        return Finished(self.proc.returncode, self.out.read_text("utf-8"), self.err.read_text("utf-8"))
