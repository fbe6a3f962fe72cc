"""Several waiting notices of one kind for one address as one mail (office hours: ``notifications.merge``).

Each notice is rendered as usual (``render.render_content``); the merged mail carries them one after another
under a short introduction, so nothing of any notice is lost. Its Message-ID is stable for the set of
notices, so a retried merge is recognisably the same message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from notifications.context import header_text
from notifications.kinds import kind_label
from notifications.render import SUBJECT_MAX, Rendered

_PER_NOTICE = ("Message-ID", "X-Duban-Notice", "X-Duban-Problem", "In-Reply-To", "References")
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)


def _inner(html: str) -> str:
    found = _BODY.search(html)
    return found.group(1) if found else html


def merge_rendered(parts: Sequence[Rendered], kind: str, domain: str) -> Rendered:
    """One mail from ``parts`` (rendered notices of ``kind`` to one address, in order)."""
    first, n = parts[0], len(parts)
    label = kind_label(kind)
    intro = f"以下 {n} 条{label}产生于发送时段之外，现合并为一封邮件发送。"
    subject = header_text(f"【{label}】{n} 条通知合并发送：" + "；".join(p.subject for p in parts), SUBJECT_MAX)
    text = "\n\n".join([intro, *(f"━━━━ 第 {i}/{n} 条 ━━━━\n{p.subject}\n\n{p.text}" for i, p in enumerate(parts, 1))])
    html = (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>'
        + _escape(subject)
        + '</title></head>\n<body style="margin:0;background:#f4f5f7">\n<p style="padding:12px 24px;'
        "font:14px/1.75 'Microsoft YaHei','PingFang SC',sans-serif\">"
        + _escape(intro)
        + "</p>\n"
        + "\n".join(_inner(p.html) for p in parts)
        + "\n</body></html>\n"
    )
    ids = [p.notice_id for p in parts]
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:12]
    mid = f"<duban.merged.{first.notice_id}.{digest}@{domain}>"
    headers = [(k, v) for k, v in first.headers if k not in _PER_NOTICE]
    headers.insert(1, ("Message-ID", mid))
    headers.append(("X-Duban-Notice", ",".join(map(str, ids))))
    return Rendered(first.notice_id, first.to_name, first.to_addr, subject, text, html, tuple(headers), mid)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
