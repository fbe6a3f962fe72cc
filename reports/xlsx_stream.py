"""A bounded, streaming reader of .xlsx workbooks that may be hostile.

Every limit is checked before the work it bounds, and every way a workbook can be wrong ends in one
``InvalidValue`` (field "file") whose Chinese message names the file, the part or cell, and the limit:

- the file's size, the zip's member count, each part's uncompressed size and compression ratio (zip
  bombs), and the bytes decompressed from all parts together (counted as they are read);
- XML through lxml with entities unresolved, no network, no DTD (a DOCTYPE is refused outright) and
  libxml2's default safety limits (``huge_tree`` off: depth, text node and name sizes);
- sheets: the declared dimension and the real rows and columns against the row/column limits; cell
  references must be well formed, inside Excel's grid, in the row they belong to and in increasing order
  (so a reference such as ``ZZZZZZ5`` or a row number of 2,000,000,000 costs nothing before it is refused);
- shared-string indexes, style ids, numbers, booleans and cell text length (Excel's 32,767 characters).

Speed and memory: lxml reports only the elements a part is read for (a sheet's cells and rows, a table's
string items …), each dropped once used; everything else stays in C. A watchdog on the input stream counts
the parsed tree every MiB read, so elements nobody asked for cannot pile up (``TREE_CAP``). The shared
strings are held compactly (``reports.packed.SharedStrings``, their characters capped).

Formula cells: the value Excel cached when it last saved the file is read (what people saw); no formula is
ever evaluated. A formula without a cached value (a file written by a program, never opened in Excel or
WPS) is a ``BadCell``, as is an error value such as ``#N/A``: the caller reports it for the cell concerned
if that column is imported, and ignores it otherwise.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from lxml import etree

from reports.cells import xlsx_untext
from reports.packed import SharedStrings
from reports.read_limits import EXCEL_CELL_CHARS, MiB, ReadLimits, size_text
from workflow.errors import InvalidValue


@dataclass(frozen=True)
class BadCell:
    """A cell with no usable value: ``shown`` is what it holds (for messages), ``message`` why it is unusable."""

    shown: str
    message: str

    def __str__(self) -> str:
        return self.shown


@dataclass(frozen=True)
class SheetRef:
    name: str
    member: str


MAIN_NS = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
PACKAGE_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
# ECMA-376 built-in formats 27–36 and 50–58 are the East Asian (zh-CN: 年月日) date and time formats.
_EAST_ASIAN_DATES = frozenset(range(27, 37)) | frozenset(range(50, 59))
TREE_CAP = 100_000  # elements a part's parsed tree may hold at once (a row and what surrounds it: a few hundred)
_ROOTS = {  # part → (root element, namespaces)
    "工作簿": ("workbook", MAIN_NS),
    "工作表": ("worksheet", MAIN_NS),
    "共享字符串": ("sst", MAIN_NS),
    "样式": ("styleSheet", MAIN_NS),
    "关系": ("Relationships", (PACKAGE_NS,)),
}
_PARSE_ERRORS = (etree.LxmlError, zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError)


class _Tags:
    """Element names in the namespace a part uses (transitional or strict OOXML)."""

    def __init__(self, ns: str):
        names = "row c v f t r rPh si sheet sheets xf cellXfs numFmt numFmts workbookPr sheetData mergeCells mergeCell dimension"
        for name in names.split():
            setattr(self, name.lower(), f"{{{ns}}}{name}")
        self.is_ = f"{{{ns}}}is"


_TAGS = {ns: _Tags(ns) for ns in MAIN_NS}


class Workbook:
    """An open workbook: ``sheets`` in workbook order; ``rows(sheet)`` streams one; ``merged`` is filled when
    a ``rows`` iteration reaches the end of its sheet. Use as a context manager."""

    def __init__(self, path: Path, limits: ReadLimits | None = None):
        self.path, self.name = path, path.name
        self.limits = limits or ReadLimits()
        self.spent = 0
        self.merged: list[tuple[int, int, int, int]] = []
        size = path.stat().st_size
        if size > self.limits.max_file_bytes:
            self.refuse(
                f"有 {size_text(size)}，超过导入上限 {size_text(self.limits.max_file_bytes)}；"
                f"请分成几个文件导入，或删除多余的工作表和图片后另存"
            )
        self._check_member_count(path)
        try:
            self.zip = zipfile.ZipFile(path)
        except _PARSE_ERRORS + (ValueError, struct.error, UnicodeDecodeError):
            self.refuse("不是有效的 .xlsx 文件（无法作为 zip 压缩包打开）；请在 Excel 或 WPS 中另存为 .xlsx 后再导入")
        try:
            self._names = {n.lower(): n for n in self.zip.namelist()}
            self._load()
        except BaseException:
            self.zip.close()
            raise

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc) -> None:
        self.zip.close()

    def refuse(self, message: str) -> NoReturn:
        raise InvalidValue(f"「{self.name}」{message}", field="file", value=self.name)

    # -- the zip ------------------------------------------------------------------------------------

    def _check_member_count(self, path: Path) -> None:
        """Read the end-of-central-directory record before zipfile builds an object per member."""
        with path.open("rb") as f:
            f.seek(0, 2)
            end = f.tell()
            f.seek(max(0, end - 65_557))
            tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            self.refuse("不是有效的 .xlsx 文件（无法作为 zip 压缩包打开）；请在 Excel 或 WPS 中另存为 .xlsx 后再导入")
        total = struct.unpack("<H", tail[at + 10 : at + 12])[0]
        if total > self.limits.max_members:
            self.refuse(f"压缩包中有 {total} 个文件，超过上限 {self.limits.max_members} 个，不像是台账工作簿")

    def _member(self, name: str) -> zipfile.ZipInfo | None:
        real = self._names.get(name.lstrip("/").lower())
        return None if real is None else self.zip.getinfo(real)

    def _open(self, info: zipfile.ZipInfo):
        limits, size = self.limits, info.file_size
        if size > MiB and size > limits.max_ratio * max(info.compress_size, 1):
            self.refuse(
                f"中的「{info.filename}」压缩比异常（{size / max(info.compress_size, 1):.0f} 倍，"
                f"上限 {limits.max_ratio} 倍），可能是恶意构造的文件（压缩炸弹），拒绝导入"
            )
        if size > limits.max_unzipped_bytes:
            self.refuse(
                f"中的「{info.filename}」解压后有 {size_text(size)}，超过导入上限 {size_text(limits.max_unzipped_bytes)}；"
                f"请分成几个文件导入"
            )
        try:
            return _Counted(self, self.zip.open(info), info.filename)
        except _PARSE_ERRORS + (ValueError,):
            self.refuse(f"中的「{info.filename}」无法解压，文件已损坏；请在 Excel 或 WPS 中打开后另存再导入")

    def charge(self, n: int) -> None:
        self.spent += n
        if self.spent > self.limits.max_unzipped_bytes:
            self.refuse(f"解压后超过 {size_text(self.limits.max_unzipped_bytes)}（导入上限）；请分成几个文件导入")

    def too_many_elements(self, info: zipfile.ZipInfo) -> NoReturn:
        self.refuse(
            f"中的「{info.filename}」有超过 {self.limits.max_elements} 个 XML 元素（导入上限），不像是台账；"
            f"请分成几个文件导入"
        )

    def parse(self, info: zipfile.ZipInfo, what: str, names: str) -> Iterator:
        """The part's root element (checked to be the part ``what`` names), then each element called ``names``
        (space-separated local names) as it ends; the caller frees what it has used (``drop``). Hostile XML
        is refused, and so is a part with more than ``max_elements`` of them or a tree that grows past
        ``TREE_CAP`` elements (the stream checks every MiB it reads)."""
        root_name, namespaces = _ROOTS[what]
        tags = [f"{{{ns}}}{name}" for ns in namespaces for name in (root_name, *names.split())]
        with self._open(info) as f:
            it = etree.iterparse(  # no entities, no DTD, no network, libxml2's default size limits
                f,
                events=("start", "end"),
                tag=tags,
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
            )
            most, n = self.limits.max_elements, 0
            try:
                for event, el in it:
                    if f.root is None:
                        self._check_root(el, event, info, what, root_name)
                        f.root = el
                        yield el
                    elif event == "end" and el is not f.root:
                        n += 1
                        if n > most:
                            self.refuse(
                                f"中的「{info.filename}」有超过 {most} 个单元格等元素（导入上限），不像是台账；"
                                f"请分成几个文件导入"
                            )
                        yield el
            except _PARSE_ERRORS as exc:
                self.refuse(
                    f"中的「{info.filename}」不是有效的 XML（{_short(exc)}）；文件已损坏，"
                    f"请在 Excel 或 WPS 中打开后另存再导入"
                )

    def _check_root(self, el: etree._Element, event: str, info: zipfile.ZipInfo, what: str, root_name: str) -> None:
        docinfo = el.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            self.refuse(f"中的「{info.filename}」含有 DTD 声明（工作簿从不需要），拒绝导入")
        if event != "start" or etree.QName(el).localname != root_name or el.getparent() is not None:
            root = el.getroottree().getroot()
            self.refuse(f"中的「{info.filename}」不是 Excel 的{what}部件（根元素 {_short_text(str(root.tag))}）")

    # -- workbook, shared strings, styles -------------------------------------------------------------

    def _require(self, name: str) -> zipfile.ZipInfo:
        info = self._member(name)
        if info is None:
            self.refuse(f"缺少「{name}」，不是完整的 .xlsx 工作簿；请在 Excel 或 WPS 中另存为 .xlsx 后再导入")
        return info

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (type, target part name) of ``part``."""
        folder, base = posixpath.split(part)
        info = self._member(posixpath.join(folder, "_rels", base + ".rels"))
        out: dict[str, tuple[str, str]] = {}
        if info is None:
            return out
        elements = self.parse(info, "关系", "Relationship")
        next(elements, None)
        for el in elements:
            if el.get("TargetMode") != "External":
                target = el.get("Target") or ""
                name = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
                out[el.get("Id") or ""] = (el.get("Type") or "", posixpath.normpath(name))
                if len(out) > self.limits.max_members:
                    self.refuse(f"中的「{info.filename}」条目过多")
            drop(el)
        return out

    def _load(self) -> None:
        book = "xl/workbook.xml"
        for kind, target in self._rels("").values():
            if kind.endswith("/officeDocument"):
                book = target
        info = self._require(book)
        rels = self._rels(book)
        self.sheets: list[SheetRef] = []
        self.date1904 = False
        elements = self.parse(info, "工作簿", "sheet workbookPr")
        root = next(elements, None)
        tags = tags_for(root)
        for el in elements:
            if el.tag == tags.workbookpr:
                self.date1904 = (el.get("date1904") or "").lower() in ("1", "true")
            elif el.getparent().tag == tags.sheets:
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), "")
                kind, target = rels.get(rid, ("", ""))
                if kind.endswith("/worksheet") and self._member(target) is not None:
                    self.sheets.append(SheetRef(_short_text(el.get("name") or "", 100), target))
            drop(el)
        if not self.sheets:
            self.refuse("中没有工作表")
        from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

        self.epoch = MAC_EPOCH if self.date1904 else WINDOWS_EPOCH
        strings = styles = None
        for kind, target in rels.values():
            if kind.endswith("/sharedStrings"):
                strings = self._member(target)
            elif kind.endswith("/styles"):
                styles = self._member(target)
        self.strings = self._shared_strings(strings) if strings else SharedStrings()
        self.dates, self.styles = self._styles(styles) if styles else (frozenset(), 1)

    def _shared_strings(self, info: zipfile.ZipInfo) -> SharedStrings:
        out = SharedStrings()
        limits = self.limits
        elements = self.parse(info, "共享字符串", "si")
        tags = tags_for(next(elements, None))
        for el in elements:
            text = rich_text(el, tags)
            drop(el)
            if len(text) > EXCEL_CELL_CHARS:
                self.refuse(
                    f"中第 {len(out) + 1} 个共享字符串有 {len(text)} 个字符，超过 Excel 的上限 {EXCEL_CELL_CHARS}"
                )
            out.append(xlsx_untext(text))
            if len(out) > limits.max_shared_strings:
                self.refuse(f"中的共享字符串超过 {limits.max_shared_strings} 个（导入上限）")
            if out.chars > limits.max_shared_chars:
                self.refuse(f"中的共享字符串合计超过 {limits.max_shared_chars} 个字符（导入上限）；请分成几个文件导入")
        return out

    def _styles(self, info: zipfile.ZipInfo) -> tuple[frozenset[int], int]:
        """(indexes of the cell formats that show dates, number of cell formats)."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        custom: dict[int, str] = {}
        formats: list[int] = []
        elements = self.parse(info, "样式", "numFmt xf font fill border dxf cellStyle")
        tags = tags_for(next(elements, None))
        for el in elements:
            parent = el.getparent().tag
            if el.tag == tags.numfmt and parent == tags.numfmts:
                custom[_int(el.get("numFmtId"), -1)] = (el.get("formatCode") or "")[:255]
                if len(custom) > 10_000:
                    self.refuse("中的数字格式超过 10000 个")
            elif el.tag == tags.xf and parent == tags.cellxfs:
                formats.append(_int(el.get("numFmtId"), 0))
                if len(formats) > self.limits.max_styles:
                    self.refuse(f"中的单元格样式超过 {self.limits.max_styles} 个")
            drop(el)
        dates = frozenset(
            i
            for i, fmt in enumerate(formats)
            if fmt in _EAST_ASIAN_DATES or is_date_format(custom.get(fmt, BUILTIN_FORMATS.get(fmt)))
        )
        return dates, max(len(formats), 1)

    # -- a sheet ------------------------------------------------------------------------------------

    def rows(self, sheet: SheetRef) -> Iterator[tuple[int, tuple]]:
        """(row number, values) for each row element of ``sheet``, in order; values are indexed by column
        (0-based) and are None, str, int, float, bool, datetime, BadCell or SharedRef (text: ``self.strings``)."""
        from reports.xlsx_sheet import SheetReader

        reader = SheetReader(self, sheet)
        yield from reader.rows()
        self.merged = reader.merged


class _Counted:
    """A part's stream that charges every byte read to the workbook's total, and every MiB counts the tree
    its parser has built under ``root``: more than ``TREE_CAP`` elements means elements nobody reads are
    piling up (a hostile file), refused before they cost real memory."""

    def __init__(self, book: Workbook, f, name: str):
        self.book, self.f, self.name = book, f, name
        self.root = None  # set by Workbook.parse once the parser has met the root element
        self.unchecked = 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n if 0 < n <= MiB else MiB)
        self.book.charge(len(data))
        self.unchecked += len(data)
        if self.unchecked >= MiB and self.root is not None:
            self.unchecked = 0
            if sum(1 for _ in itertools.islice(self.root.iter(), TREE_CAP + 1)) > TREE_CAP:
                self.book.refuse(f"中的「{self.name}」结构异常（有大量无法识别的元素），拒绝导入")
        return data

    def __enter__(self) -> _Counted:
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()


def tags_for(root: etree._Element | None) -> _Tags | None:
    """The names in the namespace of a part whose root ``Workbook.parse`` has checked (None: empty part)."""
    return None if root is None else _TAGS[etree.QName(root).namespace]


def rich_text(el: etree._Element, tags: _Tags) -> str:
    """The text of a string item (``si`` or ``is``): its ``t``, or its runs' ``t``; phonetic runs skipped."""
    parts = []
    for child in el:
        if child.tag == tags.t:
            parts.append(child.text or "")
        elif child.tag == tags.r:
            for t in child.iterchildren(tags.t):
                parts.append(t.text or "")
    return "".join(parts)


def drop(el: etree._Element) -> None:
    """Free an element that has been used, and the siblings parsed before it."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and len(text) < 10 else default


def _short(exc: BaseException) -> str:
    return _short_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _short_text(text: str, limit: int = 80) -> str:
    """``text`` safe to show in a message: non-printable characters (controls, bidi …) as "?", shortened."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
