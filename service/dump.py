"""Full, versioned JSONL dumps of the database: backups, and moving between SQLite and PostgreSQL.

Line 1 is a header (format, version, schema revision, row counts); then one line per row,
``{"t": table, "r": {column: value}}``, tables in foreign-key order. Timestamps are ISO 8601 with their
UTC offset, dates ISO. Every table the models define is included, so a new table is dumped without
changing this code. A restore refuses to write into a database that holds data unless told to replace it,
and checks the row counts against the header before it commits: all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import models  # noqa: F401  (every table)
from models import migrate
from models.types import UTCDateTime
from workflow.errors import Conflict, InvalidValue

FORMAT, VERSION = "duban-dump", 1
BATCH = 2000


# Not carried by a dump: the directory stamp only ever moves forward in the database it belongs to (a
# restored older value could make a running process trust a stale copy of the directory); the dashboard's
# tally is derived from the problems (the restore's inserts rebuild it through its triggers, as they do the
# search index). Browser sessions and the login throttle's counts are not carried either: a restore ends
# every session (the restored accounts may differ) and starts the throttle afresh.
EPHEMERAL = frozenset({"user_session", "login_failure"})
NOT_DUMPED = frozenset({"directory_stamp", "ledger_tally"}) | EPHEMERAL


def tables() -> list[sa.Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in NOT_DUMPED]


def _encode(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def export_dump(engine: Engine, path: Path, now: datetime, actor_login: str | None) -> dict:
    """Write every table to ``path`` (administrators only)."""
    _require_backup(engine, actor_login)
    counts: dict[str, int] = {}
    schema = migrate.current(engine)
    from models.db import reader

    with reader(engine).connect() as conn:
        for t in tables():
            counts[t.name] = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema": schema,
            "exported_at": now.isoformat(),
            "database": engine.dialect.name,
            "tables": counts,
        }
        tmp = path.with_name(path.name + ".part")
        with tmp.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for t in tables():
                order = list(t.primary_key.columns) or list(t.columns)
                for row in conn.execute(sa.select(t).order_by(*order)).mappings():
                    out.write(
                        json.dumps({"t": t.name, "r": {k: _encode(v) for k, v in row.items()}}, ensure_ascii=False)
                        + "\n"
                    )
        tmp.replace(path)
    return header


def _decoders(table: sa.Table) -> dict:
    out = {}
    for col in table.columns:
        if isinstance(col.type, UTCDateTime):
            out[col.name] = lambda v: None if v is None else datetime.fromisoformat(v)
        elif isinstance(col.type, sa.Date):
            out[col.name] = lambda v: None if v is None else date.fromisoformat(v)
    return out


def _read(path: Path) -> tuple[dict, Iterator[tuple[int, dict]]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InvalidValue(f"无法读取备份文件 {path}：{exc.strerror}") from None
    first = handle.readline()
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        handle.close()
        raise InvalidValue(f"{path} 不是 duban 备份文件（第 1 行不是 JSON）") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        handle.close()
        raise InvalidValue(f"{path} 不是 duban 备份文件（缺少 format: {FORMAT}）")
    if header.get("version") != VERSION:
        handle.close()
        raise InvalidValue(f"{path} 的备份格式版本 {header.get('version')} 不受支持，本程序支持版本 {VERSION}")

    def rows():
        with handle:
            for number, line in enumerate(handle, start=2):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError:
                        raise InvalidValue(f"{path} 第 {number} 行不是有效 JSON，文件可能已损坏") from None

    return header, rows()


def _require_backup(bind, actor_login: str | None) -> None:
    from sqlmodel import Session

    from service import directory
    from workflow.permissions import Manage, require

    with Session(bind) as session:
        require(Manage.BACKUP, directory.load_view(session).actor(actor_login))


def import_dump(engine: Engine, path: Path, replace: bool = False, actor_login: str | None = None) -> dict:
    """Restore a dump. Into an empty database anyone may (there is nobody to ask yet); replacing data that
    is there needs an administrator of that database."""
    header, rows = _read(path)
    migrate.upgrade(engine)
    head = migrate.current(engine)
    if header.get("schema") != head:
        raise InvalidValue(
            f"备份的数据库结构版本是 {header.get('schema')}，本库是 {head}；"
            "请用相同版本的 duban 导入，或先在导出端把数据库结构升级到最新版本再导出",
            field="path",
        )
    known = {t.name: t for t in tables()}
    unknown = set(header.get("tables", {})) - set(known)
    if unknown:
        raise InvalidValue(f"备份中有本程序不认识的表：{'、'.join(sorted(unknown))}")
    decoders = {name: _decoders(t) for name, t in known.items()}
    counts = {name: 0 for name in known}
    with engine.begin() as conn:
        existing = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables()}
        if any(existing.values()) and not replace:
            filled = "、".join(f"{k} {v} 行" for k, v in existing.items() if v)
            raise Conflict(
                f"目标数据库不是空库（{filled}），为防止覆盖已拒绝导入；确认要用备份替换全部数据请选择替换",
                field="replace",
            )
        if any(existing.values()):
            _require_backup(conn, actor_login)
        for name in EPHEMERAL:
            conn.execute(SQLModel.metadata.tables[name].delete())
        for t in reversed(tables()):
            conn.execute(t.delete())
        pending: dict[str, list[dict]] = {}
        for number, item in rows:
            name, row = item.get("t"), item.get("r")
            if name not in known or not isinstance(row, dict):
                raise InvalidValue(f'{path} 第 {number} 行格式错误：应为 {{"t": 表名, "r": {{…}}}}')
            for col, decode in decoders[name].items():
                if col in row:
                    row[col] = decode(row[col])
            batch = pending.setdefault(name, [])
            batch.append(row)
            if len(batch) >= BATCH:
                _flush(conn, known, pending, counts)
        _flush(conn, known, pending, counts)
        expected = {k: v for k, v in header.get("tables", {}).items()}
        if {k: v for k, v in counts.items() if v or expected.get(k)} != {k: v for k, v in expected.items() if v}:
            raise InvalidValue(f"备份文件不完整：头部记录的行数 {expected}，实际读到 {counts}；未导入任何数据")
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn)
    return {"schema": head, "tables": counts}


def _flush(conn, known: dict, pending: dict, counts: dict) -> None:
    # Parents first: rows of a table are only flushed after every table before it in FK order.
    for t in tables():
        batch = pending.get(t.name)
        if batch:
            conn.execute(known[t.name].insert(), batch)
            counts[t.name] += len(batch)
            batch.clear()


def _reset_sequences(conn) -> None:
    for t in tables():
        pk = list(t.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto"):
            seq = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": t.name, "c": pk[0].name}
            ).scalar()
            if seq:
                conn.execute(
                    sa.text(f"SELECT setval('{seq}', COALESCE((SELECT max({pk[0].name}) FROM {t.name}), 0) + 1, false)")
                )
