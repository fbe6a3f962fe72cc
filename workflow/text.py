"""The one gate every person-entered string passes: normalised, checked, capped. Pure; no I/O.

``clean`` NFC-normalises, trims ordinary spaces at both ends, and refuses what can break a file or a
terminal, or make text read differently from what it is:

- control characters (C0, DEL, C1). Multi-line kinds keep newline and tab; CRLF and a lone CR become LF,
  and U+2028/U+2029 (line/paragraph separator) become LF too. Single-line kinds refuse all of them.
- Unicode bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and every other
  invisible format character (Unicode category Cf: zero-width space, soft hyphen, LRM/RLM, BOM, …), plus
  the visually blank letters that are used to fake empty or look-alike names (Hangul fillers, braille blank).
- surrogates and noncharacters (they cannot be stored or written to XML).

Emoji are kept whole: a zero-width joiner (U+200D) between two pictographs (👨‍👩‍👧, 🏳️‍🌈; an emoji
variation selector or skin-tone modifier may sit before the joiner) is part of one emoji and allowed;
anywhere else it is refused. Tag characters (U+E0020–U+E007F) are allowed only as a flag's tag sequence
after 🏴 ending with U+E007F (🏴󠁧󠁢󠁳󠁣󠁴󠁿). "Pictograph" is approximated by the emoji blocks listed in ``_PICTOGRAPHS``.

``printable`` is for terminals: it shows every character ``clean`` would refuse (and tab and CR) as a
visible escape such as ``\\x1b``, keeping Chinese, emoji and newlines as they are.
"""

from __future__ import annotations

import unicodedata
from enum import Enum

from workflow.errors import InvalidValue, MissingField


class TextKind(Enum):
    """What a field holds, with its length cap (characters, after normalisation) and whether it may span lines."""

    TITLE = ("标题", 200, False)
    NAME = ("姓名", 64, False)
    UNIT = ("单位名称", 128, False)
    PROJECT = ("项目名称", 200, False)
    SECTION = ("科室名称", 128, False)
    TEXT = ("多行文字", 5000, True)

    def __init__(self, description: str, max_length: int, multiline: bool):
        self.description = description
        self.max_length = max_length
        self.multiline = multiline


# Trimmed silently at both ends: the spaces people paste (ASCII, ideographic, no-break, the Zs block) and,
# at the ends only, tab and line breaks. Not str.strip(): that would also eat U+001C–U+001F and U+0085,
# which must be refused, not hidden.
_TRIM = " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"

_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
# Letters and symbols that render as nothing: used to fake blank or look-alike names.
_BLANK_LOOKING = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F})
_PICTOGRAPHS = ((0x2190, 0x21FF), (0x2300, 0x23FF), (0x25A0, 0x27BF), (0x2B00, 0x2BFF), (0x1F000, 0x1FAFF))
_EMOJI_MODIFIERS = frozenset({0xFE0F, *range(0x1F3FB, 0x1F400)})
ZWJ, BLACK_FLAG, CANCEL_TAG = 0x200D, 0x1F3F4, 0xE007F

_NAMES = {
    0x200B: "零宽空格",
    0x200C: "零宽不连字",
    0x200D: "零宽连字",
    0x200E: "从左到右标记",
    0x200F: "从右到左标记",
    0x2060: "零宽不换行",
    0xFEFF: "字节顺序标记（BOM）",
    0x00AD: "软连字符",
    0x2028: "行分隔符",
    0x2029: "段分隔符",
}


def _pictograph(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _PICTOGRAPHS)


def _joins_emoji(text: str, i: int) -> bool:
    """Whether the ZWJ at ``text[i]`` sits inside an emoji sequence."""
    j = i - 1
    while j >= 0 and ord(text[j]) in _EMOJI_MODIFIERS:
        j -= 1
    return j >= 0 and i + 1 < len(text) and _pictograph(ord(text[j])) and _pictograph(ord(text[i + 1]))


def _in_flag_tags(text: str, i: int) -> bool:
    """Whether the tag character at ``text[i]`` belongs to 🏴 + tags + U+E007F."""
    j = i
    while j > 0 and 0xE0020 <= ord(text[j - 1]) <= 0xE007F:
        j -= 1
    if j == 0 or ord(text[j - 1]) != BLACK_FLAG:
        return False
    k = i
    while k < len(text) and 0xE0020 <= ord(text[k]) < CANCEL_TAG:
        k += 1
    return k < len(text) and ord(text[k]) == CANCEL_TAG


def _problem(text: str, i: int, multiline: bool) -> str | None:
    """Why ``text[i]`` is not allowed (a short Chinese kind), or None if it is."""
    ch = text[i]
    cp = ord(ch)
    if cp < 0x20 or 0x7F <= cp <= 0x9F:
        return None if multiline and ch in "\n\t" else "控制字符"
    if cp < 0xAD:
        return None
    if cp in _BIDI:
        return "文字方向控制符"
    if 0xD800 <= cp <= 0xDFFF or (cp & 0xFFFE) == 0xFFFE or 0xFDD0 <= cp <= 0xFDEF:
        return "无效字符"
    if cp in _BLANK_LOOKING:
        return "不可见字符"
    category = unicodedata.category(ch)
    if category in ("Zl", "Zp"):
        return "控制字符"  # a multi-line kind has already turned them into LF
    if category == "Cf":
        if cp == ZWJ and _joins_emoji(text, i):
            return None
        if 0xE0020 <= cp <= 0xE007F and _in_flag_tags(text, i):
            return None
        return "不可见字符"
    return None


def _describe(cp: int) -> str:
    name = _NAMES.get(cp)
    return f"U+{cp:04X}" + (f" {name}" if name else "")


def _rule(label: str, kind: str, multiline: bool) -> str:
    if kind == "控制字符":
        return (
            f"{label}可以换行，但除换行和制表符外不能含控制字符"
            if multiline
            else f"{label}只能是一行文字，不能含换行、制表符等控制字符"
        )
    if kind == "文字方向控制符":
        return "这类字符会让文字显示的顺序与实际内容不同，请删除后重新输入"
    if kind == "不可见字符":
        return "这类字符看不见，却会让两段看起来相同的文字不同，请删除后重新输入（可先粘贴到记事本再复制）"
    return "请删除后重新输入"


def clean(value: str | None, *, field: str, label: str, kind: TextKind, required: bool = False) -> str:
    """``value`` normalised and checked for a field of ``kind``; "" for None or blank (unless ``required``).

    Raises ``MissingField`` (required and blank) or ``InvalidValue`` (anything else wrong), with ``field``
    set and ``value`` shown through ``printable``; nothing else. Idempotent: clean(clean(x)) == clean(x).
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidValue(f"{label}应为文字，而不是 {type(value).__name__}", field=field, value=value, label=label)
    text = unicodedata.normalize("NFC", value)
    if kind.multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = text.strip(_TRIM)
    if not text:
        if required:
            raise MissingField(f"{label}不能为空", field=field, value=printable(value), label=label)
        return ""
    for i, ch in enumerate(text):
        kind_of = _problem(text, i, kind.multiline)
        if kind_of is not None:
            raise InvalidValue(
                f"{label}含有{kind_of} {_describe(ord(ch))}（第 {i + 1} 个字符）；{_rule(label, kind_of, kind.multiline)}",
                field=field,
                value=printable(value),
                label=label,
            )
    if len(text) > kind.max_length:
        raise InvalidValue(
            f"{label}过长：{len(text)} 个字符，最多 {kind.max_length} 个字符",
            field=field,
            value=printable(value),
            label=label,
        )
    return text


_SHORT_ESCAPES = {"\t": "\\t", "\r": "\\r"}


def printable(text: str) -> str:
    """``text`` for a terminal: every control, bidi, invisible or invalid character shown as an escape
    (``\\x1b``, ``\\u202e``, ``\\U000e0001``, ``\\t``, ``\\r``); Chinese, emoji and newlines kept."""
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch == "\n" or _problem(text, i, multiline=True) is None and ch not in _SHORT_ESCAPES:
            out.append(ch)
            continue
        cp = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif cp <= 0xFF:
            out.append(f"\\x{cp:02x}")
        elif cp <= 0xFFFF:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    return "".join(out)
