"""Compact stores for what a ledger read keeps in memory, so memory follows the file's size, not its cell count.

A Python ``str`` costs about 50–75 bytes before its first character, and a 100,000-row sheet has millions
of cells: held as objects, the cells alone would pass 200 MB. ``SharedStrings`` keeps a workbook's
shared-strings table as joined text plus offsets; ``PackedRows`` keeps rows pickled and zlib-compressed in
batches, which also folds the copies a pickle makes when many cells refer to one long shared string.
A cell that refers to a shared string is kept as its number (``SharedRef``), so one long string in a
million cells costs a million small numbers, not a million copies. The pickles are our own (str, numbers,
dates, None, ``SharedRef``), never read from a file.
"""

from __future__ import annotations

import bisect
import pickle
import zlib
from array import array
from collections.abc import Iterator

CHUNK_CHARS = 1 << 20  # text is joined in chunks: one wide character (an emoji) widens only its chunk


class SharedRef(int):
    """A cell holding shared string number ``int(self)``: kept as that number (a few bytes, however long the
    string and however many cells refer to it) and turned into its text when the rows are read back."""

    __slots__ = ()


class SharedStrings:
    """An append-only list of strings, held as a few large strings and integer arrays."""

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._pending: list[str] = []
        self._pending_chars = 0
        self._chunk = array("I")
        self._start = array("I")
        self._length = array("I")
        self._blank = bytearray()  # 1: the string is empty or only whitespace
        self.chars = 0  # characters in all strings

    def append(self, text: str) -> None:
        self._chunk.append(len(self._chunks))
        self._start.append(self._pending_chars)
        self._length.append(len(text))
        self._blank.append(not text.strip())
        self._pending.append(text)
        self._pending_chars += len(text)
        self.chars += len(text)
        if self._pending_chars >= CHUNK_CHARS:
            self._seal()

    def _seal(self) -> None:
        self._chunks.append("".join(self._pending))
        self._pending, self._pending_chars = [], 0

    def __len__(self) -> int:
        return len(self._length)

    def __getitem__(self, index: int) -> str:
        chunk, start, length = self._chunk[index], self._start[index], self._length[index]
        if chunk == len(self._chunks):
            self._seal()
        return self._chunks[chunk][start : start + length]

    def length(self, index: int) -> int:
        return self._length[index]

    def blank(self, index: int) -> bool:
        return bool(self._blank[index])

    def head(self, index: int, limit: int) -> str:
        """The first ``limit`` characters of string ``index``, without building the whole string."""
        chunk, start = self._chunk[index], self._start[index]
        if chunk == len(self._chunks):
            self._seal()
        return self._chunks[chunk][start : start + min(self._length[index], limit)]

    def resolve(self, values: tuple, limit: int | None = None) -> tuple:
        """``values`` with every ``SharedRef`` replaced by its text (its first ``limit`` characters)."""
        if limit is not None:
            return tuple(self.head(v, limit) if type(v) is SharedRef else v for v in values)
        return tuple(self[v] if type(v) is SharedRef else v for v in values)


class PackedRows:
    """A sheet's kept rows, ``(row number, values)``, pickled and compressed ``BATCH`` rows at a time — or
    sooner, once the rows waiting hold ``BATCH_CHARS`` characters of text. ``SharedRef`` cells are given
    back as the text of ``strings``."""

    BATCH = 512
    BATCH_CHARS = 1 << 20

    def __init__(self, strings: SharedStrings | None = None) -> None:
        self.strings = strings
        self._blocks: list[bytes] = []
        self._starts: list[int] = []  # index of each block's first row
        self._pending: list[tuple[int, tuple]] = []
        self._pending_chars = 0
        self._count = 0

    def append(self, row: tuple[int, tuple], chars: int = 0) -> None:
        """Add ``row``; ``chars`` is how much text it holds."""
        self._pending.append(row)
        self._pending_chars += chars
        self._count += 1
        if len(self._pending) >= self.BATCH or self._pending_chars >= self.BATCH_CHARS:
            self._starts.append(self._count - len(self._pending))
            self._blocks.append(zlib.compress(pickle.dumps(self._pending, pickle.HIGHEST_PROTOCOL), 1))
            self._pending, self._pending_chars = [], 0

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[int, tuple]]:
        for block in self._blocks:
            yield from map(self._text, pickle.loads(zlib.decompress(block)))
        yield from map(self._text, list(self._pending))

    def _text(self, row: tuple[int, tuple]) -> tuple[int, tuple]:
        return row if self.strings is None else (row[0], self.strings.resolve(row[1]))

    def __getitem__(self, index: int) -> tuple[int, tuple]:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        block = bisect.bisect_right(self._starts, index) - 1
        if block < 0 or index >= self._count - len(self._pending):
            return self._text(self._pending[index - (self._count - len(self._pending))])
        return self._text(pickle.loads(zlib.decompress(self._blocks[block]))[index - self._starts[block]])
