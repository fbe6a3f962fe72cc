"""A notice as a short message: for the work-group robots, SMS and the in-app inbox.

The title is the mail's subject (the ``subject`` block of the kind's template, so every way of delivery
words a notice alike); the text is the mail's first paragraph (its ``body`` block) followed by the facts a
reader needs at a glance (unit, person, deadline, level) and the comment someone typed. No greeting: a
work group is not one person. Waiting notices of one kind for one destination become one message
(``merged``) listing each notice's title.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.tables import Notice
from notifications import kinds
from notifications.channels.base import ChannelMessage
from notifications.context import ContextLoader, cn_date, header_text
from notifications.render import environment, template_name

MERGE_MAX = 10  # notices listed in one merged message (each robot message stays well under its size limit)
TEXT_MAX = 1500  # characters of a single message's text before the channel's own byte limit applies
OFFICE = "县政府办督查室"


def _context(loader: ContextLoader, notice: Notice, office: str) -> dict:
    ctx = loader.context(notice, office)
    ctx["system_name"] = "督办系统"
    ctx["problem_text"] = ctx["problem_html"] = ""
    return ctx


def _block(name: str, block: str, ctx: dict) -> str:
    template = environment().get_template(f"{name}.txt")
    render = template.blocks.get(block)
    return "".join(render(template.new_context(ctx))) if render else ""


def title_of(loader: ContextLoader, notice: Notice, office: str = OFFICE) -> str:
    ctx = _context(loader, notice, office)
    return header_text(_block(template_name(notice), "subject", ctx), 200)


def _special_body(name: str, ctx: dict) -> str:
    """The meeting notice replaces the whole mail: say in one paragraph what it asks."""
    p = ctx["p"]
    if name == "meeting_agenda":
        return (
            f"问题“{p['title_line']}”已列入县政府会议议题，提请会议研究解决。"
            f"请{p['unit'] or '有关单位'}在会前准备书面汇报材料，由单位主要负责人参会汇报。"
        )
    return ""


def _facts(p: dict | None) -> str:
    if p is None:
        return ""
    deadline = cn_date(p["deadline"]) + ("（暂定）" if p["deadline_provisional"] else "")
    parts = [
        f"责任单位：{p['unit'] or '—'}",
        f"责任人：{p['person'] or '—'}",
        f"办结时限：{deadline}",
        f"当前：{p['state']} · {p['level']} · {p['light']}",
    ]
    return "\n".join(parts)


def link(base_url: str | None, notice: Notice, code: str | None) -> str | None:
    """The problem's page (the dashboard for a digest) under ``base_url``; None without a base URL."""
    if not base_url:
        return None
    base = base_url.rstrip("/")
    return f"{base}/problems/{code}" if code else f"{base}/dashboard"


def brief(
    loader: ContextLoader,
    notice: Notice,
    base_url: str | None = None,
    *,
    office: str = OFFICE,
) -> ChannelMessage:
    """One notice as a ``ChannelMessage`` (raises ``RenderError`` when its problem is missing)."""
    ctx = _context(loader, notice, office)
    name = template_name(notice)
    title = header_text(_block(name, "subject", ctx), 200)
    body = _block(name, "body", ctx).strip() or _special_body(name, ctx)
    parts = [body, _facts(ctx["p"])]
    if ctx["comment"]:
        who = f"（{ctx['n']['actor_name']}）" if ctx["n"]["actor_name"] else ""
        parts.append(f"{ctx['comment_label']}{who}：{ctx['comment']}")
    text = "\n".join(part for part in parts if part)
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 1] + "…"
    p = ctx["p"]
    return ChannelMessage(
        title=title, text=text, url=link(base_url, notice, p["code"] if p else None), kind=notice.kind
    )


def merged(
    loader: ContextLoader,
    notices: Sequence[Notice],
    url: str | None,
    *,
    office: str = OFFICE,
) -> ChannelMessage:
    """Several waiting notices of one kind for one destination as one message: a numbered list of their
    titles, and ``url`` (the inbox, or the ledger) for the details."""
    kind = notices[0].kind
    label = kinds.kind_label(kind)
    lines = [f"{i}. {title_of(loader, n, office)}" for i, n in enumerate(notices, 1)]
    text = "\n".join([*lines, f"以上 {len(notices)} 条{label}产生于发送时段之外，现合并发送。"])
    return ChannelMessage(title=f"{label}（{len(notices)} 条）", text=text, url=url, kind=kind)
