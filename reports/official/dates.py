"""Chinese date forms and document numbers (发文字号) as GB/T 9704-2012 writes them.

成文日期 and 印发日期 use Arabic numerals without leading zeros ("2024年1月10日"). A document number is the
organ's prefix, the full year in 六角括号 〔〕 and the serial number without leading zeros and without 第:
"阳督函〔2024〕3号".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import NamedTuple

from workflow.errors import InvalidValue

MIN_YEAR, MAX_YEAR = 1949, 2999

# Brackets people type instead of 〔〕: square, lenticular, full-width and ASCII parentheses.
_OPEN, _CLOSE = "〔[［【（(", "〕]］】）)"
_LOOSE = re.compile(
    rf"^\s*(?P<prefix>[^\s{re.escape(_OPEN + _CLOSE)}]+?)\s*[{re.escape(_OPEN)}]\s*(?P<year>\d{{4}})\s*"
    rf"[{re.escape(_CLOSE)}]\s*第?\s*(?P<serial>\d+)\s*号\s*$"
)
_PREFIX_FORBIDDEN = re.compile(rf"[\s\d{re.escape(_OPEN + _CLOSE)}第号]|[\x00-\x1f\x7f]")


class LetterNumber(NamedTuple):
    prefix: str
    year: int
    serial: int

    def __str__(self) -> str:
        return letter_number(self.prefix, self.year, self.serial)


def cn_date(value: date) -> str:
    """成文日期: ``date(2024, 1, 10)`` → "2024年1月10日"."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(f"日期「{value}」无效，应为日期（年月日），如 2024年1月10日", field="date", value=value)
    return f"{value.year}年{value.month}月{value.day}日"


def letter_number(prefix: str, year: int, serial: int) -> str:
    """发文字号: ``letter_number("阳督函", 2024, 3)`` → "阳督函〔2024〕3号"."""
    prefix = (prefix or "").strip()
    if not prefix:
        raise InvalidValue("发文字号的机关代字不能为空，如「阳督函」", field="number_prefix", value=prefix)
    if _PREFIX_FORBIDDEN.search(prefix):
        raise InvalidValue(
            f"发文字号的机关代字「{prefix}」无效：不能含空格、数字、括号或「第」「号」字，如「阳督函」",
            field="number_prefix",
            value=prefix,
        )
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidValue(f"发文字号的年份「{year}」无效，应为四位年份，如 2024", field="number_year", value=year)
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 1:
        raise InvalidValue(f"发文字号的顺序号「{serial}」无效，应为从 1 起的整数", field="number_serial", value=serial)
    return f"{prefix}〔{year}〕{serial}号"


def parse_letter_number(text: str) -> LetterNumber:
    """The parts of a document number. Accepts the forms people type — 【2024】, [2024], （2024）, 第3号,
    03号 — so a front end can offer the standard form (``str(parse_letter_number(t))``); ``LetterDoc``
    itself only accepts the standard form."""
    m = _LOOSE.match(text or "")
    if m is None:
        raise InvalidValue(
            f"发文字号「{text}」无效，应为机关代字、六角括号内的年份和顺序号，如 阳督函〔2024〕3号",
            field="number",
            value=text,
        )
    parts = LetterNumber(m["prefix"], int(m["year"]), int(m["serial"]))
    letter_number(*parts)  # validates the parts
    return parts


def check_letter_number(text: str) -> LetterNumber:
    """The parts of a number that is already in the standard form; otherwise InvalidValue naming it."""
    parts = parse_letter_number(text)
    standard = str(parts)
    if text != standard:
        raise InvalidValue(
            f"发文字号「{text}」不规范，应写作「{standard}」（年份用六角括号〔〕，顺序号不编虚位、不加“第”字）",
            field="number",
            value=text,
        )
    return parts
