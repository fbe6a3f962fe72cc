"""Stream one worksheet of a ``reports.xlsx_stream.Workbook``: rows of typed values, checked as they come.

Structure is checked before values are built: a row's number when the row starts, a cell's reference and
type when the cell ends. A row beyond the row limit, a column beyond the column limit, a reference outside
Excel's grid or out of order, a shared-string index or style id that does not exist, a number that is not
one: each refuses the whole file with the sheet and cell named. Elements are freed as soon as they are read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from reports.cells import xlsx_untext
from reports.columns import col_letter
from reports.packed import SharedRef
from reports.read_limits import EXCEL_CELL_CHARS, EXCEL_COLUMNS, EXCEL_ROWS
from reports.xlsx_stream import (
    _NUMBER,
    BadCell,
    SheetRef,
    drop,
    rich_text,
    tags_for,
)

if TYPE_CHECKING:
    from reports.xlsx_stream import Workbook

# What lxml reports from a sheet: cells and rows, and the elements that can repeat a great many times
# (so that they are freed as they come).
_REPORTED = "c row dimension mergeCell col hyperlink dataValidation conditionalFormatting brk selection"
_KINDS = frozenset({"n", "s", "str", "inlineStr", "b", "e", "d"})
COLUMN_OF = {col_letter(i): i + 1 for i in range(EXCEL_COLUMNS)}  # "A" → 1 … "XFD" → 16384


class SheetReader:
    def __init__(self, book: Workbook, sheet: SheetRef):
        self.book, self.sheet = book, sheet
        self.limits = book.limits
        self.merged: list[tuple[int, int, int, int]] = []  # (first column 0-based, first row, last column, last row)
        self.where = f"的工作表「{sheet.name}」"
        self._styles_seen: set[str] = set()  # style ids already checked

    def refuse(self, message: str):
        self.book.refuse(self.where + message)

    def rows(self) -> Iterator[tuple[int, tuple]]:
        """lxml reports cells, rows and the few elements that repeat (merged ranges, columns, hyperlinks …);
        a row's number is checked when its first cell ends (its attributes are parsed by then) or when it
        ends. Rows are freed as they end, with their cells; the rest as they are reported."""
        info = self.book._require(self.sheet.member)
        elements = self.book.parse(info, "工作表", _REPORTED)
        t = tags_for(next(elements, None))
        if t is None:
            return
        row_tag, c_tag, data_tag = t.row, t.c, t.sheetdata
        row_el = None  # the row element whose cells are being read
        number = column = 0
        row_text = ""
        values: list = []
        for el in elements:
            tag = el.tag
            if tag == c_tag:
                parent = el.getparent()
                if parent.tag == row_tag and parent.getparent().tag == data_tag:
                    if parent is not row_el:
                        row_el, number, column, values = parent, self._row_number(parent.get("r"), number), 0, []
                        row_text = str(number)
                    column = self._cell(el, t, number, row_text, column, values)
                    continue  # freed with its row
            elif tag == row_tag and el.getparent().tag == data_tag:
                if el is not row_el:  # a row without cells
                    number, values = self._row_number(el.get("r"), number), []
                row_el = None
                yield number, tuple(values)
            elif tag == t.dimension:
                self._dimension(el.get("ref") or "")
            elif tag == t.mergecell:
                self._merge(el.get("ref") or "")
            drop(el)

    # -- structure ------------------------------------------------------------------------------------

    def _row_number(self, text: str | None, previous: int) -> int:
        if text is None:
            number = previous + 1
        elif text.isascii() and text.isdigit() and len(text) <= 7 and 1 <= int(text) <= EXCEL_ROWS:
            number = int(text)
        else:
            self.refuse(f"中有无效的行号「{_shown(text)}」（应为 1–{EXCEL_ROWS}），文件已损坏")
        if number <= previous:
            self.refuse(f"中第 {number} 行出现在第 {previous} 行之后（行号必须递增），文件已损坏")
        if number > self.limits.max_rows:
            self.refuse(
                f"超出导入上限 {self.limits.max_rows} 行（第 {number} 行）；"
                f"请分成几个文件导入，或删除多余的行（包括只有格式的空行）后另存"
            )
        return number

    def _ref(self, ref: str) -> tuple[int, int]:
        """(column 1-based, row) of an A1 reference inside Excel's grid; refuses anything else."""
        digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        col = COLUMN_OF.get(ref[: len(ref) - len(digits)], 0)
        if not (col and digits.isascii() and digits.isdigit() and digits[0] != "0" and len(digits) <= 7):
            self.refuse(f"中有无效的单元格引用「{_shown(ref)}」，文件已损坏")
        row = int(digits)
        if row > EXCEL_ROWS:
            self.refuse(f"中有无效的单元格引用「{_shown(ref)}」，文件已损坏")
        return col, row

    def _dimension(self, ref: str) -> None:
        parts = ref.split(":")
        if len(parts) > 2:
            self.refuse(f"声明的范围「{_shown(ref)}」无效，文件已损坏")
        for part in parts:
            col, row = self._ref(part)
            if row > self.limits.max_rows or col > self.limits.max_columns:
                self.refuse(
                    f"声明的范围 {_shown(ref)} 超出导入上限（{self.limits.max_rows} 行、{self.limits.max_columns} 列）；"
                    f"请分成几个文件导入，或删除多余的行和列（包括只有格式的空行、空列）后另存"
                )

    def _merge(self, ref: str) -> None:
        parts = ref.split(":")
        if len(parts) > 2 or not ref:
            self.refuse(f"中有无效的合并区域「{_shown(ref)}」，文件已损坏")
        (c1, r1), (c2, r2) = self._ref(parts[0]), self._ref(parts[-1])
        if c1 > c2 or r1 > r2:
            self.refuse(f"中有无效的合并区域「{_shown(ref)}」，文件已损坏")
        if len(self.merged) >= self.limits.max_merged:
            self.refuse(f"中的合并单元格超过 {self.limits.max_merged} 处（导入上限）")
        self.merged.append((c1 - 1, r1, c2 - 1, r2))

    # -- a cell ---------------------------------------------------------------------------------------

    def _cell(self, c, t, number: int, row_text: str, previous: int, values: list) -> int:
        """Append ``c``'s value to ``values`` at its column; return that column (1-based). The hot path of
        a read: the common kinds (inline string, shared string, number) are handled inline."""
        ref = c.get("r")
        if ref is None:
            col = previous + 1
            ref = f"第 {number} 行第 {col} 列"
        else:
            col = COLUMN_OF.get(ref[: -len(row_text)], 0) if ref.endswith(row_text) else 0
            if not col:
                col, row = self._ref(ref)
                if row != number:
                    self.refuse(f"第 {number} 行中出现了第 {row} 行的单元格 {ref}，文件已损坏")
        if col <= previous:
            self.refuse(f"的单元格 {ref} 与前一个单元格的顺序颠倒，文件已损坏")
        if col > self.limits.max_columns:
            self.refuse(
                f"的单元格 {ref} 在第 {col} 列，超出导入上限 {self.limits.max_columns} 列；"
                f"请删除多余的列（包括只有格式的空列）后另存"
            )
        style = c.get("s")
        if style is not None and style not in self._styles_seen:
            self._style(style, ref)
        kind = c.get("t")
        if kind == "inlineStr":
            value = None
            for node in c.iterchildren(t.is_):
                value = self._text(rich_text(node, t), ref)
                break
        else:
            text = c.findtext(t.v)
            if not text:
                value = self._empty(c, t, kind, ref)
            elif kind == "s":
                if not (text.isdigit() and text.isascii() and len(text) <= 9) or int(text) >= len(self.book.strings):
                    self.refuse(
                        f"的单元格 {ref} 引用了不存在的共享字符串「{_shown(text)}」"
                        f"（共 {len(self.book.strings)} 个），文件已损坏"
                    )
                value = SharedRef(text)
            elif kind is None or kind == "n":
                value = self._number(text, style, ref)
            else:
                value = self._other(kind, text, ref)
        if value is not None:
            values.extend([None] * (col - 1 - len(values)))
            values.append(value)
        return col

    def _empty(self, c, t, kind: str | None, ref: str) -> BadCell | None:
        """A cell without a value: blank, or a formula whose result was never saved."""
        formula = c.find(t.f)
        if formula is not None:
            return BadCell(
                "=" + (formula.text or "")[:60],
                "是公式但没有计算结果（文件由程序生成、未在 Excel/WPS 中保存过）；duban 不计算公式："
                "请在 Excel 或 WPS 中打开并保存后再导入，或把公式改为值",
            )
        if kind is not None and kind not in _KINDS:
            self.refuse(f"的单元格 {ref} 类型「{_shown(kind)}」无效，文件已损坏")
        return None

    def _other(self, kind: str, text: str, ref: str):
        if kind == "str":  # a formula's text result
            return self._text(text, ref)
        if kind == "b":
            if text not in ("0", "1"):
                self.refuse(f"的单元格 {ref} 的逻辑值「{_shown(text)}」无效（应为 0 或 1），文件已损坏")
            return text == "1"
        if kind == "e":
            return BadCell(text[:20], f"是错误值 {_shown(text)}（公式计算出错），请改正后再导入")
        if kind != "d":
            self.refuse(f"的单元格 {ref} 类型「{_shown(kind)}」无效，文件已损坏")
        from openpyxl.utils.datetime import from_ISO8601

        try:
            return from_ISO8601(text)
        except (ValueError, OverflowError, TypeError):
            return BadCell(text[:40], "不是有效的日期时间")

    def _style(self, text: str, ref: str) -> None:
        if not (text.isascii() and text.isdigit() and len(text) <= 9) or int(text) >= self.book.styles:
            self.refuse(
                f"的单元格 {ref} 的样式编号「{_shown(text)}」不存在（共 {self.book.styles} 个样式），文件已损坏"
            )
        self._styles_seen.add(text)

    def _text(self, text: str, ref: str) -> str:
        if len(text) > EXCEL_CELL_CHARS:
            self.refuse(f"的单元格 {ref} 有 {len(text)} 个字符，超过 Excel 的上限 {EXCEL_CELL_CHARS}")
        return xlsx_untext(text)

    def _number(self, text: str, style: str | None, ref: str):
        if text.isdigit() and text.isascii() and len(text) <= 20:
            value: int | float = int(text)
        else:
            if len(text) > 40 or not _NUMBER.fullmatch(text):
                self.refuse(f"的单元格 {ref} 的数值「{_shown(text)}」无效，文件已损坏")
            value = float(text) if any(ch in text for ch in ".eE") else int(text)
            if not math.isfinite(value):
                self.refuse(f"的单元格 {ref} 的数值「{_shown(text)}」超出范围，文件已损坏")
        if style is not None and int(style) in self.book.dates:
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(value, self.book.epoch)
            except (ValueError, OverflowError, TypeError):
                return BadCell(text, "设置为日期格式，但数值不是有效的日期")
        return value


def _shown(text: str, limit: int = 30) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
