"""The columns of the county problem ledger (问题台账) and how each cell is read and written.

One table states every column once — its Chinese header, the other headers people use for it, whether
an import reads it — so the export, the import and docs/reports.md cannot drift apart. Cell parsers
accept what people type in Excel (Chinese labels or ids, full-width digits, 2024年2月19日, Excel date
cells) and raise ``CellError`` with a Chinese message saying what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from workflow.dates import MAX_YEAR, MIN_YEAR, in_window
from workflow.states import LEVEL_SHORT, Category, Level, Rating, Severity, State


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: float
    imported: bool = True  # False: export-only (derived), ignored on import
    aliases: tuple[str, ...] = ()
    kind: str = "text"  # text | date | wrap


COLUMNS: tuple[Column, ...] = (
    Column("seq", "序号", 6, imported=False, aliases=("编号序号", "No", "NO")),
    Column("code", "问题编号", 15, aliases=("编号", "台账编号")),
    Column("project", "项目名称", 28, aliases=("项目", "所属项目")),
    Column("title", "问题名称", 36, aliases=("问题", "问题标题", "存在问题", "问题事项"), kind="wrap"),
    Column("category", "问题类型", 10, aliases=("类型", "问题类别", "类别")),
    Column("severity", "问题性质", 9, aliases=("性质", "问题级别")),
    Column("county_level", "县级协调", 9, aliases=("需县级协调", "是否需县级协调")),
    Column("description", "问题描述", 48, aliases=("描述", "具体问题", "问题详情"), kind="wrap"),
    Column("unit", "责任单位", 14, aliases=("牵头单位", "领办单位", "责任部门")),
    Column("person", "责任人", 10, aliases=("具体责任人",)),
    Column("leader", "分管领导", 10, aliases=("单位分管领导",)),
    Column("project_leader", "包联县级领导", 12, imported=False, aliases=("包联领导", "分包县级领导")),
    Column("section", "责任科室", 16, aliases=("职责科室", "责任股室")),
    Column("created", "登记日期", 12, aliases=("发现日期", "登记时间"), kind="date"),
    Column("assigned", "交办日期", 12, aliases=("交办时间",), kind="date"),
    Column("deadline", "办结时限", 12, aliases=("解决时限", "完成时限", "时限"), kind="date"),
    Column("provisional", "时限暂定", 9, imported=False),
    Column("level", "当前层级", 14, aliases=("层级", "办理层级", "推进层级")),
    Column("level_started", "升级日期", 12, aliases=("升级时间",), kind="date"),
    Column("state", "状态", 9, aliases=("办理状态", "当前状态")),
    Column("light", "预警", 8, imported=False, aliases=("预警灯", "预警状态")),
    Column("progress", "进展情况", 40, aliases=("工作进展", "推进情况", "进展"), kind="wrap"),
    Column("suspended", "挂起日期", 12, aliases=("挂起时间",), kind="date"),
    Column("resolution", "办结情况", 36, aliases=("办理结果", "解决情况"), kind="wrap"),
    Column("resolved", "申请销号日期", 13, aliases=("申请销号时间",), kind="date"),
    Column("closed", "销号日期", 12, aliases=("销号时间",), kind="date"),
    Column("rating", "评价等级", 9, aliases=("评价", "销号评价")),
    Column("closing", "销号情况", 24, imported=False),
    # Entries made with a simulated time (--at): their recorded business time and when they were written.
    Column("backdated", "录入说明", 30, imported=False, kind="wrap"),
)
BY_KEY = {c.key: c for c in COLUMNS}
HEADERS = tuple(c.header for c in COLUMNS)
REQUIRED = ("project", "title", "category")


def _norm_header(text: str) -> str:
    return re.sub(r"[\s\u3000:：*（）()]", "", str(text or "")).strip()


HEADER_LOOKUP: dict[str, Column] = {}
for _c in COLUMNS:
    for _name in (_c.header, *_c.aliases):
        HEADER_LOOKUP[_norm_header(_name)] = _c


def column_for(header: Any) -> Column | None:
    return HEADER_LOOKUP.get(_norm_header(header))


def col_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class CellError(ValueError):
    """A cell's value is not allowed; ``message`` says what is (Chinese)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- text normalisation ----------------------------------------------------------------------------

_FULLWIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９－／．："}
_FULLWIDTH[0x3000] = 0x20  # ideographic space


def clean(value: Any) -> str:
    """A cell as text: None → "", numbers without ".0", full-width digits and spaces folded, trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).translate(_FULLWIDTH).strip()


def text_of(value: Any) -> str:
    """A free-text cell (title, description, progress …) as typed: None → "", numbers without ".0",
    trimmed like the service trims — but no folding, so an exported text comes back byte for byte."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# -- enums -----------------------------------------------------------------------------------------

STATE_SYNONYMS = {
    "已交办": State.ASSIGNED,
    "办理中": State.ASSIGNED,
    "推进中": State.ASSIGNED,
    "督办中": State.SUPERVISED,
    "已督办": State.SUPERVISED,
    "暂停": State.SUSPENDED,
    "已挂起": State.SUSPENDED,
    "申请销号": State.REVIEW,
    "待销号": State.REVIEW,
    "审核中": State.REVIEW,
    "已销号": State.CLOSED,
    "已办结": State.CLOSED,
    "办结": State.CLOSED,
    "未交办": State.DISCOVERED,
    "新发现": State.DISCOVERED,
}
LEVEL_SYNONYMS = {
    **{text: Level(key) for key, text in LEVEL_SHORT.items()},
    "13710": Level.SUPERVISION_13710,
    "13710督办": Level.SUPERVISION_13710,
    "督办函": Level.SUPERVISION_13710,
    "县级领导": Level.COUNTY_LEADER,
    "包联县级领导": Level.COUNTY_LEADER,
    "县政府会议研究": Level.GOVERNMENT_MEETING,
}


def parse_enum(text: Any, enum: type, what: str, synonyms: dict | None = None):
    """The member whose id or Chinese label (or a listed synonym) is ``text``."""
    raw = clean(text)
    for candidate in dict.fromkeys((raw, raw.removesuffix("问题"), raw.removesuffix("类"))):
        for member in enum:
            if candidate in (member.value, member.label):
                return member
    key = raw.replace("“", "").replace("”", "").replace('"', "")
    if synonyms and key in synonyms:
        return synonyms[key]
    allowed = "、".join(f"{m.label}（{m.value}）" for m in enum)
    raise CellError(f"不是有效的{what}，可选：{allowed}")


def parse_category(text: Any) -> Category:
    return parse_enum(text, Category, "问题类型")


def parse_severity(text: Any) -> Severity:
    if not clean(text):
        return Severity.GENERAL
    return parse_enum(
        text,
        Severity,
        "问题性质",
        {"一般性": Severity.GENERAL, "一般问题": Severity.GENERAL, "重大问题": Severity.MAJOR},
    )


def parse_state(text: Any) -> State:
    return parse_enum(text, State, "状态", STATE_SYNONYMS)


def parse_level(text: Any) -> Level:
    return parse_enum(text, Level, "层级", LEVEL_SYNONYMS)


def parse_rating(text: Any) -> Rating:
    return parse_enum(text, Rating, "评价等级")


_YES = {"是", "y", "yes", "true", "1", "√", "✓", "需要"}
_NO = {"", "否", "n", "no", "false", "0", "×", "不需要", "无"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raw = clean(value).lower()
    if raw in _YES:
        return True
    if raw in _NO:
        return False
    raise CellError("应为「是」或「否」（留空为否）")


# -- dates -----------------------------------------------------------------------------------------

_CN_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
_SEP_DATE = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = date(1899, 12, 30)
DATE_HINT = "应为日期，如 2024-02-19、2024/2/19 或 2024年2月19日"


def parse_date(value: Any) -> date | None:
    """An Excel date cell, an Excel serial number, or text in the usual Chinese spellings; None if blank.
    Years outside MIN_YEAR–MAX_YEAR (``workflow.dates``) are refused like any other bad date."""
    day = _parse_date(value)
    if day is not None and not in_window(day):
        raise CellError(f"日期 {day.isoformat()} 超出允许范围：年份应在 {MIN_YEAR}–{MAX_YEAR} 年之间")
    return day


def _parse_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial day number (1954–2119) left in a General-formatted cell
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raw = clean(value)
    else:
        raw = clean(value)
    if not raw:
        return None
    m = _CN_DATE.match(raw) or _SEP_DATE.match(raw) or _COMPACT.match(raw)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise CellError(f"不是存在的日期（{raw}）") from None
    raise CellError(DATE_HINT)


def yes_no(flag: bool) -> str:
    return "是" if flag else "否"
