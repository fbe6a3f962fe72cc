"""Markdown for the robots' markdown subsets, with user text made inert.

Neither WeCom nor DingTalk documents backslash escapes for its markdown subset, so a backslash might
show up literally. Instead the characters that start markup (``* _ ` # [ ] < > ~ | \\ &``) are replaced by
their full-width forms: no renderer interprets them, they read naturally in Chinese text, and each is
one character, so truncation can never split an escape. Hostile text such as ``[点我](http://evil)`` or
``<font color="warning">`` therefore shows as typed and links nowhere.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_FULL_WIDTH = {
    "\\": "＼",
    "*": "＊",
    "_": "＿",
    "`": "｀",
    "#": "＃",
    "[": "［",
    "]": "］",
    "<": "＜",
    ">": "＞",
    "~": "～",
    "|": "｜",
    "&": "＆",
}
# One pass in C over the text; Python only runs for the (rare) special characters. str.translate with a
# dict would call back into Python for every character of the body.
_SPECIAL = re.compile("[" + re.escape("".join(_FULL_WIDTH)) + "]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Characters a URL keeps as they are inside ``[label](url)``; parentheses, spaces, quotes and angle brackets
# are percent-encoded so that they cannot end the link or open a tag.
_URL_SAFE = ":/?#@!$&'*+,;=%~-._[]"


def plain(text: str) -> str:
    """Text with CR/LF normalised to LF and other control characters removed."""
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))


def escape(text: str) -> str:
    """User text made inert in markdown (see the module docstring)."""
    return _SPECIAL.sub(lambda m: _FULL_WIDTH[m.group()], plain(text))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit to stand inside ``[label](…)``, or None when ``url`` is not http(s)."""
    if not url:
        return None
    text = url.strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return quote(text, safe=_URL_SAFE)


def link(label: str, url: str | None) -> str:
    """``[label](url)``, or "" when there is no usable URL."""
    target = safe_url(url)
    return f"[{escape(label)}]({target})" if target else ""
