"""workflow.text: the one gate for person-entered text, and printable() for terminals."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.errors import InvalidValue, MissingField
from workflow.text import TextKind, clean, printable

pytestmark = pytest.mark.unit

SINGLE = [k for k in TextKind if not k.multiline]
MULTI = [k for k in TextKind if k.multiline]
ZWJ = "\u200d"
BLANK_LOOKING = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800}  # printable letters that render as nothing


def _clean(value, kind=TextKind.TITLE, required=False):
    return clean(value, field="title", label="问题名称", kind=kind, required=required)


def _forbidden(text: str, multiline: bool) -> list[str]:
    """An oracle written apart from the implementation: what must never come out of clean()."""
    bad = []
    for i, ch in enumerate(text):
        cp = ord(ch)
        category = unicodedata.category(ch)
        if category == "Cc" and not (multiline and ch in "\n\t"):
            bad.append(ch)
        elif 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069 or category in ("Cs", "Zl", "Zp"):
            bad.append(ch)
        elif category == "Cf" and cp == 0x200D:
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if not before or not after or ord(after) < 0x2190 or (ord(before) < 0x2190 and before != "\ufe0f"):
                bad.append(ch)
        elif category == "Cf" and not 0xE0020 <= cp <= 0xE007F:
            bad.append(ch)
        elif cp in (0xFFFE, 0xFFFF):
            bad.append(ch)
    return bad


def test_table_of_caps():
    caps = {k: (k.max_length, k.multiline) for k in TextKind}
    assert caps[TextKind.TITLE] == (200, False)
    assert caps[TextKind.NAME] == (64, False)
    assert caps[TextKind.UNIT] == (128, False)
    assert caps[TextKind.PROJECT] == (200, False)
    assert caps[TextKind.TEXT] == (5000, True)


@pytest.mark.parametrize(
    "value,kind,expected",
    [
        ("  二期用地预审未办结\u3000", TextKind.TITLE, "二期用地预审未办结"),
        ("e\u0301", TextKind.TITLE, "\u00e9"),  # NFC
        ("第一行\r\n第二行\r第三行\u2028第四行", TextKind.TEXT, "第一行\n第二行\n第三行\n第四行"),
        ("缩进\t内容\n", TextKind.TEXT, "缩进\t内容"),
        ("家庭 👨\u200d👩\u200d👧 与 🏳\ufe0f\u200d🌈", TextKind.TITLE, "家庭 👨\u200d👩\u200d👧 与 🏳\ufe0f\u200d🌈"),
        ("👍🏽\u200d", TextKind.TITLE, None),  # ZWJ at the end: refused (checked below)
        (None, TextKind.TITLE, ""),
        ("   ", TextKind.TEXT, ""),
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", TextKind.NAME, None),
    ],
)
def test_normalised(value, kind, expected):
    if expected is None:
        if value.endswith(ZWJ):
            with pytest.raises(InvalidValue, match="U\\+200D"):
                _clean(value, kind)
        else:
            assert _clean(value, kind) == value  # a subdivision flag's tag sequence is kept
        return
    assert _clean(value, kind) == expected


@pytest.mark.parametrize(
    "value,kind,fragment",
    [
        ("标题\x1b[31m", TextKind.TITLE, "问题名称含有控制字符 U+001B（第 3 个字符）；问题名称只能是一行文字"),
        ("a\x01b", TextKind.TEXT, "含有控制字符 U+0001"),
        ("a\x7fb", TextKind.NAME, "含有控制字符 U+007F"),
        ("a\x85b", TextKind.TITLE, "含有控制字符 U+0085"),
        ("第一行\n第二行", TextKind.TITLE, "含有控制字符 U+000A"),
        ("a\tb", TextKind.UNIT, "含有控制字符 U+0009"),
        ("a\u2028b", TextKind.TITLE, "含有控制字符 U+2028"),
        ("invoice\u202egnp.exe", TextKind.TITLE, "含有文字方向控制符 U+202E"),
        ("\u2066隔离\u2069", TextKind.TEXT, "含有文字方向控制符 U+2066"),
        ("孙\u200b丽", TextKind.NAME, "含有不可见字符 U+200B 零宽空格"),
        ("\ufeff标题", TextKind.TITLE, "U+FEFF"),
        ("软\u00ad连字", TextKind.TITLE, "U+00AD"),
        ("\u3164", TextKind.NAME, "含有不可见字符 U+3164"),
        ("x\u200dy", TextKind.TITLE, "U+200D 零宽连字"),
        ("\ud800", TextKind.TITLE, "含有无效字符 U+D800"),
        ("a\uffff", TextKind.TEXT, "含有无效字符 U+FFFF"),
        ("长" * 201, TextKind.TITLE, "问题名称过长：201 个字符，最多 200 个字符"),
        ("名" * 65, TextKind.NAME, "最多 64 个字符"),
        ("字" * 5001, TextKind.TEXT, "最多 5000 个字符"),
        (12, TextKind.TITLE, "问题名称应为文字"),
    ],
)
def test_refused_with_a_chinese_message(value, kind, fragment):
    with pytest.raises(InvalidValue) as info:
        _clean(value, kind)
    assert fragment in info.value.message
    assert info.value.field == "title"
    assert info.value.value is not None and "\x1b" not in info.value.value  # shown through printable()


def test_required():
    with pytest.raises(MissingField, match="问题名称不能为空") as info:
        _clean(" \u3000\t", required=True)
    assert info.value.field == "title"
    assert _clean(" \u3000\t") == ""


def test_printable_escapes_what_a_terminal_would_obey():
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("第一行\r\n第二行\t完") == "第一行\\r\n第二行\\t完"
    assert printable("invoice\u202egnp.exe") == "invoice\\u202egnp.exe"
    assert printable("\U000e0001标签") == "\\U000e0001标签"
    assert printable("督办 👨\u200d👩\u200d👧 ✓") == "督办 👨\u200d👩\u200d👧 ✓"
    assert printable("\x85\x9b") == "\\x85\\x9b"


KINDS = st.sampled_from(list(TextKind))
# Text that leans on the characters that matter: controls, bidi, invisibles, emoji parts, CJK, spaces.
SPECIAL = st.sampled_from(
    list("\x00\x01\t\n\r\x0b\x1b\x1f\x7f\x85\x9b \u3000\u00a0\u00ad\u200b\u200c\u200d\u200e\u2028\u2029")
    + list("\u202a\u202e\u2066\u2069\ufeff\ufe0f\U0001f3fb\U0001f468\U0001f469\u2764\U0001f3f4\U000e0067\U000e007f")
    + list("中文督办eé\u0301")
)
TEXT = st.lists(st.one_of(SPECIAL, st.characters()), max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=600, deadline=None)
@given(TEXT, KINDS)
def test_clean_is_idempotent_and_lets_nothing_forbidden_through(value, kind):
    try:
        out = clean(value, field="f", label="字段", kind=kind)
    except (InvalidValue, MissingField) as exc:  # the only errors it may raise
        assert exc.field == "f" and exc.message.startswith("字段")
        return
    assert clean(out, field="f", label="字段", kind=kind) == out
    assert unicodedata.is_normalized("NFC", out)
    assert len(out) <= kind.max_length
    assert _forbidden(out, kind.multiline) == [], (value, out)
    assert "\r" not in out
    if not kind.multiline:
        assert "\n" not in out and "\t" not in out


@settings(max_examples=600, deadline=None)
@given(TEXT, KINDS)
def test_required_blank_is_missing_field(value, kind):
    try:
        out = clean(value, field="f", label="字段", kind=kind, required=True)
    except MissingField:
        assert clean(value, field="f", label="字段", kind=kind) == ""
        return
    except InvalidValue:
        return
    assert out


@settings(max_examples=600, deadline=None)
@given(TEXT)
def test_printable_output_has_no_control_character_but_newline(value):
    out = printable(value)
    for ch in out:
        assert ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp"), (value, out)
        assert not (0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069)
    assert out.count("\n") == value.count("\n")
    if all((ch.isprintable() and ord(ch) not in BLANK_LOOKING) or ch == "\n" for ch in value):
        assert out == value
