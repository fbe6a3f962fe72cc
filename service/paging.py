"""Keyset paging for the ledger: the sort keys of a query, the opaque cursor that carries the last (or first)
row's keys to the next request, and the SQL "rows after these keys".

A page reached by a cursor costs what the first page costs, however deep it is: the database seeks to the
keys instead of counting past every earlier row (OFFSET). Rows logged or changed between two requests do
not shift the pages: the next page starts after the last row seen.

The cursor is base64url JSON: format version, direction (next/previous), the page's position (for "第 N 页";
approximate once rows come and go), a fingerprint of the query's filters and sort, and the key values. It is
validated, not trusted: any cursor that does not decode, has the wrong shape or types, or was made for
other filters or another sort is refused with InvalidValue (HTTP 400) naming the field ``cursor``. A
well-formed cursor can only move the reader within the ledger they may already read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from workflow.errors import InvalidValue

VERSION = 1
MAX_CURSOR = 600  # characters
MAX_POSITION = 10_000_000
STALE = "翻页位置（cursor）已失效或与当前的筛选、排序不一致，请从第一页重新开始"


@dataclass(frozen=True)
class Key:
    """One sort key: an SQL expression, its direction, the Python kind of its values, whether it may be NULL."""

    name: str
    expr: Any
    desc: bool
    kind: str  # "int" | "str" | "date" | "datetime"
    nullable: bool = False


@dataclass(frozen=True)
class Cursor:
    forward: bool
    position: int
    values: tuple


def fingerprint(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _encode_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "date":
        return value.isoformat()
    if kind == "datetime":
        return value.isoformat()
    return value


def _decode_value(raw: Any, key: Key) -> Any:
    if raw is None:
        if not key.nullable:
            raise ValueError(key.name)
        return None
    if key.kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or abs(raw) > 2**31:
            raise ValueError(key.name)
        return raw
    if not isinstance(raw, str) or len(raw) > 200:
        raise ValueError(key.name)
    if key.kind == "date":
        return date.fromisoformat(raw)
    if key.kind == "datetime":
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError(key.name)
        return moment
    return raw


def encode(keys: list[Key], values: tuple, forward: bool, position: int, fp: str) -> str:
    payload = [VERSION, 1 if forward else 0, position, fp, [_encode_value(v, k.kind) for k, v in zip(keys, values)]]
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str, keys: list[Key], fp: str) -> Cursor:
    """The cursor ``text`` for a query with these keys and fingerprint; InvalidValue when it is not one."""
    shown = text[:24] + ("…" if len(text) > 24 else "")
    if len(text) > MAX_CURSOR or not text.isascii():
        raise InvalidValue(STALE, field="cursor", value=shown)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw)
        version, forward, position, got_fp, values = payload
        if version != VERSION or got_fp != fp or forward not in (0, 1):
            raise ValueError("version")
        if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= MAX_POSITION:
            raise ValueError("position")
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("values")
        decoded = tuple(_decode_value(v, k) for v, k in zip(values, keys))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise InvalidValue(STALE, field="cursor", value=shown) from None
    return Cursor(bool(forward), position, decoded)


def _nulls_first(dialect: str, desc: bool) -> bool:
    """Where the database puts NULL in this direction: SQLite sorts NULL as the smallest value, PostgreSQL
    as the largest. Paging follows each database's own order, so its indexes serve the sort."""
    return (not desc) if dialect == "sqlite" else desc


def order(keys: list[Key], reverse: bool = False) -> list:
    return [k.expr.asc() if (k.desc == reverse) else k.expr.desc() for k in keys]


def _beyond(key: Key, value: Any, desc: bool, dialect: str):
    """Rows strictly after ``value`` on this key, in direction ``desc``."""
    if value is None:
        return key.expr.is_not(None) if _nulls_first(dialect, desc) else sa.false()
    cmp = key.expr < value if desc else key.expr > value
    if key.nullable and not _nulls_first(dialect, desc):
        return sa.or_(cmp, key.expr.is_(None))
    return cmp


def _equal(key: Key, value: Any):
    return key.expr.is_(None) if value is None else key.expr == value


def after(keys: list[Key], values: tuple, dialect: str, reverse: bool = False):
    """SQL for "comes after the row with these key values" in the keys' order (``reverse``: before it)."""
    branches = []
    for i, key in enumerate(keys):
        desc = key.desc != reverse
        branches.append(
            sa.and_(*[_equal(keys[j], values[j]) for j in range(i)], _beyond(key, values[i], desc, dialect))
        )
    condition = sa.or_(*branches)
    first, v = keys[0], values[0]
    desc = first.desc != reverse
    if v is not None and (not first.nullable or _nulls_first(dialect, desc)):
        # Redundant with the branches, but a range on the first key lets the database seek its index.
        condition = sa.and_(first.expr <= v if desc else first.expr >= v, condition)
    return condition
