"""Text hygiene for official documents: whatever a user typed (pasted from Word, a phone, a web form) is
reduced to printable text before it reaches a renderer, so neither the .docx XML nor the PDF can be broken
or visually reordered by it.
"""

from __future__ import annotations

import re
import unicodedata

# Word's manual line break (\v), form feed and the Unicode line/paragraph separators end a line.
_NEWLINES = str.maketrans({"\r": "\n", "\v": "\n", "\f": "\n", "\u2028": "\n", "\u2029": "\n", "\t": " "})
# Bidirectional embeddings, overrides and isolates can make a line display in another order than it
# reads (the "Trojan Source" trick); a Chinese official document never needs them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SPACES = re.compile(r"[ \u00a0\u3000]{2,}")


def _printable(ch: str) -> bool:
    if ch == "\n":
        return True
    cat = unicodedata.category(ch)
    # Cc: C0/C1 controls (invalid in XML 1.0 or invisible); Cs: lone surrogates; Cn: unassigned and the
    # noncharacters U+FFFE/U+FFFF, which XML also forbids.
    return cat not in ("Cc", "Cs", "Cn")


def clean_text(text: object, *, multiline: bool = False) -> str:
    """Printable text. With ``multiline`` the line breaks survive (trailing spaces and blank runs trimmed);
    otherwise the lines are joined into one."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFC", str(text).replace("\r\n", "\n").translate(_NEWLINES))
    s = _BIDI.sub("", "".join(ch for ch in s if _printable(ch)))
    lines = [_SPACES.sub(" ", line).strip() for line in s.split("\n")]
    if multiline:
        return "\n".join(line for line in lines if line)
    return join_lines(line for line in lines if line)


def join_lines(lines) -> str:
    """Lines joined the way Chinese is written: no space between two CJK characters, one space otherwise."""
    out = ""
    for line in lines:
        if out and not (_wide(out[-1]) or _wide(line[0])):
            out += " "
        out += line
    return out


def paragraphs(text: object) -> list[str]:
    """A user's multi-line text as paragraphs, one per line."""
    return [p for p in clean_text(text, multiline=True).split("\n") if p]


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def width_em(text: str) -> float:
    """Printed width in em of the body font: CJK characters and full-width punctuation take one, Latin
    letters and Arabic numerals half. Ambiguous characters (“”、—) are full width in Chinese fonts."""
    total = 0.0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 1.0 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 0.5
    return total
