"""Dates as people type them. Pure."""

from __future__ import annotations

import re
from datetime import date

from workflow.errors import InvalidValue

_CN_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*$")
_NUMERIC = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９－／", "0123456789-/")


def parse_date(text: object, label: str, field: str | None = None) -> date:
    """ISO dates, 2024/2/19, 2024年2月19日 and full-width digits; a Chinese error naming ``label`` otherwise."""
    if isinstance(text, date):
        return text
    raw = str(text or "").strip().translate(_FULLWIDTH)
    m = _CN_DATE.match(raw) or _NUMERIC.match(raw)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        pass
    raise InvalidValue(
        f"{label}「{text}」不是有效日期，应为 YYYY-MM-DD，如 2024-02-19", field=field, value=text, label=label
    )
