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
from reports.xlsx_stream import (
    _NUMBER,
    _REF,
    EXCEL_CELL_CHARS,
    EXCEL_COLUMNS,
    EXCEL_ROWS,
    PENDING,
    BadCell,
    SheetRef,
    _drop,
    column_number,
    rich_text,
)

if TYPE_CHECKING:
    from reports.xlsx_stream import Workbook

_KINDS = frozenset({"n", "s", "str", "inlineStr", "b", "e", "d"})


class SheetReader:
    def __init__(self, book: Workbook, sheet: SheetRef):
        self.book, self.sheet = book, sheet
        self.limits = book.limits
        self.merged: list[tuple[int, int, int, int]] = []  # (first column 0-based, first row, last column, last row)
        self.where = f"的工作表「{sheet.name}」"

    def refuse(self, message: str):
        self.book.refuse(self.where + message)

    def rows(self) -> Iterator[tuple[int, tuple]]:
        info = self.book._require(self.sheet.member)
        tags = None
        level, pending, number, column = -1, 0, 0, 0
        values: list = []
        in_row = False
        for event, el in self.book._parse(info, events=("start", "end")):
            if event == "start":
                level += 1
                if level == 0:
                    tags = self.book.tags_of(el, info, "工作表")
                elif level == 2 and el.tag == tags.row and el.getparent().tag == tags.sheetdata:
                    number = self._row_number(el.get("r"), number)
                    in_row, values, column = True, [], 0
                continue
            if level > 3:  # inside a cell (or something else at that depth): kept until its level-3 element ends
                pending += 1
                if pending > PENDING:
                    self.refuse(f"结构异常（第 {number} 行附近的元素内嵌套过多），拒绝导入")
            elif level == 3 and in_row and el.tag == tags.c:
                column = self._cell(el, tags, number, column, values)
            elif level == 2 and in_row and el.tag == tags.row:
                in_row = False
                yield number, tuple(values)
            elif level == 1 and el.tag == tags.dimension:
                self._dimension(el.get("ref") or "")
            elif level == 2 and el.tag == tags.mergecell:
                self._merge(el.get("ref") or "")
            if level <= 3:
                _drop(el)
                pending = 0
            level -= 1

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
        m = _REF.fullmatch(ref) if len(ref) <= 10 else None
        col = column_number(m.group(1)) if m else 0
        if not m or col > EXCEL_COLUMNS or int(m.group(2)) > EXCEL_ROWS:
            self.refuse(f"中有无效的单元格引用「{_shown(ref)}」，文件已损坏")
        return col, int(m.group(2))

    def _check_column(self, col: int, ref: str) -> None:
        if col > self.limits.max_columns:
            self.refuse(
                f"的单元格 {ref} 在第 {col} 列，超出导入上限 {self.limits.max_columns} 列；"
                f"请删除多余的列（包括只有格式的空列）后另存"
            )

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

    def _cell(self, c, tags, number: int, previous: int, values: list) -> int:
        """Append ``c``'s value to ``values`` at its column; return that column (1-based)."""
        ref = c.get("r")
        if ref is None:
            col = previous + 1
            ref = f"第 {number} 行第 {col} 列"
        else:
            col, row = self._ref(ref)
            if row != number:
                self.refuse(f"第 {number} 行中出现了第 {row} 行的单元格 {ref}，文件已损坏")
        if col <= previous:
            self.refuse(f"的单元格 {ref} 与前一个单元格的顺序颠倒，文件已损坏")
        self._check_column(col, ref)
        value = self._value(c, tags, ref)
        if value is not None:
            values.extend([None] * (col - 1 - len(values)))
            values.append(value)
        return col

    def _value(self, c, tags, ref: str):
        kind = c.get("t") or "n"
        if kind not in _KINDS:
            self.refuse(f"的单元格 {ref} 类型「{_shown(kind)}」无效，文件已损坏")
        style = self._style(c.get("s"), ref)
        formula = c.find(tags.f)
        if kind == "inlineStr":
            node = c.find(tags.is_)
            return None if node is None else self._text(rich_text(node, tags), ref)
        text = c.findtext(tags.v)
        if not text:
            if formula is not None:
                shown = "=" + (formula.text or "")[:60]
                return BadCell(
                    shown,
                    "是公式但没有计算结果（文件由程序生成、未在 Excel/WPS 中保存过）；duban 不计算公式："
                    "请在 Excel 或 WPS 中打开并保存后再导入，或把公式改为值",
                )
            return None
        if kind == "s":
            return self._shared(text, ref)
        if kind == "str":
            return self._text(text, ref)
        if kind == "n":
            return self._number(text, style, ref)
        if kind == "b":
            if text not in ("0", "1"):
                self.refuse(f"的单元格 {ref} 的逻辑值「{_shown(text)}」无效（应为 0 或 1），文件已损坏")
            return text == "1"
        if kind == "e":
            return BadCell(text[:20], f"是错误值 {_shown(text)}（公式计算出错），请改正后再导入")
        from openpyxl.utils.datetime import from_ISO8601

        try:
            return from_ISO8601(text)
        except (ValueError, OverflowError, TypeError):
            return BadCell(text[:40], "不是有效的日期时间")

    def _style(self, text: str | None, ref: str) -> int:
        if text is None:
            return 0
        if not (text.isascii() and text.isdigit() and len(text) <= 9) or int(text) >= self.book.styles:
            self.refuse(
                f"的单元格 {ref} 的样式编号「{_shown(text)}」不存在（共 {self.book.styles} 个样式），文件已损坏"
            )
        return int(text)

    def _shared(self, text: str, ref: str) -> str:
        strings = self.book.strings
        if not (text.isascii() and text.isdigit() and len(text) <= 9) or int(text) >= len(strings):
            self.refuse(
                f"的单元格 {ref} 引用了不存在的共享字符串「{_shown(text)}」（共 {len(strings)} 个），文件已损坏"
            )
        return strings[int(text)]

    def _text(self, text: str, ref: str) -> str:
        if len(text) > EXCEL_CELL_CHARS:
            self.refuse(f"的单元格 {ref} 有 {len(text)} 个字符，超过 Excel 的上限 {EXCEL_CELL_CHARS}")
        return xlsx_untext(text)

    def _number(self, text: str, style: int, ref: str):
        if len(text) > 40 or not _NUMBER.fullmatch(text):
            self.refuse(f"的单元格 {ref} 的数值「{_shown(text)}」无效，文件已损坏")
        value = float(text) if any(ch in text for ch in ".eE") else int(text)
        if not math.isfinite(value):
            self.refuse(f"的单元格 {ref} 的数值「{_shown(text)}」超出范围，文件已损坏")
        if style in self.book.dates:
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(value, self.book.epoch)
            except (ValueError, OverflowError, TypeError):
                return BadCell(text, "设置为日期格式，但数值不是有效的日期")
        return value


def _shown(text: str, limit: int = 30) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
