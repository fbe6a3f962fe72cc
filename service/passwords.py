"""Passwords: argon2id via argon2-cffi (its default parameters, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col

from models.tables import User
from service import directory
from workflow.errors import InvalidValue

_HASHER = PasswordHasher()
MIN_LENGTH = 8
# Verified against when the login does not exist, so a wrong login costs as long as a wrong password.
_DUMMY = _HASHER.hash("duban-dummy-password")


def validate(password: str) -> str:
    if password is None or len(password) < MIN_LENGTH:
        raise InvalidValue(f"密码至少 {MIN_LENGTH} 位", field="password")
    if len(password) > 256:
        raise InvalidValue("密码过长：最多 256 位", field="password")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(validate(password))


def verify(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; a user without a password can never log in."""
    if not stored:
        try:
            _HASHER.verify(_DUMMY, password or "")
        except VerificationError:
            pass
        return False
    try:
        return _HASHER.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def set_password(session: Session, login: str, password: str) -> User:
    """Set a user's password (in the caller's transaction)."""
    found = directory.view(session).user(login, "用户", "login")
    user = session.get(User, found.id)
    assert user is not None
    user.password_hash = hash_password(password)
    session.add(user)
    return user


def set_demo_passwords(session: Session, password: str) -> list[str]:
    """Give every user who has no password yet ``password`` (for ``duban init --sample`` demos only).
    Hashed once: all demo users share the printed password anyway. Returns the logins changed."""
    from sqlmodel import select

    hashed = hash_password(password)
    users = session.exec(select(User).where(col(User.password_hash).is_(None)).order_by(col(User.id))).all()
    for user in users:
        user.password_hash = hashed
        session.add(user)
    return [u.login for u in users]
