"""Read a ledger file (.xlsx or .csv) into header-mapped raw rows, reporting every structural problem.

Finds the header row (county ledgers often have a title row above it), maps headers to columns by name
and known synonyms, skips blank rows, and reports — never silently drops — unknown or duplicate
columns, missing required columns, merged cells over data, and values in columns without a header.
Workbooks are streamed by ``reports.xlsx_stream`` within ``ReadLimits`` (size, zip bombs, rows, columns,
hostile XML): a file that breaks a limit or is damaged raises one ``InvalidValue`` (field "file") naming
the limit or the cell. CSV is streamed too, with the same row and column limits, and every cell passes
through ``csv_uncell`` (the inverse of the export's formula-injection quote, reports/cells.py).
Free-text cells come back exactly as written; formula cells give the value Excel saved with them.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from reports.cells import csv_uncell
from reports.columns import BY_KEY, REQUIRED, Column, col_letter, column_for
from reports.packed import PackedRows, SharedRef
from reports.read_limits import EXCEL_CELL_CHARS, MiB, ReadLimits, size_text
from reports.xlsx_stream import BadCell, Workbook
from workflow.errors import InvalidValue

HEADER_SCAN_ROWS = 20
HEADER_CHARS = 200  # of a shared string, enough to tell a header (or show a cell that is not one)


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
    rows: PackedRows = field(default_factory=PackedRows)  # (1-based row number, values), held compactly
    issues: list[Issue] = field(default_factory=list)
    blank_rows: int = 0

    def cell(self, key: str, row: int) -> str | None:
        index = self.columns.get(key)
        return None if index is None else f"{col_letter(index)}{row}"


def read_ledger(path: Path, progress=None, limits: ReadLimits | None = None) -> Sheet:
    """Read ``path`` within ``limits``; ``progress(n)`` is called every 1,000 rows read.

    Any problem with the file itself (too large, damaged, hostile) raises ``InvalidValue`` with field "file";
    problems with rows, columns and cells are collected in ``Sheet.issues``."""
    limits = limits or ReadLimits()
    if not path.exists():
        raise InvalidValue(f"台账文件「{path}」不存在", field="file", value=str(path))
    if not path.is_file():
        raise InvalidValue(f"「{path}」不是文件", field="file", value=str(path))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, limits, progress)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, limits, progress)
    if suffix in (".xls", ".et", ".wps"):
        raise InvalidValue(
            f"「{path.name}」是旧版 Excel/WPS 格式，请在 Excel 或 WPS 中另存为 .xlsx 后再导入",
            field="file",
            value=path.name,
        )
    raise InvalidValue(f"台账文件「{path.name}」的扩展名应为 .xlsx 或 .csv", field="file", value=path.name)


# -- xlsx ------------------------------------------------------------------------------------------


def _read_xlsx(path: Path, limits: ReadLimits, progress=None) -> Sheet:
    with Workbook(path, limits) as wb:
        candidates = sorted(wb.sheets, key=lambda ref: ref.name != "问题台账")
        for ref in candidates:
            rows = wb.rows(ref)
            head: list[tuple[int, tuple]] = []
            for item in rows:
                head.append(item)
                if len(head) >= HEADER_SCAN_ROWS:
                    break
            texts = [wb.strings.resolve(values, HEADER_CHARS) for _, values in head]  # headers are short
            found = _find_header(texts)
            if found is None:
                rows.close()
                continue
            sheet = Sheet(path.name, ref.name, rows=PackedRows(wb.strings))
            _take_header(sheet, head[found][0] - 1, texts[found])
            _take_rows(sheet, itertools.chain(head[found + 1 :], rows), limits, progress)
            _check_merged(sheet, sorted(set(wb.merged)))
            return sheet
    names = "、".join(f"「{ref.name}」" for ref in wb.sheets[:10])
    raise InvalidValue(
        f"「{path.name}」的工作表 {names} 前 {HEADER_SCAN_ROWS} 行中都没有找到台账表头"
        f"（应含「项目名称」「问题名称」「问题类型」等列名）",
        field="file",
        value=path.name,
    )


def _check_merged(sheet: Sheet, ranges) -> None:
    by_index = {i: k for k, i in sheet.columns.items()}
    for c1, r1, c2, r2 in ranges:
        if r2 < sheet.header_row:
            continue  # a title above the header
        ref = f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"
        headers = [BY_KEY[by_index[i]].header for i in sorted(by_index) if c1 <= i <= c2]
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


def _read_csv(path: Path, limits: ReadLimits, progress=None) -> Sheet:
    def refuse(message: str) -> NoReturn:
        raise InvalidValue(f"「{path.name}」{message}", field="file", value=path.name)

    size = path.stat().st_size
    if size > limits.max_csv_bytes:
        refuse(f"有 {size_text(size)}，超过 CSV 导入上限 {size_text(limits.max_csv_bytes)}；请分成几个文件导入")
    encoding = _csv_encoding(path)  # Excel on Chinese Windows saves CSV as GBK
    with path.open(encoding=encoding, newline="") as f:
        records = _csv_records(f, limits, refuse)
        try:
            head = list(itertools.islice(records, HEADER_SCAN_ROWS))
            found = _find_header([values for _, values in head])
            if found is None:
                refuse(f"前 {HEADER_SCAN_ROWS} 行中没有找到台账表头（应含「项目名称」「问题名称」「问题类型」等列名）")
            sheet = Sheet(path.name, "CSV")
            _take_header(sheet, head[found][0] - 1, head[found][1])
            _take_rows(sheet, itertools.chain(head[found + 1 :], records), limits, progress)
        except UnicodeDecodeError:
            refuse("既不是 UTF-8 也不是 GBK（GB18030）编码的文本；请在 Excel 或 WPS 中另存为 CSV UTF-8 后再导入")
    return sheet


def _csv_encoding(path: Path) -> str:
    """ "utf-8-sig" if the whole file is UTF-8 (with or without a BOM), else "gb18030"; read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        try:
            while chunk := f.read(MiB):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def _csv_records(f, limits: ReadLimits, refuse) -> Iterator[tuple[int, tuple]]:
    """(record number, cells with csv_cell's quote removed); lines, records, columns and cells bounded."""
    longest = limits.max_columns * (EXCEL_CELL_CHARS + 3)

    def lines() -> Iterator[str]:
        number = 0
        while line := f.readline(longest + 1):
            number += 1
            if len(line) > longest:
                refuse(f"第 {number} 行超过 {longest} 个字符，不像是台账；请检查文件")
            if "\x00" in line:
                refuse(f"第 {number} 行含有 NUL 字符，不是文本文件；请在 Excel 或 WPS 中另存为 CSV 后再导入")
            yield line

    reader = csv.reader(lines())
    number = 0
    while True:
        try:
            record = next(reader, None)
        except csv.Error as exc:
            refuse(f"第 {reader.line_num} 行不是有效的 CSV（{exc}）")
        if record is None:
            return
        number += 1
        if number > limits.max_rows:
            refuse(f"超过导入上限 {limits.max_rows} 行；请分成几个文件导入")
        if len(record) > limits.max_columns:
            if any(cell.strip() for cell in record[limits.max_columns :]):
                refuse(f"第 {number} 行超过导入上限 {limits.max_columns} 列；请删除多余的列后再导入")
            record = record[: limits.max_columns]
        for cell in record:
            if len(cell) > EXCEL_CELL_CHARS:
                refuse(f"第 {number} 行有 {len(cell)} 个字符的单元格，超过上限 {EXCEL_CELL_CHARS}")
        yield number, tuple(csv_uncell(cell) for cell in record)


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


def _take_rows(sheet: Sheet, numbered, limits: ReadLimits, tick=None) -> None:
    """Keep each non-blank row's cells under a known header; count blank rows (rows the file leaves out
    included); report cells without a usable value (``BadCell``) in imported columns and values in columns
    without a header. The text kept is capped (``max_kept_chars``): it bounds the time every later step takes."""
    width = max(sheet.columns.values(), default=-1) + 1
    known = {i: BY_KEY[k] for k, i in sheet.columns.items()}
    strings = sheet.rows.strings

    def blank(value: Any) -> bool:
        return strings.blank(value) if type(value) is SharedRef else _blank(value)

    stray: dict[int, list] = {}  # column index → [first row, last row, count, first value]
    last, kept = sheet.header_row, 0
    for number, values in numbered:
        sheet.blank_rows += max(number - last - 1, 0)
        last = number
        values = tuple(values or ())
        if all(blank(v) for v in values):
            sheet.blank_rows += 1
            continue
        usable, text = True, 0
        for i, value in enumerate(values):
            if blank(value):
                continue
            col = known.get(i)
            if col is None:
                shown = strings.head(value, 40) if type(value) is SharedRef else value
                hit = stray.setdefault(i, [number, number, 0, str(shown).strip()[:40]])
                hit[1], hit[2] = number, hit[2] + 1
            elif isinstance(value, BadCell):
                if col.imported:
                    sheet.issues.append(
                        Issue(number, col.header, f"{col_letter(i)}{number}", value.shown[:60], value.message)
                    )
                    usable = False
            elif type(value) is SharedRef:
                kept += strings.length(value)
            elif isinstance(value, str):
                kept += len(value)
                text += len(value)
        if kept > limits.max_kept_chars:
            raise InvalidValue(
                f"「{sheet.source}」各列文字合计超过 {limits.max_kept_chars} 个字符（导入上限）；请分成几个文件导入",
                field="file",
                value=sheet.source,
            )
        if not usable:
            continue
        row = [None] * width
        for i in known:
            if i < len(values) and not isinstance(values[i], BadCell):
                row[i] = values[i]
        sheet.rows.append((number, tuple(row)), text)
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
