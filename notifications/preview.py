"""What would be sent: render a problem's pending notices as plain data (``duban notices preview CODE``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.tables import Notice, Problem
from notifications import kinds
from notifications.config import MailConfig
from notifications.context import ContextLoader, header_text
from notifications.errors import ProblemNotFound, RenderError
from notifications.render import NAME_MAX, Rendered, render_content


def render_many(
    session: Session, notices: Iterable[Notice], config: MailConfig | None = None
) -> list[tuple[Notice, Rendered | RenderError]]:
    """Run the templates for a batch with one shared loader (a few queries for the whole batch)."""
    notices = list(notices)
    loader = ContextLoader(session)
    loader.prefetch(notices)
    out: list[tuple[Notice, Rendered | RenderError]] = []
    for notice in notices:
        try:
            out.append((notice, render_content(session, notice, config, loader=loader)))
        except RenderError as exc:
            out.append((notice, exc))
    return out


def preview(
    session: Session,
    problem_code: str,
    config: MailConfig | None = None,
    statuses: Iterable[str] = ("pending",),
) -> list[dict[str, Any]]:
    """What would be sent for a problem's notices (pending by default), as plain data for the CLI.

    One dict per notice: ``id, kind, kind_label, status, recipient_role, from, to, subject, date,
    message_id, text, html, error`` (``error`` is set and the mail fields empty when it cannot render).
    """
    config = config or MailConfig.from_env()
    problem = session.execute(select(Problem).where(Problem.code == problem_code.strip())).scalar_one_or_none()
    if problem is None:
        raise ProblemNotFound(f"找不到问题「{header_text(problem_code, 40)}」")
    stmt = select(Notice).where(Notice.problem_id == problem.id, Notice.status.in_(list(statuses))).order_by(Notice.id)
    rows = list(session.execute(stmt).scalars())
    sender = f"{header_text(config.from_name, NAME_MAX)} <{config.mail_from}>"
    result = []
    for notice, outcome in render_many(session, rows, config):
        entry = {
            "id": notice.id,
            "kind": notice.kind,
            "kind_label": kinds.kind_label(notice.kind),
            "status": notice.status,
            "recipient_role": notice.recipient_role,
            "from": sender,
            "to": notice.recipient_email or "",
            "subject": "",
            "date": "",
            "message_id": "",
            "text": "",
            "html": "",
            "error": None,
        }
        if isinstance(outcome, RenderError):
            entry["error"] = outcome.message
        else:
            headers = dict(outcome.headers)
            entry.update(
                to=f"{outcome.to_name} <{outcome.to_addr}>" if outcome.to_name else outcome.to_addr,
                subject=outcome.subject,
                date=headers["Date"],
                message_id=outcome.message_id,
                text=outcome.text,
                html=outcome.html,
            )
        result.append(entry)
    return result
