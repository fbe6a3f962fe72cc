"""Importing a ledger from the browser: the uploaded workbook is kept in the database (``upload_stage``)
between its check and the person's confirmation, so the confirmation may reach any instance; both the
check and the import itself are ``reports.importer.import_ledger`` — the same all-or-nothing validation as
the command line's import — run on a temporary copy of the file.
"""

from __future__ import annotations

import secrets
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.tables import UploadStage, table_of
from service import directory
from workflow.errors import InvalidValue, NotFound
from workflow.permissions import Manage
from workflow.rules import Rules

STAGE = table_of(UploadStage)
KEEP = timedelta(days=1)  # an unconfirmed workbook is dropped after this
SUFFIXES = (".xlsx", ".csv")


def stage(engine: Engine, login: str, name: str, source: Path, now: datetime) -> str:
    """Keep an uploaded workbook for ``login`` (who may import ledgers); returns its token."""
    directory.authorize(engine, login, Manage.IMPORT_LEDGER)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidValue(
            f"台账文件「{name}」的扩展名应为 .xlsx 或 .csv（旧版 .xls 请在 Excel 或 WPS 中另存为 .xlsx）",
            field="file",
            value=name,
            label="台账文件",
        )
    token = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(STAGE.delete().where(STAGE.c.created_at < now - KEEP))
        conn.execute(
            sa.insert(STAGE).values(token=token, login=login, name=name[:255], created_at=now, data=source.read_bytes())
        )
    return token


def staged_name(engine: Engine, login: str, token: str) -> str:
    with engine.connect() as conn:
        row = conn.execute(sa.select(STAGE.c.name).where(STAGE.c.token == token, STAGE.c.login == login)).first()
    if row is None:
        raise NotFound("待导入的台账已不存在（已导入，或上传已超过 1 天），请重新上传", field="token", value=token[:8])
    return row.name


def run(engine: Engine, rules: Rules, now: datetime, login: str, token: str, dry_run: bool, progress=None):
    """Check (``dry_run``) or import the staged workbook; it is dropped once imported, or when it has errors."""
    from reports.importer import import_ledger

    name = staged_name(engine, login, token)
    with engine.connect() as conn:
        data = conn.execute(sa.select(STAGE.c.data).where(STAGE.c.token == token)).scalar_one()
    with tempfile.TemporaryDirectory(prefix="duban-import-") as folder:
        # The file's own name: the importer quotes it in its messages.
        shown = "".join(
            ch for ch in name.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable() and ch not in '<>:"|?*'
        )
        path = Path(folder) / (
            shown if Path(shown).suffix.lower() in SUFFIXES else "ledger" + Path(name).suffix.lower()
        )
        path.write_bytes(bytes(data))
        report = import_ledger(engine, rules, now, login, path, dry_run=dry_run, progress=progress)
    if not report.ok or not dry_run:  # a workbook with errors cannot be confirmed; an imported one is done
        with engine.begin() as conn:
            conn.execute(STAGE.delete().where(STAGE.c.token == token))
    return report
