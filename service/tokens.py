"""Personal API tokens: ``duban_`` + 43 url-safe characters (32 random bytes), shown once; the table
keeps their SHA-256 digest and an 8-character prefix to recognise them in listings."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from models.tables import ApiToken, User
from workflow.errors import InvalidValue, NotFound

PREFIX = "duban_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, user_id: int, name: str, now: datetime, expires_at: datetime | None = None) -> str:
    name = (name or "").strip()
    if len(name) > 100:
        raise InvalidValue("令牌名称过长：最多 100 字", field="name", value=name)
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user_id,
            name=name,
            token_hash=digest(token),
            prefix=token[:14],
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return token


def lookup(session: Session, token: str, now: datetime) -> User | None:
    """The active user a token belongs to, or None (unknown, revoked, expired, or user deactivated)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    tok, user = row
    if tok.revoked_at is not None or (tok.expires_at is not None and tok.expires_at <= now) or not user.active:
        return None
    return user


def revoke(session: Session, token_id: int, now: datetime) -> ApiToken:
    tok = session.get(ApiToken, token_id)
    if tok is None:
        raise NotFound(f"令牌编号 {token_id} 不存在", field="token", value=token_id)
    if tok.revoked_at is None:
        tok.revoked_at = now
        session.add(tok)
    return tok


def listing(session: Session, login: str | None = None) -> list[dict]:
    query = (
        select(ApiToken, col(User.login)).join(User, col(User.id) == col(ApiToken.user_id)).order_by(col(ApiToken.id))
    )
    if login:
        query = query.where(col(User.login) == login)
    return [
        {
            "id": t.id,
            "login": lg,
            "name": t.name,
            "prefix": t.prefix,
            "created_at": t.created_at,
            "expires_at": t.expires_at,
            "revoked_at": t.revoked_at,
        }
        for t, lg in session.exec(query).all()
    ]
