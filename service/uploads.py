"""Files on their way in: each one written to a private temporary folder while it is hashed and counted,
checked (size, type by content, a decodable image), and described — name, kind, SHA-256, metadata,
thumbnail — before any row is written. A ``Batch`` holds the files of one action and removes its folder
when closed, whatever happened; the stored copy is the blob store's business (``service.blobstore``).

Limits come from ``DUBAN_ATTACH_MAX_FILE_MB`` (default 20), ``DUBAN_ATTACH_MAX_TOTAL_MB`` (100, all the
files of one action together) and ``DUBAN_ATTACH_MAX_FILES`` (20).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from service import filetypes
from workflow.errors import InvalidValue
from workflow.evidence import FileKind, Limits, TooLarge, safe_name

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024


def limits_from_env(env: Mapping[str, str] | None = None) -> Limits:
    env = os.environ if env is None else env
    default = Limits()

    def number(name: str, fallback: int, scale: int) -> int:
        raw = (env.get(name) or "").strip()
        if not raw:
            return fallback
        if not raw.isdigit() or not 1 <= int(raw) <= 4096:
            raise InvalidValue(f"环境变量 {name}「{raw}」应为 1–4096 之间的整数", field=name.lower(), value=raw)
        return int(raw) * scale

    mib = 1024 * 1024
    return Limits(
        max_file=number("DUBAN_ATTACH_MAX_FILE_MB", default.max_file, mib),
        max_total=number("DUBAN_ATTACH_MAX_TOTAL_MB", default.max_total, mib),
        max_files=number("DUBAN_ATTACH_MAX_FILES", default.max_files, 1),
    )


@dataclass
class Upload:
    """One accepted file, staged at ``path`` until its action commits."""

    path: Path
    name: str
    kind: FileKind
    size: int
    sha256: str
    meta: dict = field(default_factory=dict)
    thumbnail: bytes | None = None
    created: bool = False  # set by the blob store when storing it created the stored copy

    def describe(self) -> dict:
        """What the audit event records of it."""
        return {"name": self.name, "sha256": self.sha256, "size": self.size, "kind": self.kind.value}


def shown_name(raw_name: str | None) -> str:
    """A file's name as an error message quotes it (before its kind, hence its safe name, is known)."""
    text = (raw_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in text if ch.isprintable())[:80] or "（未命名）"


class Part:
    """A file being received: written to the batch's folder, hashed and counted as it arrives."""

    def __init__(self, batch: Batch, raw_name: str):
        self.batch, self.raw_name = batch, raw_name
        fd, name = tempfile.mkstemp(dir=batch.folder, prefix="part-")
        self.path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        try:
            if self.size > self.batch.limits.max_file:
                self.batch.limits.check_file(shown_name(self.raw_name), self.size)
            self.batch.check_total(extra=self.size)
        except TooLarge:
            self.file.close()
            raise
        self.file.write(data)
        self.hash.update(data)

    def finish(self) -> tuple[Path, int, str]:
        self.file.close()
        return self.path, self.size, self.hash.hexdigest()


class Batch:
    """The files of one action (or one inspection), checked and staged in a private temporary folder."""

    def __init__(self, limits: Limits | None = None, parent: Path | None = None):
        self.limits = limits or limits_from_env()
        self.folder = Path(tempfile.mkdtemp(prefix="duban-upload-", dir=parent))
        self.uploads: list[Upload] = []
        self._parts: list[Part] = []

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        return iter(self.uploads)

    def __len__(self) -> int:
        return len(self.uploads)

    def close(self) -> None:
        for part in self._parts:
            part.file.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def total(self) -> int:
        return sum(u.size for u in self.uploads)

    def check_total(self, extra: int = 0, count: int = 0) -> None:
        self.limits.check_total(len(self.uploads) + count, self.total + extra)

    # -- receiving ------------------------------------------------------------------------------------

    def part(self, raw_name: str) -> Part:
        self.check_total(count=1)
        part = Part(self, raw_name)
        self._parts.append(part)
        return part

    def add_part(self, part: Part) -> Upload:
        path, size, digest = part.finish()
        return self._accept(part.raw_name, path, size, digest)

    def add_file(self, source: Path, raw_name: str | None = None) -> Upload:
        """Copy a file given by path (the command line) into the batch, hashing it on the way."""
        raw = raw_name or source.name
        name = shown_name(raw)
        try:
            size = source.stat().st_size
            if not source.is_file():
                raise IsADirectoryError
        except OSError as exc:
            raise InvalidValue(
                f"无法读取附件「{source}」：{getattr(exc, 'strerror', None) or '不是文件'}",
                field="attachments",
                value=str(source),
                label="附件",
            ) from None
        self.limits.check_file(name, size)
        part = self.part(raw)
        with source.open("rb") as f:
            while chunk := f.read(CHUNK):
                part.write(chunk)
        return self.add_part(part)

    def add_bytes(self, raw_name: str, data: bytes) -> Upload:
        part = self.part(raw_name)
        part.write(data)
        return self.add_part(part)

    def _accept(self, raw_name: str, path: Path, size: int, digest: str) -> Upload:
        shown = shown_name(raw_name)
        self.limits.check_file(shown, size)
        kind, meta = filetypes.classify(path, shown)
        upload = Upload(path, safe_name(raw_name, kind), kind, size, digest, meta)
        if kind.is_image:
            from service.images import inspect_image

            facts = inspect_image(path, shown, kind)
            upload.meta.update(facts.meta)
            upload.thumbnail = facts.thumbnail
        self.uploads.append(upload)
        self.check_total()
        log.info("staged %s (%s, %d bytes, sha256 %s)", upload.name, kind.value, size, digest[:12])
        return upload


def stage_paths(paths: list[Path] | tuple[Path, ...], limits: Limits | None = None) -> Batch:
    """A batch of the files at ``paths`` (``--attach``); closed again if any of them is refused."""
    batch = Batch(limits)
    try:
        for p in paths:
            batch.add_file(Path(p))
    except BaseException:
        batch.close()
        raise
    return batch


__all__ = ["Batch", "Part", "TooLarge", "Upload", "limits_from_env", "stage_paths"]
