"""Drive the installed ``duban`` command as a subprocess against a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DUBAN = Path(sys.executable).with_name("duban")


class Duban:
    def __init__(self, tmp_path: Path):
        self.path = tmp_path / "duban.db"
        self.db = f"sqlite:///{self.path}"
        self.cwd = tmp_path

    def dump(self) -> dict:
        """Every row of every table, read straight from the SQLite file."""
        import sqlite3

        con = sqlite3.connect(self.path)
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
        finally:
            con.close()

    def copy_to(self, tmp_path: Path) -> "Duban":
        import sqlite3

        other = Duban(tmp_path)
        src, dst = sqlite3.connect(self.path), sqlite3.connect(other.path)
        src.backup(dst)
        src.close()
        dst.close()
        return other

    def __call__(self, *args: str, at: str | None = None, user: str | None = "admin", ok: bool = True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        env["DUBAN_DB"] = self.db
        if at:
            env["DUBAN_NOW"] = at
        if user:
            env["DUBAN_USER"] = user
        result = subprocess.run([str(DUBAN), *args], capture_output=True, text=True, env=env, cwd=self.cwd,
                                timeout=60)
        if ok and result.returncode != 0:
            raise AssertionError(f"duban {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        if not ok:
            assert result.returncode != 0, f"duban {' '.join(args)} should have failed:\n{result.stdout}"
            assert "Traceback" not in result.stderr + result.stdout
            assert result.stderr.startswith("错误："), result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result

    def json(self, *args: str, **kw):
        return json.loads(self(*args, "--json", **kw).stdout)


@pytest.fixture
def duban(tmp_path):
    return Duban(tmp_path)
