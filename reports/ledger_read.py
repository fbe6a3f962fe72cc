"""Read a ledger file (.xlsx or .csv) into header-mapped raw rows, reporting every structural problem.

Finds the header row (county ledgers often have a title row above it), maps headers to columns by name
and known synonyms, skips blank rows, and reports — never silently drops — unknown or duplicate
columns, missing required columns, merged cells over data, and values in columns without a header.
Workbooks are read in openpyxl's read-only mode (streaming); merged ranges, which that mode does not
expose, are read from the sheet's XML with a streaming scan.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.columns import BY_KEY, REQUIRED, Column, col_letter, column_for
from workflow.errors import InvalidValue

HEADER_SCAN_ROWS = 20


@dataclass
class Issue:
    """One problem found in the file: where (row, column header, cell) and what."""

    row: int | None
    column: str | None
    cell: str | None
    value: str
    message: str

    def line(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"「{self.column}」列" + (f"（{self.cell}）" if self.cell else ""))
        elif self.cell:
            where.append(f"单元格 {self.cell}")
        value = f"值「{self.value}」：" if self.value != "" else ""
        return ("，".join(where) + "：" if where else "") + value + self.message

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "cell": self.cell, "value": self.value, "message": self.message}


@dataclass
class Sheet:
    source: str
    sheet: str
    header_row: int = 0
    columns: dict[str, int] = field(default_factory=dict)  # column key → 0-based index
    rows: list[tuple[int, tuple]] = field(default_factory=list)  # (1-based row number, values)
    issues: list[Issue] = field(default_factory=list)
    blank_rows: int = 0

    def cell(self, key: str, row: int) -> str | None:
        index = self.columns.get(key)
        return None if index is None else f"{col_letter(index)}{row}"


def read_ledger(path: Path, progress=None) -> Sheet:
    """Read ``path``; ``progress(n)`` is called every 1,000 rows read."""
    if not path.exists():
        raise InvalidValue(f"台账文件「{path}」不存在")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, progress)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, progress)
    if suffix in (".xls", ".et", ".wps"):
        raise InvalidValue(f"「{path.name}」是旧版 Excel/WPS 格式，请在 Excel 或 WPS 中另存为 .xlsx 后再导入")
    raise InvalidValue(f"台账文件「{path.name}」的扩展名应为 .xlsx 或 .csv")


# -- xlsx ------------------------------------------------------------------------------------------


def _read_xlsx(path: Path, progress=None) -> Sheet:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidValue(f"无法读取「{path.name}」：不是有效的 .xlsx 文件（{type(exc).__name__}）") from None
    try:
        candidates = sorted(wb.worksheets, key=lambda ws: ws.title != "问题台账")
        for ws in candidates:
            rows = _sheet_rows(path, wb, ws)
            head: list[tuple[int, tuple]] = []
            for item in rows:
                head.append(item)
                if len(head) >= HEADER_SCAN_ROWS:
                    break
            found = _find_header([values for _, values in head])
            if found is None:
                continue
            sheet = Sheet(path.name, ws.title)
            _take_header(sheet, head[found][0] - 1, head[found][1])
            _take_rows(sheet, head[found + 1 :])
            _take_rows(sheet, rows, progress)
            _check_merged(sheet, _merged_ranges(path, ws))
            return sheet
    finally:
        wb.close()
    names = "、".join(f"「{ws.title}」" for ws in wb.worksheets)
    raise InvalidValue(
        f"「{path.name}」的工作表 {names} 前 {HEADER_SCAN_ROWS} 行中都没有找到台账表头"
        f"（应含「项目名称」「问题名称」「问题类型」等列名）"
    )


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _C, _V, _IS, _T = _NS + "row", _NS + "c", _NS + "v", _NS + "is", _NS + "t"


def _sheet_rows(path: Path, wb, ws):
    """(row number, values) for every row of ``ws``, blank rows included.

    A streaming parse of the sheet XML with the standard library's expat-based ``iterparse``: about twice
    as fast as openpyxl's own read-only rows, which build a cell object per cell. openpyxl still supplies
    the workbook's shared strings, the styles that are dates and the date epoch; if those (private, in
    the pinned openpyxl 3.1.5) attributes are missing, openpyxl's own row reader is used.
    """
    member = getattr(ws, "_worksheet_path", None)
    dates = getattr(wb, "_date_formats", None)
    if member is None or dates is None:
        yield from ((i, values) for i, values in enumerate(ws.iter_rows(values_only=True), start=1))
        return
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.datetime import from_excel, from_ISO8601

    strings, epoch = wb.shared_strings, wb.epoch
    expected = 0
    with zipfile.ZipFile(path) as z, z.open(member.lstrip("/")) as f:
        parent = None
        for event, el in iterparse(f, events=("start", "end")):
            if event == "start":
                if el.tag == _NS + "sheetData":
                    parent = el
                continue
            if el.tag != _ROW:
                continue
            expected += 1
            number = int(el.get("r") or expected)
            while expected < number:  # rows Excel left out of the file are blank rows
                yield expected, ()
                expected += 1
            out: list = []
            for c in el:
                if c.tag != _C:
                    continue
                ref = c.get("r")
                index = _ref_col(ref) if ref else len(out)
                if index > len(out):
                    out.extend([None] * (index - len(out)))
                kind = c.get("t", "n")
                if kind == "inlineStr":
                    node = c.find(_IS)
                    value = None if node is None else "".join(t.text or "" for t in node.iter(_T))
                else:
                    text = c.findtext(_V)
                    if text is None:
                        value = None
                    elif kind == "s":
                        value = strings[int(text)]
                    elif kind == "n":
                        value = float(text) if any(ch in text for ch in ".eE") else int(text)
                        style = c.get("s")
                        if style and int(style) in dates:
                            value = from_excel(value, epoch)
                    elif kind == "b":
                        value = text == "1"
                    elif kind == "d":
                        value = from_ISO8601(text)
                    else:  # "str" (a formula's text result), "e" (an error such as #N/A)
                        value = text
                out.append(value)
            if parent is not None:
                parent.clear()  # drop parsed rows: memory stays flat however long the sheet
            yield number, tuple(out)


def _ref_col(ref: str) -> int:
    n = 0
    for ch in ref:
        if ch.isdigit():
            break
        n = n * 26 + ord(ch) - 64
    return n - 1


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _merged_ranges(path: Path, ws) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row), 0-based columns, from the sheet XML, streamed in chunks."""
    member = getattr(ws, "_worksheet_path", None)
    if not member:
        return []
    out = []
    with zipfile.ZipFile(path) as z, z.open(member.lstrip("/")) as f:
        tail = b""
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            data = tail + chunk
            last = 0
            for m in _MERGE_RE.finditer(data):
                a, r1, b, r2 = m.groups()
                out.append((_col_index(a), int(r1), _col_index(b or a), int(r2 or r1)))
                last = m.end()
            tail = data[max(last, len(data) - 200) :]
    return sorted(set(out))


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters.decode():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _check_merged(sheet: Sheet, ranges) -> None:
    by_index = {i: k for k, i in sheet.columns.items()}
    for c1, r1, c2, r2 in ranges:
        if r2 < sheet.header_row:
            continue  # a title above the header
        ref = f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"
        headers = [BY_KEY[by_index[i]].header for i in range(c1, c2 + 1) if i in by_index]
        what = "、".join(f"「{h}」" for h in headers) or "无表头的"
        if r1 <= sheet.header_row:
            sheet.issues.append(
                Issue(r1, None, ref, "", f"表头中有合并单元格 {ref}；表头只能占一行，请取消合并，每列一个列名")
            )
        else:
            rows = f"第 {r1}–{r2} 行" if r2 > r1 else f"第 {r1} 行"
            sheet.issues.append(
                Issue(
                    r1, None, ref, "", f"合并单元格 {ref}（{rows}，{what}列）：导入前请取消合并，并在每一行填入各自的值"
                )
            )


# -- csv -------------------------------------------------------------------------------------------


def _read_csv(path: Path, progress=None) -> Sheet:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence
        raise InvalidValue(f"「{path.name}」既不是 UTF-8 也不是 GBK 编码")
    records = list(csv.reader(io.StringIO(text, newline="")))
    found = _find_header(records[:HEADER_SCAN_ROWS])
    if found is None:
        raise InvalidValue(
            f"「{path.name}」前 {HEADER_SCAN_ROWS} 行中没有找到台账表头"
            f"（应含「项目名称」「问题名称」「问题类型」等列名）"
        )
    sheet = Sheet(path.name, "CSV")
    _take_header(sheet, found, records[found])
    _take_rows(sheet, list(enumerate(records[found + 1 :], start=found + 2)), progress)
    return sheet


# -- shared ----------------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _find_header(rows: list) -> int | None:
    best, best_hits = None, 2
    for i, values in enumerate(rows):
        hits = sum(1 for v in values or () if not _blank(v) and column_for(v) is not None)
        if hits > best_hits:
            best, best_hits = i, hits
    return best


def _take_header(sheet: Sheet, index: int, values) -> None:
    sheet.header_row = index + 1
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if _blank(value):
            continue
        col: Column | None = column_for(value)
        ref = f"{col_letter(i)}{sheet.header_row}"
        if col is None:
            known = "、".join(c.header for c in BY_KEY.values())
            sheet.issues.append(
                Issue(
                    sheet.header_row,
                    None,
                    ref,
                    str(value).strip(),
                    f"不是台账的列名；可用的列名：{known}（无需导入的列请删除）",
                )
            )
            continue
        if col.key in seen:
            sheet.issues.append(
                Issue(
                    sheet.header_row,
                    None,
                    ref,
                    str(value).strip(),
                    f"与 {col_letter(seen[col.key])} 列重复，都是「{col.header}」；请只保留一列",
                )
            )
            continue
        seen[col.key] = i
    sheet.columns = seen
    missing = [BY_KEY[k].header for k in REQUIRED if k not in seen]
    if "title" in missing and "description" in seen:
        missing.remove("问题名称")  # the description can serve as the title (see ledger_import)
    if missing:
        sheet.issues.append(
            Issue(
                sheet.header_row,
                None,
                None,
                "",
                f"缺少必需的列：{'、'.join(missing)}（表头在第 {sheet.header_row} 行）",
            )
        )


def _take_rows(sheet: Sheet, numbered, tick=None) -> None:
    width = max(sheet.columns.values(), default=-1) + 1
    known = set(sheet.columns.values())
    stray: dict[int, list] = {}  # column index → [first row, last row, count, first value]
    for number, values in numbered:
        values = tuple(values or ())
        if all(_blank(v) for v in values):
            sheet.blank_rows += 1
            continue
        for i in range(len(values)):
            if i not in known and not _blank(values[i]):
                hit = stray.setdefault(i, [number, number, 0, str(values[i]).strip()[:40]])
                hit[1], hit[2] = number, hit[2] + 1
        if len(values) < width:
            values = values + (None,) * (width - len(values))
        sheet.rows.append((number, values))
        if tick and len(sheet.rows) % 1000 == 0:
            tick(1000)
    for i, (first, last, count, value) in sorted(stray.items()):
        ref = f"{col_letter(i)}{first}" + (f":{col_letter(i)}{last}" if last > first else "")
        if any(x.cell == f"{col_letter(i)}{sheet.header_row}" for x in sheet.issues):
            continue  # its unknown header is already reported
        sheet.issues.append(
            Issue(
                first,
                None,
                ref,
                value,
                f"{col_letter(i)} 列有 {count} 个单元格有内容，但该列没有列名，"
                f"内容无法导入；请删除这些内容或补上台账的列名",
            )
        )
