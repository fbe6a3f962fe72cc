"""Where file content lives, by SHA-256 — stored once however many times it is attached.

- ``FileStore`` (the embedded SQLite deployment): files under ``var/files/ab/cd/<sha256>`` next to the
  database file (``DUBAN_FILES_DIR`` to move them). A staged upload is hard-linked into place (no copy when
  the staging folder is on the same disk, which ``batch`` arranges), fsynced, before the transaction.
- ``DbStore`` (PostgreSQL): the bytes in the ``blob`` table (bytea, stored uncompressed out of line), written
  inside the action's own transaction — so every instance serves every file, a rolled-back action leaves
  nothing behind, and ``pg_dump`` carries the files with the rows.

Both follow one protocol around the action's transaction: ``save`` before it, ``attach`` inside it (which
also brings back content a failed neighbour removed meanwhile), ``discard`` after a failure (removes
content this action created if no committed row refers to it — on SQLite under the write lock, so it cannot
race a writer that is about to refer to it).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from models.db import insert_for
from models.tables import Attachment, Blob, table_of
from service.uploads import Batch, Upload
from workflow.errors import NotFound
from workflow.evidence import Limits

log = logging.getLogger(__name__)
BLOB, ATTACHMENT = table_of(Blob), table_of(Attachment)
CHUNK = 1024 * 1024


class BlobStore(Protocol):
    name: str

    def batch(self, limits: Limits | None = None) -> Batch: ...
    def save(self, upload: Upload) -> None: ...
    def attach(self, session: Session | Connection, upload: Upload) -> None: ...
    def discard(self, engine: Engine, uploads: Iterable[Upload]) -> None: ...
    def size(self, sha256: str) -> int | None: ...
    def read(self, sha256: str, chunk: int = CHUNK) -> Iterator[bytes]: ...
    def put(self, conn, sha256: str, source: Path) -> bool: ...


def _referenced(conn, sha256: str) -> bool:
    return conn.execute(sa.select(ATTACHMENT.c.id).where(ATTACHMENT.c.sha256 == sha256).limit(1)).first() is not None


class FileStore:
    name = "files"

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def batch(self, limits: Limits | None = None) -> Batch:
        staging = self.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return Batch(limits, parent=staging)

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def save(self, upload: Upload) -> None:
        if self.size(upload.sha256) is None:
            self._place(upload.path, upload.sha256)
            upload.created = True

    def attach(self, session: Session | Connection, upload: Upload) -> None:
        # Inside the transaction: a failed action may have removed content it had created and this one reused.
        self.save(upload)

    def put(self, conn, sha256: str, source: Path) -> bool:
        if self.size(sha256) is not None:
            return False
        self._place(source, sha256)
        return True

    def _place(self, source: Path, sha256: str) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha256}.{secrets.token_hex(4)}.part")
        try:
            os.link(source, tmp)  # same disk: no copy
        except OSError:
            shutil.copyfile(source, tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def discard(self, engine: Engine, uploads: Iterable[Upload]) -> None:
        created = [u for u in uploads if u.created]
        if not created:
            return
        with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE — no writer can refer to the file meanwhile
            for u in created:
                if not _referenced(conn, u.sha256):
                    self.path(u.sha256).unlink(missing_ok=True)
                    log.info("removed %s: its action did not commit", u.sha256[:12])

    def read(self, sha256: str, chunk: int = CHUNK) -> Iterator[bytes]:
        try:
            f = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise missing(sha256) from None
        with f:
            while data := f.read(chunk):
                yield data


class DbStore:
    name = "database"

    def __init__(self, engine: Engine):
        self.engine = engine

    def batch(self, limits: Limits | None = None) -> Batch:
        return Batch(limits)

    def size(self, sha256: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(BLOB.c.size).where(BLOB.c.sha256 == sha256)).scalar()

    def save(self, upload: Upload) -> None:
        """Nothing before the transaction: the bytes go in with the rows."""

    def attach(self, session: Session | Connection, upload: Upload) -> None:
        conn = session.connection() if isinstance(session, Session) else session  # the act path passes Core
        if self.put(conn, upload.sha256, upload.path):
            upload.created = True

    def put(self, conn, sha256: str, source: Path) -> bool:
        if conn.execute(sa.select(BLOB.c.size).where(BLOB.c.sha256 == sha256)).first() is not None:
            return False
        data = source.read_bytes()
        insert = insert_for(conn)
        stmt = insert(BLOB).values(sha256=sha256, size=len(data), data=data).on_conflict_do_nothing()
        return conn.execute(stmt).rowcount == 1

    def discard(self, engine: Engine, uploads: Iterable[Upload]) -> None:
        """Nothing to do: the bytes were written in the transaction that rolled back."""

    def read(self, sha256: str, chunk: int = CHUNK) -> Iterator[bytes]:
        """The content in pieces of ``chunk`` bytes (``substring`` reads only the TOAST chunks asked for),
        so a download never holds a whole file in memory."""
        with self.engine.connect() as conn:
            size = conn.execute(sa.select(BLOB.c.size).where(BLOB.c.sha256 == sha256)).scalar()
            if size is None:
                raise missing(sha256)
            for offset in range(0, size, chunk):
                piece = sa.func.substring(BLOB.c.data, offset + 1, chunk)
                yield bytes(conn.execute(sa.select(piece).where(BLOB.c.sha256 == sha256)).scalar_one())


def missing(sha256: str) -> NotFound:
    return NotFound(f"附件内容（SHA-256 {sha256[:12]}…）在存储中找不到，请从备份恢复", field="attachment", value=sha256)


def files_dir(engine: Engine) -> Path:
    """``DUBAN_FILES_DIR``, else ``files/`` beside the SQLite database file (``var/files/`` by default)."""
    env = os.environ.get("DUBAN_FILES_DIR")
    if env:
        return Path(env)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return Path(database).resolve().parent / "files"
    return Path("var/files").resolve()


def store_for(engine: Engine) -> BlobStore:
    """The store of this database: files beside an SQLite database; the database itself on PostgreSQL."""
    return DbStore(engine) if engine.dialect.name == "postgresql" else FileStore(files_dir(engine))
