"""Files a notice carries: the issued 督办函 (kind ``letter``) and the month's 考核通报 (kind ``assessment``), as
kept in the database when they were issued — never rendered at send time (a PDF takes seconds to lay out).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.office import AssessmentRun, Letter
from models.tables import Notice
from notifications.errors import RenderError

Attachment = tuple[str, str, bytes]  # (file name, media type, bytes)
PDF = "application/pdf"


def attachments_for(session: Session, notice: Notice, cache: dict) -> tuple[Attachment, ...]:
    """The notice's attachments; ``cache`` (one per batch) keeps each file read once for all recipients."""
    payload = notice.payload or {}
    if notice.kind == "letter" and payload.get("letter_id"):
        key = ("letter", payload["letter_id"])
        if key not in cache:
            row = session.execute(sa.select(Letter.number, Letter.pdf).where(Letter.id == payload["letter_id"])).first()
            if row is None or row.pdf is None:
                raise RenderError(f"督办函 #{payload['letter_id']} 尚无签发的 PDF，无法发送")
            cache[key] = ((f"{row.number}.pdf", PDF, row.pdf),)
        return cache[key]
    if notice.kind == "assessment" and payload.get("month"):
        key = ("assessment", payload["month"])
        if key not in cache:
            pdf = session.execute(sa.select(AssessmentRun.pdf).where(AssessmentRun.month == payload["month"])).scalar()
            cache[key] = ((f"考核通报-{payload['month']}.pdf", PDF, pdf),) if pdf else ()
        return cache[key]
    return ()
