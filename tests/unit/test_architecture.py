"""The layers, as a test: the pure domain imports no storage or front end, and the front ends build no SQL.

A rule found written in a front end instead of the domain is the bug this keeps out (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    # workflow/ is pure: states, calendar, rules, deadlines, permissions, the machine.
    "workflow": {"models", "service", "web", "commands", "reports", "notifications", "sqlalchemy", "sqlmodel", "cli"},
    # The front ends call service/; they never build SQL or touch tables.
    "web": {"models.tables", "sqlmodel", "sqlalchemy.sql", "sqlalchemy.orm"},
    "commands": {"models.tables", "sqlmodel", "sqlalchemy.sql", "sqlalchemy.orm"},
}
# A front end may name these sqlalchemy modules: the Engine type, and database errors to word them.
ALLOWED_SQLALCHEMY = {"sqlalchemy.engine", "sqlalchemy.exc"}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violates(name: str, forbidden: set[str]) -> bool:
    if name in ALLOWED_SQLALCHEMY:
        return False
    if name == "sqlalchemy" or name.startswith("sqlalchemy.") and name not in ALLOWED_SQLALCHEMY:
        return any(f.startswith("sqlalchemy") for f in forbidden)
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may(package):
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imports(path):
            if _violates(name, FORBIDDEN[package]):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert found == []


def test_the_cli_entry_point_stays_thin():
    lines = (ROOT / "cli.py").read_text("utf-8").splitlines()
    assert len(lines) <= 220, "cli.py should only wire the command groups (commands/) and word errors"
    assert not (imports(ROOT / "cli.py") & {"models.tables", "sqlmodel", "sqlalchemy.sql", "sqlalchemy.orm"})


def test_no_cli_flag_or_command_in_domain_messages():
    """Domain errors speak the domain: the CLI adds its flags and commands (commands/support.py describe)."""
    found = []
    for package in ("workflow", "service", "reports", "notifications"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    text = node.value
                    if "（--" in text or "运行 duban" in text or "请加 --" in text:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]}")
    assert found == []
