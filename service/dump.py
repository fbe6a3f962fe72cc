"""Full, versioned JSONL dumps of the database: backups, and moving between SQLite and PostgreSQL.

Line 1 is a header (format, version, schema revision, row counts, file count and bytes); then one line per
row, ``{"t": table, "r": {column: value}}``, tables in foreign-key order. Timestamps are ISO 8601 with their
UTC offset, dates ISO, binary columns base64. Every table the models define is included, so a new table is
dumped without changing this code. Then the content of every attached file, once per SHA-256:
``{"file": sha256, "size": n, "parts": k}`` followed by k lines ``{"part": base64}`` — read from whichever store
the source uses and written to the target's (``service.blobstore``), so a dump moves files between
``var/files/`` and PostgreSQL; each file's hash is checked on the way out and on the way in. A restore refuses
to write into a database that holds data unless told to replace it, and checks the row and file counts
against the header before it commits: all or nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

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
# search index); the search's common pieces are measured again by the housekeeping. Browser sessions and the
# login throttle's counts are not carried either: a restore ends every session (the restored accounts may
# differ) and starts the throttle afresh. File content (the blob table) is carried as files, whichever store
# holds it; workbooks staged for a browser import are transient.
EPHEMERAL = frozenset({"user_session", "login_failure"})
NOT_DUMPED = frozenset({"directory_stamp", "ledger_tally", "search_gram", "blob", "upload_stage"}) | EPHEMERAL
FILE_PART = 768 * 1024  # raw bytes per line: 1 MiB of base64


def tables() -> list[sa.Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in NOT_DUMPED]


def _encode(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def export_dump(engine: Engine, path: Path, now: datetime, actor_login: str | None) -> dict:
    """Write every table to ``path`` (administrators only)."""
    _require_backup(engine, actor_login)
    counts: dict[str, int] = {}
    schema = migrate.current(engine)
    from models.db import reader
    from service.blobstore import store_for

    store = store_for(engine)
    with reader(engine).connect() as conn:
        for t in tables():
            counts[t.name] = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        att = SQLModel.metadata.tables["attachment"]
        shas = list(conn.execute(sa.select(att.c.sha256).distinct().order_by(att.c.sha256)).scalars())
        sizes = dict(conn.execute(sa.select(att.c.sha256, att.c.size).distinct()).all())
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema": schema,
            "exported_at": now.isoformat(),
            "database": engine.dialect.name,
            "tables": counts,
            "files": {"count": len(shas), "bytes": sum(sizes[s] for s in shas)},
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
            for sha in shas:
                _write_file(out, store, sha)
        tmp.replace(path)
    return header


def _write_file(out, store, sha: str) -> None:
    """One file's content, checked against its name (a file corrupted in storage stops the export)."""
    size = store.size(sha)
    if size is None:
        from service.blobstore import missing

        raise missing(sha)
    digest = hashlib.sha256()
    parts = -(-size // FILE_PART)
    out.write(json.dumps({"file": sha, "size": size, "parts": parts}) + "\n")
    written = 0
    for chunk in store.read(sha, FILE_PART):
        digest.update(chunk)
        written += len(chunk)
        out.write(json.dumps({"part": base64.b64encode(chunk).decode("ascii")}) + "\n")
    if digest.hexdigest() != sha or written != size:
        raise InvalidValue(f"附件内容（SHA-256 {sha[:12]}…）与其校验值不符，存储中的文件已损坏；请从备份恢复后再导出")


def _decoders(table: sa.Table) -> dict:
    out: dict[str, Callable[[Any], Any]] = {}
    for col in table.columns:
        if isinstance(col.type, UTCDateTime):
            out[col.name] = lambda v: None if v is None else datetime.fromisoformat(v)
        elif isinstance(col.type, sa.Date):
            out[col.name] = lambda v: None if v is None else date.fromisoformat(v)
        elif isinstance(col.type, sa.LargeBinary):
            out[col.name] = lambda v: None if v is None else base64.b64decode(v, validate=True)
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
    from service.blobstore import store_for

    files = _Files(store_for(engine), path)
    try:
        with engine.begin() as conn:
            _restore(conn, engine, header, rows, known, decoders, counts, files, replace, actor_login, path)
    except BaseException:
        files.undo(engine)
        raise
    finally:
        files.close()
    return {"schema": head, "tables": counts, "files": files.count}


def _restore(conn, engine, header, rows, known, decoders, counts, files, replace, actor_login, path) -> None:
    existing = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables()}
    if any(existing.values()) and not replace:
        filled = "、".join(f"{k} {v} 行" for k, v in existing.items() if v)
        raise Conflict(
            f"目标数据库不是空库（{filled}），为防止覆盖已拒绝导入；确认要用备份替换全部数据请选择替换",
            field="replace",
        )
    if any(existing.values()):
        _require_backup(conn, actor_login)
    for ephemeral in EPHEMERAL:
        conn.execute(SQLModel.metadata.tables[ephemeral].delete())
    for t in reversed(tables()):
        conn.execute(t.delete())
    pending: dict[str, list[dict]] = {}
    for number, item in rows:
        if "file" in item or "part" in item:
            _flush(conn, known, pending, counts)
            files.take(conn, number, item)
            continue
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
    files.finish(conn, header)
    expected = {k: v for k, v in header.get("tables", {}).items()}
    if {k: v for k, v in counts.items() if v or expected.get(k)} != {k: v for k, v in expected.items() if v}:
        raise InvalidValue(f"备份文件不完整：头部记录的行数 {expected}，实际读到 {counts}；未导入任何数据")
    if engine.dialect.name == "postgresql":
        _reset_sequences(conn)


class _Files:
    """The files of a dump being restored: each reassembled in a temporary file, checked against its SHA-256
    and size, then handed to the target's store (the database store writes it in the restore's transaction;
    the file store places it at once and removes what it placed if the restore fails)."""

    def __init__(self, store, path: Path):
        self.store, self.path = store, path
        self.folder = Path(tempfile.mkdtemp(prefix="duban-restore-"))
        self.current: tuple[str, int, int] | None = None  # sha, size, parts left
        self.handle: BinaryIO | None = None
        self.digest = hashlib.sha256()
        self.count = 0
        self.placed: list[str] = []

    def take(self, conn, number: int, item: dict) -> None:
        if "file" in item:
            self._expect_no_file(number)
            sha, size, parts = item.get("file"), item.get("size"), item.get("parts")
            if not (isinstance(sha, str) and len(sha) == 64 and isinstance(size, int) and isinstance(parts, int)):
                raise InvalidValue(f"{self.path} 第 {number} 行格式错误：附件记录应含 file、size、parts")
            self.current = (sha, size, parts)
            self.handle = (self.folder / sha).open("wb")
            self.digest = hashlib.sha256()
        else:
            if self.current is None or self.handle is None:
                raise InvalidValue(f"{self.path} 第 {number} 行格式错误：附件内容前缺少附件记录")
            try:
                chunk = base64.b64decode(item["part"], validate=True)
            except (ValueError, TypeError):
                raise InvalidValue(f"{self.path} 第 {number} 行的附件内容不是有效的 base64，文件可能已损坏") from None
            self.handle.write(chunk)
            self.digest.update(chunk)
            sha, size, parts = self.current
            self.current = (sha, size, parts - 1)
        if self.current is not None and self.current[2] == 0:
            self._store(conn, number)

    def _store(self, conn, number: int) -> None:
        assert self.current is not None and self.handle is not None
        sha, size, _ = self.current
        self.handle.close()
        got = (self.folder / sha).stat().st_size
        if self.digest.hexdigest() != sha or got != size:
            raise InvalidValue(
                f"{self.path} 第 {number} 行前的附件（SHA-256 {sha[:12]}…）校验失败：内容与校验值或大小不符，"
                "备份文件已损坏；未导入任何数据"
            )
        if self.store.put(conn, sha, self.folder / sha) and self.store.name == "files":
            self.placed.append(sha)
        (self.folder / sha).unlink()
        self.current, self.handle = None, None
        self.count += 1

    def _expect_no_file(self, number: int) -> None:
        if self.current is not None:
            raise InvalidValue(f"{self.path} 第 {number} 行之前的附件内容不完整，备份文件已损坏")

    def finish(self, conn, header: dict) -> None:
        """Every file the header announces, and the content of every attachment row, is there."""
        self._expect_no_file(0)
        expected = (header.get("files") or {}).get("count", 0)
        if self.count != expected:
            raise InvalidValue(f"备份文件不完整：头部记录附件 {expected} 个，实际读到 {self.count} 个；未导入任何数据")
        att, blob = SQLModel.metadata.tables["attachment"], SQLModel.metadata.tables["blob"]
        if self.store.name == "database":  # content no row refers to any more (a replaced database's)
            conn.execute(blob.delete().where(blob.c.sha256.not_in(sa.select(att.c.sha256))))
        for sha in conn.execute(sa.select(att.c.sha256).distinct()).scalars():
            present = (
                self.store.size(sha) is not None
                if self.store.name == "files"
                else conn.execute(sa.select(blob.c.size).where(blob.c.sha256 == sha)).first() is not None
            )
            if not present:
                raise InvalidValue(f"备份中缺少附件内容（SHA-256 {sha[:12]}…）；未导入任何数据")

    def undo(self, engine) -> None:
        for sha in self.placed:
            self.store.path(sha).unlink(missing_ok=True)  # the file store: nothing committed refers to them

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
        shutil.rmtree(self.folder, ignore_errors=True)


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
