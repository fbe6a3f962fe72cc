"""What a file really is, from its bytes (never its name or the Content-Type a client sent): ``filetype``
reads the magic numbers; a ZIP is opened to tell Word, Excel and OFD apart by their declared parts (and
to refuse macros and zip bombs); a PDF is scanned for scripts and actions, which are kept but flagged.
Images are checked by decoding them (``service.images``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import filetype
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from workflow.errors import InvalidValue
from workflow.evidence import ALLOWED_TEXT, FileKind

_SIMPLE = {"jpg": FileKind.JPEG, "png": FileKind.PNG, "heic": FileKind.HEIC, "pdf": FileKind.PDF}
_ZIPS = {"zip", "docx", "xlsx", "pptx", "epub", "odt", "ods", "odp", "jar", "apk"}
# What a refused file looks like, in words a person recognises.
_REFUSED_NAMES = {
    "exe": "Windows 可执行程序",
    "elf": "Linux 可执行程序",
    "mach": "macOS 可执行程序",
    "dex": "安卓程序",
    "apk": "安卓安装包",
    "jar": "Java 程序包",
    "msi": "Windows 安装包",
    "doc": "旧版 Word 文档（doc）",
    "xls": "旧版 Excel 工作簿（xls）",
    "ppt": "旧版 PowerPoint 演示文稿（ppt）",
    "pptx": "PowerPoint 演示文稿",
    "rar": "RAR 压缩包",
    "7z": "7z 压缩包",
    "gz": "gzip 压缩包",
    "zip": "ZIP 压缩包",
    "gif": "GIF 动图",
    "webp": "WebP 图片",
    "bmp": "BMP 图片",
    "tif": "TIFF 图片",
    "mp4": "视频",
    "mov": "视频",
    "avi": "视频",
    "mp3": "音频",
    "wav": "音频",
}
_HINTS = {
    "doc": "请在 Word 或 WPS 中另存为 docx 或 PDF 后上传",
    "xls": "请在 Excel 或 WPS 中另存为 xlsx 后上传",
    "ppt": "请另存为 PDF 后上传",
    "pptx": "请另存为 PDF 后上传",
    "gif": "请截图或另存为 JPEG、PNG 后上传",
    "webp": "请另存为 JPEG 或 PNG 后上传",
    "bmp": "请另存为 JPEG 或 PNG 后上传",
    "tif": "请另存为 PDF 或 JPEG 后上传",
}

_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": FileKind.DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": FileKind.XLSX,
}
_MACRO_TYPES = ("macroEnabled", "vbaProject")
_MAX_ENTRIES, _MAX_UNPACKED, _MAX_RATIO = 20_000, 1024 * 1024 * 1024, 200
_MAX_MANIFEST = 2 * 1024 * 1024
# PDF names that make a document do something when opened (kept, flagged, never rendered by duban).
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|OpenAction|AA|Launch|EmbeddedFile|RichMedia|XFA|SubmitForm)\b")


def refuse(name: str, what: str, hint: str = "") -> InvalidValue:
    tail = f"；{hint}" if hint else ""
    return InvalidValue(
        f"文件「{name}」的内容是{what}，不能作为附件上传（可上传：{ALLOWED_TEXT}）{tail}",
        field="attachments",
        value=name,
        label="附件",
    )


def classify(path: Path, name: str) -> tuple[FileKind, dict]:
    """The kind of the file at ``path`` and what was learnt on the way (for a PDF, its active content).
    Raises InvalidValue, naming the file, what it looks like and what is accepted."""
    with path.open("rb") as f:
        head = f.read(8192)
    guess = filetype.guess(head)
    ext = guess.extension if guess else ""
    if ext in _SIMPLE:
        kind = _SIMPLE[ext]
        return kind, (_pdf_flags(path, name) if kind is FileKind.PDF else {})
    if ext in _ZIPS:
        return _zip_kind(path, name), {}
    if ext:
        what = _REFUSED_NAMES.get(ext, f"{guess.mime}（{ext}）")
        raise refuse(name, what, _HINTS.get(ext, ""))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise refuse(name, "旧版 Office 文档（doc、xls 等）", "请另存为 docx、xlsx 或 PDF 后上传")
    if head.lstrip()[:5].lower() in (b"<html", b"<!doc", b"<svg ", b"<?xml"):
        raise refuse(name, "网页或 SVG/XML 文本")
    raise refuse(name, "无法识别的类型（可能是文本、脚本或损坏的文件）")


def _zip_kind(path: Path, name: str) -> FileKind:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            _check_bomb(infos, name)
            names = {i.filename for i in infos}
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                raise refuse(name, "含宏的 Office 文档", "请另存为不含宏的 docx、xlsx 或 PDF 后上传")
            if "[Content_Types].xml" in names:
                return _ooxml_kind(z, name)
            if "OFD.xml" in names:
                root = _xml(z, "OFD.xml", name)
                if root.tag.rsplit("}", 1)[-1] == "OFD":
                    return FileKind.OFD
            raise refuse(name, "ZIP 压缩包", "请解压后分别上传其中的照片或文档")
    except zipfile.BadZipFile:
        raise InvalidValue(
            f"文件「{name}」看起来是 Office 文档或压缩包，但已损坏，无法打开；请重新保存后上传",
            field="attachments",
            value=name,
            label="附件",
        ) from None


def _check_bomb(infos: list[zipfile.ZipInfo], name: str) -> None:
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if len(infos) > _MAX_ENTRIES or unpacked > _MAX_UNPACKED or unpacked / packed > _MAX_RATIO:
        raise refuse(name, f"异常的压缩文件（{len(infos)} 个部件，解压后 {unpacked // (1024 * 1024)} MB）")


def _xml(z: zipfile.ZipFile, member: str, name: str):
    info = z.getinfo(member)
    if info.file_size > _MAX_MANIFEST:
        raise refuse(name, "异常的 Office 文档（清单文件过大）")
    try:
        return ElementTree.fromstring(z.read(member))
    except (ElementTree.ParseError, DefusedXmlException, zipfile.BadZipFile, ValueError):
        raise InvalidValue(
            f"文件「{name}」的文档结构已损坏（{member} 无法解析）；请重新保存后上传",
            field="attachments",
            value=name,
            label="附件",
        ) from None


def _ooxml_kind(z: zipfile.ZipFile, name: str) -> FileKind:
    root = _xml(z, "[Content_Types].xml", name)
    declared = [el.get("ContentType", "") for el in root if el.tag.rsplit("}", 1)[-1] == "Override"]
    if any(marker in t for t in declared for marker in _MACRO_TYPES):
        raise refuse(name, "含宏的 Office 文档", "请另存为不含宏的 docx、xlsx 或 PDF 后上传")
    kinds = {_OOXML_MAIN[t] for t in declared if t in _OOXML_MAIN}
    if len(kinds) == 1:
        return kinds.pop()
    if any("presentationml" in t for t in declared):
        raise refuse(name, "PowerPoint 演示文稿", "请另存为 PDF 后上传")
    raise refuse(name, "无法识别的 Office 文档（不是 docx 或 xlsx）", "请另存为 docx、xlsx 或 PDF 后上传")


def _pdf_flags(path: Path, name: str) -> dict:
    """Scan a PDF for scripts and automatic actions, and check it is complete. Names inside compressed
    object streams are not seen: the flag means "found", not "none there"; duban never renders a PDF."""
    found: set[str] = set()
    tail = b""
    with path.open("rb") as f:
        carry = b""
        while chunk := f.read(1024 * 1024):
            window = carry + chunk
            found.update(m.group(1).decode() for m in _PDF_ACTIVE.finditer(window))
            carry = window[-32:]
            tail = (tail + chunk)[-4096:]
    if b"%%EOF" not in tail:
        raise InvalidValue(
            f"文件「{name}」是不完整的 PDF（缺少文件结尾），可能上传中断或文件已损坏；请重新导出后上传",
            field="attachments",
            value=name,
            label="附件",
        )
    return {"pdf_active": sorted(found)} if found else {}
