"""Cell text that a spreadsheet stores as text and never runs, and that comes back byte for byte.

Formula injection (OWASP "CSV Injection"): a cell whose text starts with ``=``, ``+``, ``-``, ``@``, tab or
CR may be evaluated by Excel, WPS or LibreOffice. Two encodings, each with an exact inverse:

- .xlsx: every string cell is written with type "inlineStr" (``xlsx_text``), so no application evaluates
  it, whatever it starts with. openpyxl would otherwise turn any string starting with "=" into a formula
  and a string such as "#N/A" into an error value. Characters XML 1.0 cannot carry (C0 controls other than
  tab, LF and CR; lone surrogates; U+FFFE, U+FFFF) are written as U+FFFD, visibly, instead of failing the
  whole export. Text that looks like OOXML's own escape ``_xHHHH_`` gets its underscore escaped as
  ``_x005F_`` (what Excel does), and the reader decodes ``_xHHHH_`` (``xlsx_untext``) — so Excel shows
  the text as written, Excel's escaped control characters come back, and our own text round-trips exactly.
- .csv: ``csv_cell`` prefixes a single quote to a cell that starts with one of the triggers above — or
  with a single quote itself, so that ``csv_uncell`` (drop one leading quote, if any) is its exact
  inverse on every string. The price: a hand-made CSV cell that starts with a quote loses that quote on
  import (Excel does not write such cells; it treats a leading quote as "text" and does not save it).
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
# Not allowed in XML 1.0 documents (tab, LF and CR are allowed).
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPED = re.compile("_x([0-9A-Fa-f]{4})_")
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def xlsx_legal(text: str) -> str:
    """``text`` with every character XML cannot carry replaced by U+FFFD."""
    return XML_ILLEGAL.sub(REPLACEMENT, text)


def xlsx_stored(text: str) -> str:
    """The string as written into the sheet XML: legal characters, ``_xHHHH_`` look-alikes escaped."""
    return _LOOKS_ESCAPED.sub("_x005F_", xlsx_legal(text))


_UNSTORABLE = re.compile("[\x00\ud800-\udfff\ufffe\uffff]")


def _unescape(match: re.Match) -> str:
    ch = chr(int(match.group(1), 16))
    return REPLACEMENT if _UNSTORABLE.match(ch) else ch


def xlsx_untext(text: str) -> str:
    """A string read from a sheet, with OOXML's ``_xHHHH_`` escapes decoded: the exact inverse of
    ``xlsx_stored`` on every string that ``xlsx_legal`` leaves unchanged.

    A decoded control character is kept (the text gate judges it); only what no database can store —
    NUL, a lone surrogate, U+FFFE, U+FFFF — becomes U+FFFD."""
    return _ESCAPED.sub(_unescape, text) if "_x" in text else text


def xlsx_text(ws, value: str):
    """A write-only cell holding ``value`` as a string: never a formula, an error value or a number."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=xlsx_stored(value))
    cell.data_type = "s"  # written as t="inlineStr": no application evaluates it
    return cell


def xlsx_cell(ws, value: Any):
    """A write-only cell for any ledger value: strings through ``xlsx_text``, "" and None as an empty cell."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str) and value:
        return xlsx_text(ws, value)
    return WriteOnlyCell(ws, value=None if value == "" else value)


def csv_cell(text: str) -> str:
    """``text`` for a CSV cell that no spreadsheet evaluates; ``csv_uncell`` undoes it exactly."""
    return "'" + text if text.startswith(CSV_TRIGGERS) else text


def csv_uncell(text: str) -> str:
    """The inverse of ``csv_cell``: one leading single quote removed, if there is one."""
    return text[1:] if text.startswith("'") else text
