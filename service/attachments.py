"""Attachment rows: written in the transaction of the action (or inspection) that carries the files, after
the content is safely stored; read back for the problem page, the API, the CLI and downloads — only by those
who may see the problem (``workflow.permissions.check_see_files``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from models.db import reader
from models.db import session as open_session
from models.tables import Attachment, Event, Problem, User, table_of
from service import directory
from service.blobstore import BlobStore, missing, store_for
from service.persist import loaded_from_row, select_loaded
from service.uploads import Upload
from workflow.actions import label as action_label
from workflow.errors import NotFound
from workflow.evidence import FileKind
from workflow.permissions import Stake, check_see_files

ATTACHMENT, EVENT, PROBLEM, USER = table_of(Attachment), table_of(Event), table_of(Problem), table_of(User)


def add_rows(
    session: Session | Connection,
    store: BlobStore,
    uploads: Sequence[Upload],
    login: str,
    now: datetime,
    problem_id: int | None = None,
    event_id: int | None = None,
    inspection_id: int | None = None,
) -> list[int]:
    """Make sure each file's content is stored, then write its row; returns the new ids in order."""
    if not uploads:
        return []
    for u in uploads:
        store.attach(session, u)
    rows = [
        dict(
            problem_id=problem_id,
            event_id=event_id,
            inspection_id=inspection_id,
            sha256=u.sha256,
            name=u.name,
            kind=u.kind.value,
            media_type=u.kind.media_type,
            size=u.size,
            uploaded_by=login,
            uploaded_at=now,
            meta=u.meta,
            thumbnail=u.thumbnail,
        )
        for u in uploads
    ]
    stmt = sa.insert(ATTACHMENT).returning(ATTACHMENT.c.id, sort_by_parameter_order=True)
    return list(session.execute(stmt, rows).scalars())


def count_for(session: Session | Connection, problem_id: int) -> int:
    return session.execute(
        sa.select(sa.func.count()).select_from(ATTACHMENT).where(ATTACHMENT.c.problem_id == problem_id)
    ).scalar_one()


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    problem_id: int | None
    event_id: int | None
    inspection_id: int | None
    action: str | None
    name: str
    kind: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_by_name: str
    uploaded_at: datetime
    meta: dict
    has_thumbnail: bool

    @property
    def kind_label(self) -> str:
        return FileKind(self.kind).label

    @property
    def is_image(self) -> bool:
        return FileKind(self.kind).is_image

    def as_dict(self, tz) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "uploaded_by": self.uploaded_by,
            "uploaded_by_name": self.uploaded_by_name,
            "uploaded_at": self.uploaded_at.astimezone(tz).isoformat(timespec="seconds"),
            "action": self.action,
            "action_label": action_label(self.action) if self.action else None,
            "event_id": self.event_id,
            "inspection_id": self.inspection_id,
            "meta": self.meta,
            "thumbnail": self.has_thumbnail,
        }


def _select():
    a = ATTACHMENT.c
    return (
        sa.select(
            a.id,
            a.problem_id,
            a.event_id,
            a.inspection_id,
            EVENT.c.action,
            a.name,
            a.kind,
            a.media_type,
            a.size,
            a.sha256,
            a.uploaded_by,
            USER.c.name.label("uploader_name"),
            a.uploaded_at,
            a.meta,
            (a.thumbnail.is_not(None)).label("has_thumbnail"),
        )
        .select_from(
            ATTACHMENT.outerjoin(EVENT, EVENT.c.id == a.event_id).outerjoin(USER, USER.c.login == a.uploaded_by)
        )
        .order_by(a.uploaded_at, a.id)
    )


def _info(r) -> AttachmentInfo:
    return AttachmentInfo(
        r.id,
        r.problem_id,
        r.event_id,
        r.inspection_id,
        r.action,
        r.name,
        r.kind,
        r.media_type,
        r.size,
        r.sha256,
        r.uploaded_by,
        r.uploader_name or r.uploaded_by,
        r.uploaded_at,
        r.meta or {},
        bool(r.has_thumbnail),
    )


def problem_files(session: Session, problem_id: int) -> list[AttachmentInfo]:
    return [_info(r) for r in session.execute(_select().where(ATTACHMENT.c.problem_id == problem_id))]


def inspection_files(session: Session, inspection_ids: Sequence[int]) -> dict[int, list[AttachmentInfo]]:
    out: dict[int, list[AttachmentInfo]] = {i: [] for i in inspection_ids}
    if inspection_ids:
        for r in session.execute(_select().where(ATTACHMENT.c.inspection_id.in_(list(inspection_ids)))):
            out[r.inspection_id].append(_info(r))
    return out


def thumbnails(session: Session, ids: Sequence[int]) -> dict[int, bytes]:
    """Thumbnails by attachment id (for documents that embed them)."""
    if not ids:
        return {}
    q = sa.select(ATTACHMENT.c.id, ATTACHMENT.c.thumbnail).where(
        ATTACHMENT.c.id.in_(list(ids)), ATTACHMENT.c.thumbnail.is_not(None)
    )
    return {r.id: bytes(r.thumbnail) for r in session.execute(q)}


class Attachments:
    """Reading files as a person: the list of a problem's files, one file's content, its thumbnail."""

    def __init__(self, engine: Engine, store: BlobStore | None = None):
        self.engine = engine
        self.store = store or store_for(engine)

    def for_problem(self, login: str, code: str) -> list[AttachmentInfo]:
        from service.problems import normalize_code

        code = normalize_code(code)
        with open_session(reader(self.engine)) as s:
            row = s.execute(select_loaded().where(PROBLEM.c.code == code)).first()
            if row is None:
                raise NotFound(f"问题编号「{code}」不存在", field="code", value=code)
            check_see_files(directory.view(s).actor(login), loaded_from_row(row).stake)
            return problem_files(s, row.id)

    def get(self, login: str, attachment_id: int) -> AttachmentInfo:
        with open_session(reader(self.engine)) as s:
            return self._get(s, login, attachment_id)

    def _get(self, s: Session, login: str, attachment_id: int) -> AttachmentInfo:
        actor = directory.view(s).actor(login)
        row = s.execute(_select().where(ATTACHMENT.c.id == attachment_id)).first()
        if row is None:
            raise NotFound(f"附件 {attachment_id} 不存在", field="attachment", value=attachment_id)
        stake = Stake()
        if row.problem_id is not None:
            loaded = s.execute(select_loaded().where(PROBLEM.c.id == row.problem_id)).first()
            stake = loaded_from_row(loaded).stake
        check_see_files(actor, stake)
        return _info(row)

    def content(self, login: str, attachment_id: int) -> tuple[AttachmentInfo, Iterator[bytes]]:
        """The file's description and its bytes in pieces; refused (NotFound) before any byte if missing."""
        info = self.get(login, attachment_id)
        if self.store.size(info.sha256) is None:
            raise missing(info.sha256)
        return info, self.store.read(info.sha256)

    def thumbnail(self, login: str, attachment_id: int) -> bytes:
        with open_session(reader(self.engine)) as s:
            info = self._get(s, login, attachment_id)
            data = thumbnails(s, [info.id]).get(info.id)
        if data is None:
            raise NotFound(f"附件「{info.name}」没有缩略图（不是图片）", field="attachment", value=attachment_id)
        return data
