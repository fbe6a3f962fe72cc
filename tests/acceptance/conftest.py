"""Drive the installed ``duban`` command as a subprocess, on an SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import backends

DUBAN = Path(sys.executable).with_name("duban")


class Duban:
    def __init__(self, db_url: str, cwd: Path):
        self.db = db_url
        self.cwd = cwd

    def dump(self) -> dict:
        """Every row of every table."""
        return backends.dump(self.db)

    def copy_to(self, tmp_path: Path) -> Duban:
        return Duban(backends.copy_database(self.db, tmp_path), tmp_path)

    def __call__(self, *args: str, at: str | None = None, user: str | None = "admin", ok: bool = True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        env["DUBAN_DB"] = self.db
        env["DUBAN_MAIL_DIR"] = str(self.cwd / "mail")
        if at:
            env["DUBAN_NOW"] = at
        if user:
            env["DUBAN_USER"] = user
        result = subprocess.run([str(DUBAN), *args], capture_output=True, text=True, env=env, cwd=self.cwd, timeout=120)
        if ok and result.returncode != 0:
            raise AssertionError(
                f"duban {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        if not ok:
            assert result.returncode != 0, f"duban {' '.join(args)} should have failed:\n{result.stdout}"
            assert "Traceback" not in result.stderr + result.stdout
            assert result.stderr.startswith("错误："), result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result

    def json(self, *args: str, **kw):
        return json.loads(self(*args, "--json", **kw).stdout)


@pytest.fixture
def duban(db_url, tmp_path):
    return Duban(db_url, tmp_path)
