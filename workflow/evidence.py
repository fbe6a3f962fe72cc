"""Evidence (佐证材料): which kinds of file are accepted, how a file's name is made safe to keep and show,
and the rule that some categories of problem need evidence before the unit may apply to close. Pure: the
bytes are read and classified in ``service.filetypes``; this module only names and decides.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from workflow.actions import ACTIONS, EVIDENCE_ACTIONS
from workflow.actions import label as action_label
from workflow.errors import InvalidValue, MissingField
from workflow.states import Category

MiB = 1024 * 1024
MAX_NAME = 120  # characters kept of a file's name (a phone's IMG_20240305_101233.jpg is far shorter)


class FileKind(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    HEIC = "heic"
    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    OFD = "ofd"

    @property
    def label(self) -> str:
        return _KINDS[self][0]

    @property
    def media_type(self) -> str:
        return _KINDS[self][1]

    @property
    def extensions(self) -> tuple[str, ...]:
        return _KINDS[self][2]

    @property
    def is_image(self) -> bool:
        return self in (FileKind.JPEG, FileKind.PNG, FileKind.HEIC)


_KINDS: dict[FileKind, tuple[str, str, tuple[str, ...]]] = {
    FileKind.JPEG: ("JPEG 图片", "image/jpeg", (".jpg", ".jpeg")),
    FileKind.PNG: ("PNG 图片", "image/png", (".png",)),
    FileKind.HEIC: ("HEIC 图片（手机照片）", "image/heic", (".heic", ".heif")),
    FileKind.PDF: ("PDF 文档", "application/pdf", (".pdf",)),
    FileKind.DOCX: (
        "Word 文档（docx）",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
    ),
    FileKind.XLSX: (
        "Excel 工作簿（xlsx）",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
    ),
    FileKind.OFD: ("OFD 版式文档", "application/ofd", (".ofd",)),
}

ALLOWED_TEXT = "JPEG、PNG、HEIC 图片，PDF，Word（docx）、Excel（xlsx）文档，OFD 版式文档"


def size_text(size: int) -> str:
    """A byte count as people read it: 20 MB, 1.5 MB, 300 KB."""
    if size >= MiB:
        value = size / MiB
        return f"{value:.0f} MB" if value >= 10 or value == int(value) else f"{value:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} 字节"


@dataclass(frozen=True)
class Limits:
    """Upload limits: per file and per action (all the files of one action or one inspection together)."""

    max_file: int = 20 * MiB
    max_total: int = 100 * MiB
    max_files: int = 20

    def check_file(self, name: str, size: int) -> None:
        if size == 0:
            raise InvalidValue(
                f"文件「{name}」是空文件（0 字节），请重新选择", field="attachments", value=name, label="附件"
            )
        if size > self.max_file:
            raise TooLarge(
                f"文件「{name}」大小 {size_text(size)}，超过单个文件上限 {size_text(self.max_file)}；"
                "照片可先压缩，扫描件可降低分辨率后再上传",
                field="attachments",
                value=name,
                label="附件",
            )

    def check_total(self, count: int, total: int) -> None:
        if count > self.max_files:
            raise TooLarge(
                f"一次最多上传 {self.max_files} 个文件，本次 {count} 个", field="attachments", value=count, label="附件"
            )
        if total > self.max_total:
            raise TooLarge(
                f"本次上传的文件共 {size_text(total)}，超过每次操作上限 {size_text(self.max_total)}；请分几次上传",
                field="attachments",
                value=size_text(total),
                label="附件",
            )


class TooLarge(InvalidValue):
    """上传的文件过大。"""

    code = "too_large"


# -- names --------------------------------------------------------------------------------------------------

_WINDOWS_RESERVED = str.maketrans({ch: "_" for ch in '<>:"|?*'})


def safe_name(raw: str | None, kind: FileKind) -> str:
    """The name a file is kept and offered under: only its last path component (a browser or a script may
    send ``C:\\扫描\\批复.pdf`` or ``../../x``), without control or direction-override characters (``U+202E``
    can make ``gpj.exe`` read as ``exe.jpg``), no leading dots, at most ``MAX_NAME`` characters — and ending
    with the extension of what the file really is, so a PDF named ``.jpg`` is saved as ``….jpg.pdf``."""
    text = unicodedata.normalize("NFC", raw or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters; Cf: format characters, among them the direction overrides and zero-width ones.
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    text = text.translate(_WINDOWS_RESERVED)
    text = " ".join(text.split()).lstrip(". ").rstrip(". ")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if f".{ext.lower()}" in kind.extensions:
        suffix = f".{ext.lower()}"
    else:
        stem, suffix = text, kind.extensions[0]
    stem = stem[: MAX_NAME - len(suffix)].rstrip(". ") or "附件"
    return stem + suffix


# -- the evidence rule for applying to close ----------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceRule:
    """``[evidence]`` of the rules file: problems of ``resolve_requires`` categories need at least
    ``min_files`` attachments (on the problem or with the application itself) to apply to close; ``what``
    says per category what is expected, and is quoted when the application is refused."""

    resolve_requires: frozenset[str] = frozenset({Category.LAND.value, Category.DEMOLITION.value})
    min_files: int = 1
    what: dict[str, str] = field(default_factory=dict)

    def requirement(self, category: str) -> str:
        """What this category needs to apply to close, in words ("" when nothing)."""
        if category not in self.resolve_requires:
            return ""
        what = self.what.get(category) or "批复文件、协议、扫描件或现场照片"
        return f"{Category(category).label}类问题申请销号须上传佐证材料（{what}）至少 {self.min_files} 个"

    def check_resolve(self, category: str, count: int | None) -> None:
        """Refuse an application to close that lacks the evidence its category needs. ``count`` is how many
        files the problem will have with this application; None means the caller does not track files
        (a ledger import replaying history kept on paper) and the rule does not apply."""
        if count is None or category not in self.resolve_requires or count >= self.min_files:
            return
        have = f"目前只有 {count} 个" if count else "目前没有附件"
        raise MissingField(
            f"{self.requirement(category)}，{have}；请随申请一并上传",
            field="attachments",
            value=count,
            label="佐证材料",
        )


# Actions whose guard counts the problem's files (the service passes the count as ``evidence``).
COUNTED_ACTIONS = frozenset({"resolve"})


def check_carries_files(action: str) -> None:
    """Files come with the actions that carry text (``ActionSpec.evidence``), never with e.g. 交办 or 升级."""
    spec = ACTIONS.get(action)
    if spec is None or not spec.evidence:
        allowed = "、".join(action_label(a) for a in EVIDENCE_ACTIONS)
        raise InvalidValue(
            f"「{action_label(action)}」不能附带文件；可以附带文件的操作：{allowed}",
            field="attachments",
            value=action,
            label="附件",
        )
