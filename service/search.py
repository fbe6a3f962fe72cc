"""Text search over the ledger: what a person typed → terms → an SQL condition on the search index
(``models.search_index``), a rank, and the highlighted fragments a page shows.

- Terms are separated by spaces; a problem matches when its text contains every term (any case, any
  position: substring search, so Chinese needs no word segmenter).
- A term of three characters or more is looked up in the index (SQLite FTS5 trigram, PostgreSQL pg_trgm).
  Shorter terms only narrow what the longer ones found; a query made of short terms only scans the
  ``SHORT_SCAN`` most recently logged problems (``LedgerPage.bounded`` says so).
- Every term is passed as data: as a double-quoted FTS5 string (quotes doubled; operators such as NEAR,
  AND, ``*`` inside it are plain text), as a LIKE pattern with ``\\``, ``%`` and ``_`` escaped, or as a bound
  parameter of ``instr``/``strpos``. Nothing a person types can change the query's syntax.
- On PostgreSQL, a term holding a piece that most documents hold (``service.search_grams``: a county's name,
  "问题", a ledger's numbering) is looked up by its rarer three-character pieces and then checked whole on
  the rows found: the trigram index reads every piece's posting list for every candidate of the rarest one,
  and a common piece's list holds most of the ledger.
- Rank: 0 the problem's code is the query; 1 the title contains every term; 2 the rest.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import col

from models.search_index import PG_DOCUMENT, TABLE
from models.tables import Problem
from workflow.errors import InvalidValue

MAX_CHARS = 100
MAX_TERMS = 8
MIN_INDEXED = 3  # the trigram index finds substrings of at least three characters
SHORT_SCAN = 20_000  # problems scanned (the most recent) when every term is shorter than MIN_INDEXED
SNIPPET_CHARS = 40
MAX_PIECES = 4  # rarer pieces of a term asked of the index (each more narrows the candidates less)
# Characters the trigram index counts as parts of a word in a UTF-8 database: letters (Chinese included) and
# digits. A piece must be made of these alone: pg_trgm finds no trigram in "a-b" and would read every entry.
WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lo", "Nd"})


@dataclass(frozen=True)
class Terms:
    terms: tuple[str, ...]

    @property
    def indexed(self) -> tuple[str, ...]:
        return tuple(t for t in self.terms if len(t) >= MIN_INDEXED)

    @property
    def short(self) -> tuple[str, ...]:
        return tuple(t for t in self.terms if len(t) < MIN_INDEXED)

    @property
    def bounded(self) -> bool:
        """Only short terms: the scan is limited to the most recent problems."""
        return bool(self.terms) and not self.indexed

    @property
    def code(self) -> str:
        """The query as a problem code (rank 0), when it is one term."""
        return self.terms[0].upper() if len(self.terms) == 1 else ""

    def lookup(self, common: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(what the index is asked for, what is checked on the rows it returns) for these indexed terms,
        given the common pieces and their shares of the documents: a term holding both common and rarer
        pieces is asked by its rarer pieces and checked whole; any other term is asked whole."""
        asked: list[str] = []
        checked: list[str] = []
        for term in self.indexed:
            found = rarer_pieces(term, common)
            if found is None:
                asked.append(term)
            else:
                asked.extend(found)
                checked.append(term)
        return tuple(dict.fromkeys(asked)), tuple(checked)


def pieces(text: str) -> list[str]:
    """The distinct three-character pieces of ``text`` (lower case) made of word characters only, in order."""
    folded = text.lower()
    word = [unicodedata.category(ch) in WORD_CATEGORIES for ch in folded]
    found = (folded[i : i + 3] for i in range(len(folded) - 2) if word[i] and word[i + 1] and word[i + 2])
    return list(dict.fromkeys(found))


def rarer_pieces(term: str, common: Mapping[str, float]) -> tuple[str, ...] | None:
    """The pieces of ``term`` to ask the index for instead of the whole term: its pieces that are not common
    (at most MAX_PIECES). None: ask for the term whole — none of its pieces is common, every one is (then
    the whole term's trigrams narrow the most), or it has no piece of word characters only."""
    found = pieces(term)
    rare = [p for p in found if p not in common]
    if not rare or len(rare) == len(found):
        return None
    return tuple(rare[:MAX_PIECES])


def parse(q: str) -> Terms:
    """The terms of a search box's text. Raises InvalidValue (field ``q``) for text that cannot be a search:
    too long, too many terms, or control characters. Invisible format characters (zero-width spaces
    pasted from documents, byte-order marks) are dropped."""
    text = unicodedata.normalize("NFC", q or "")
    if len(text) > MAX_CHARS:
        raise InvalidValue(f"搜索词过长：{len(text)} 个字，最多 {MAX_CHARS} 个字", field="q", value=text[:20] + "…")
    kept = []
    for ch in text:
        kind = unicodedata.category(ch)
        if ch.isspace():
            kept.append(" ")
        elif kind == "Cf":
            continue
        elif kind in ("Cc", "Cs", "Co", "Cn"):
            raise InvalidValue(
                f"搜索词含有不可见的控制字符（U+{ord(ch):04X}），请删除后重试", field="q", value=text[:20]
            )
        else:
            kept.append(ch)
    terms: list[str] = []
    for term in "".join(kept).split():
        if term not in terms:
            terms.append(term)
    if len(terms) > MAX_TERMS:
        raise InvalidValue(
            f"搜索词过多：{len(terms)} 个，最多 {MAX_TERMS} 个（以空格分隔）", field="q", value=text[:20]
        )
    return Terms(tuple(terms))


def fts_string(term: str) -> str:
    """``term`` as an FTS5 string: in double quotes, inner quotes doubled. The trigram tokenizer turns it
    into the phrase of its trigrams, i.e. "contains ``term``"."""
    return '"' + term.replace('"', '""') + '"'


def like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SearchMatch(ColumnElement):
    """``problem.id IN (ids whose search document contains every term)``, compiled per database.

    Every value is a bound parameter made here, and the cache key is the shape of the search (how many
    terms of each kind) plus those parameters: a statement with a search is compiled once per shape and
    then reused with new values, like any other (compiling it on every request cost 2–3 ms)."""

    type = sa.Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("fts_query", InternalTraversal.dp_clauseelement),
        ("patterns", InternalTraversal.dp_clauseelement_list),
        ("checks", InternalTraversal.dp_clauseelement_list),
        ("shorts", InternalTraversal.dp_clauseelement_list),
        ("floor", InternalTraversal.dp_clauseelement),
    ]
    # A condition already: without this SQLAlchemy writes "… IN (…) = 1" on SQLite (no native boolean), and
    # SQLite then tests every problem against the subquery instead of reading the ids the index found.
    _is_implicitly_boolean = True

    def __init__(self, terms: Terms, common: Mapping[str, float]):
        self.terms = terms
        text = lambda value: sa.bindparam(None, value, type_=sa.String, unique=True)  # noqa: E731
        # SQLite: one FTS5 query of every indexed term. PostgreSQL: a LIKE pattern per term or rarer piece
        # asked of the index, and one per term checked on the rows it returns.
        self.fts_query = text(" AND ".join(fts_string(x) for x in terms.indexed))
        asked, checked = terms.lookup(common)
        self.patterns = [text(like_pattern(x)) for x in asked]
        self.checks = [text(like_pattern(x)) for x in checked]
        self.shorts = [text(x) for x in terms.short]
        self.floor = sa.bindparam(None, SHORT_SCAN - 1, type_=sa.Integer, unique=True)


def _floor(element: SearchMatch, compiler, kw) -> str:
    """The smallest id of the SHORT_SCAN most recent problems (0 when there are fewer)."""
    n = compiler.process(element.floor, **kw)
    return f"coalesce((SELECT id FROM problem ORDER BY id DESC LIMIT 1 OFFSET {n}), 0)"


@compiles(SearchMatch, "sqlite")
def _sqlite(element: SearchMatch, compiler, **kw) -> str:
    shorts = [compiler.process(b, **kw) for b in element.shorts]
    if not element.patterns:
        # Short terms only: a bounded scan of the most recent documents. Read from the FTS5 table's content
        # store (its documented shadow table ``<name>_content``: id, c0 = doc, c1 = notes): scanning through
        # the virtual table costs several times more per row.
        where = [f"id >= {_floor(element, compiler, kw)}"]
        where += [f"instr(lower(c0 || char(10) || c1), lower({b})) > 0" for b in shorts]
        return f"problem.id IN (SELECT id FROM {TABLE}_content WHERE {' AND '.join(where)})"
    where = [f"{TABLE} MATCH {compiler.process(element.fts_query, **kw)}"]
    where += [f"instr(lower(doc || char(10) || notes), lower({b})) > 0" for b in shorts]
    return f"problem.id IN (SELECT rowid FROM {TABLE} WHERE {' AND '.join(where)})"


@compiles(SearchMatch, "postgresql")
def _postgresql(element: SearchMatch, compiler, **kw) -> str:
    where = [f"{PG_DOCUMENT} ILIKE {compiler.process(b, **kw)} ESCAPE '\\'" for b in element.patterns]
    # "|| ''" makes the expression differ from the index's, so the planner checks these on the rows found
    # instead of adding their (common) trigrams to the index lookup.
    where += [f"({PG_DOCUMENT} || '') ILIKE {compiler.process(b, **kw)} ESCAPE '\\'" for b in element.checks]
    if not element.patterns:
        where.append(f"problem_id >= {_floor(element, compiler, kw)}")
    for b in element.shorts:
        where.append(f"strpos(lower({PG_DOCUMENT}), lower({compiler.process(b, **kw)})) > 0")
    return f"problem.id IN (SELECT problem_id FROM {TABLE} WHERE {' AND '.join(where)})"


def condition(terms: Terms, common: Mapping[str, float] | None = None):
    """The search as a condition on ``problem``; ``common``: the common pieces (``search_grams.common``),
    which only PostgreSQL uses (an FTS5 phrase costs little at a million problems)."""
    return SearchMatch(terms, common or {})


def rank(terms: Terms):
    """0 = the code is the query, 1 = the title has every term, 2 = found elsewhere."""
    whens: list[tuple[Any, int]] = []
    if terms.code:
        whens.append((Problem.code == terms.code, 0))
    whens.append((sa.and_(*[col(Problem.title).icontains(x, autoescape=True) for x in terms.terms]), 1))
    return sa.case(*whens, else_=2)


def more_than_short_scan(session) -> bool:
    """Whether a short-term search left older problems out (the ledger is longer than SHORT_SCAN)."""
    found = session.execute(
        sa.select(col(Problem.id)).order_by(col(Problem.id).desc()).limit(1).offset(SHORT_SCAN)
    ).first()
    return found is not None


# -- highlighting ----------------------------------------------------------------------------------------

Segments = list[tuple[str, bool]]


def _fold(text: str) -> str:
    """Lower case, character by character, keeping every index in place (str.lower may change lengths)."""
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


def _hits(text: str, terms: tuple[str, ...]) -> list[tuple[int, int]]:
    folded, spans = _fold(text), []
    for term in terms:
        needle, start = _fold(term), 0
        while needle and (i := folded.find(needle, start)) >= 0:
            spans.append((i, i + len(needle)))
            start = i + len(needle)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def segments(text: str, terms: tuple[str, ...]) -> Segments:
    """``text`` cut into (piece, is_match) segments; the page escapes every piece when it renders them."""
    out: Segments = []
    pos = 0
    for a, b in _hits(text, terms):
        if a > pos:
            out.append((text[pos:a], False))
        out.append((text[a:b], True))
        pos = b
    if pos < len(text) or not out:
        out.append((text[pos:], False))
    return out


def snippet(text: str, terms: tuple[str, ...], width: int = SNIPPET_CHARS) -> Segments:
    """The fragment of ``text`` around its first match, as segments with … where it was cut; [] if none."""
    flat = " ".join(text.split())
    spans = _hits(flat, terms)
    if not spans:
        return []
    first = spans[0][0]
    start = max(0, first - width // 3)
    end = min(len(flat), start + width)
    out = segments(flat[start:end], terms)
    if start > 0:
        out.insert(0, ("…", False))
    if end < len(flat):
        out.append(("…", False))
    return out


def documents(session, ids: list[int]) -> dict[int, str]:
    """The indexed text of these problems, without code and title (what a snippet is cut from)."""
    if not ids:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        sql = f"SELECT rowid, doc, notes FROM {TABLE} WHERE rowid IN ({', '.join(str(int(i)) for i in ids)})"
    else:
        sql = f"SELECT problem_id, doc, notes FROM {TABLE} WHERE problem_id IN ({', '.join(str(int(i)) for i in ids)})"
    out = {}
    for pid, doc, notes in session.connection().exec_driver_sql(sql):
        body = doc.split("\n", 2)[2] if doc.count("\n") >= 2 else ""
        out[pid] = body + "\n" + notes
    return out
