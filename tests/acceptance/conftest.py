"""Drive the ``duban`` command line on an SQLite file and on PostgreSQL.

By default a call runs the real entry point in this process — ``cli.main(argv)`` with the call's
environment (DUBAN_DB, DUBAN_USER, DUBAN_NOW, DUBAN_MAIL_DIR) and working directory, stdout and stderr
captured — which checks the same things as a process (exit code, output, one Chinese error line, no
traceback) without starting Python and importing SQLAlchemy for every command. Tests whose point is the
process itself (start-up, ``--help`` staying light, signals) ask for the installed ``duban`` script:
``@pytest.mark.subprocess`` on the test, ``Duban(..., subprocess=True)``, or ``DUBAN_TEST_SUBPROCESS=1``
for a whole run.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import backends
from tests.evidence_files import rules_file_without_evidence

DUBAN = Path(sys.executable).with_name("duban")


@dataclass
class Result:
    """What a ``duban`` call did, in-process or not (the fields of ``subprocess.CompletedProcess``)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


class Duban:
    def __init__(self, db_url: str, cwd: Path, subprocess: bool | None = None):
        self.db = db_url
        self.cwd = Path(cwd)
        self.subprocess = os.environ.get("DUBAN_TEST_SUBPROCESS") == "1" if subprocess is None else subprocess

    def dump(self) -> dict:
        """Every row of every table."""
        return backends.dump(self.db)

    def copy_to(self, tmp_path: Path) -> Duban:
        return Duban(backends.copy_database(self.db, tmp_path), tmp_path, self.subprocess)

    def env(self, at: str | None, user: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
        env["DUBAN_DB"] = self.db
        env["DUBAN_MAIL_DIR"] = str(self.cwd / "mail")
        env["DUBAN_RULES"] = str(rules_file_without_evidence(self.cwd))  # the evidence tests pass --rules
        if at:
            env["DUBAN_NOW"] = at
        if user:
            env["DUBAN_USER"] = user
        return env

    def __call__(
        self, *args: str, at: str | None = None, user: str | None = "admin", ok: bool = True, input: str = ""
    ) -> Result:
        run = _run_process if self.subprocess else _run_in_process
        result = run(list(args), self.env(at, user), self.cwd, input)
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


def _run_process(args: list[str], env: dict[str, str], cwd: Path, input: str) -> Result:
    done = subprocess.run(
        [str(DUBAN), *args], input=input, capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    return Result(args, done.returncode, done.stdout, done.stderr)


def _run_in_process(args: list[str], env: dict[str, str], cwd: Path, input: str) -> Result:
    import cli

    out, err = io.StringIO(), io.StringIO()
    with _as_a_process(env, cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        saved_stdin, sys.stdin = sys.stdin, io.StringIO(input)
        try:
            code = cli.main(args)
        finally:
            sys.stdin = saved_stdin
    return Result(args, code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _as_a_process(env: dict[str, str], cwd: Path):
    """For the length of one call: the call's environment (click reads os.environ) and working directory,
    logging as unconfigured as in a new process (warnings go to stderr, ``basicConfig`` works), and every
    database engine the command connected disposed afterwards (no connection outlives the command)."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    engines: list[sa.Engine] = []

    def connected(conn: sa.Connection) -> None:
        engines.append(conn.engine)

    sa.event.listen(sa.Engine, "engine_connect", connected)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        sa.event.remove(sa.Engine, "engine_connect", connected)
        for engine in {id(e): e for e in engines}.values():
            engine.dispose()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@pytest.fixture
def duban(request, db_url, tmp_path):
    """``duban`` on a fresh empty database (once on SQLite, once on PostgreSQL)."""
    return Duban(db_url, tmp_path, subprocess=True if request.node.get_closest_marker("subprocess") else None)
