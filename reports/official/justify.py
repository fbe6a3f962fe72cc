"""Justified Chinese lines for WeasyPrint, which justifies only at spaces.

A 公文 is set flush on both sides: Word spreads a line's characters when a number, a Latin word or a
punctuation mark that may not start a line (。，」) leaves it short. WeasyPrint stretches spaces only, and
Chinese has none, so the PDF renderer lays the letter out twice: the first pass (left-aligned) gives the
line breaks; the second sets every line but a paragraph's last as its own run with the letter-spacing
that makes it reach the right edge, and ends it with a forced break — the same lines, the same pages.

This reads WeasyPrint's box tree (``Page._page_box``), an internal API: the version is pinned, and the
tests measure the right edges in the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

PX_PT = 0.75  # WeasyPrint lays out in CSS px
SAFETY_PX = 0.1  # Pango rounds spacing to 1/1024 pt per character: stay a hair inside the edge
MAX_SLACK_EM = 3.0  # a line shorter than this is left ragged rather than spread thin (a long URL, say)


@dataclass(frozen=True)
class Piece:
    cls: str  # the class of the inline it came from ("lead" for a heading's label), "" for plain text
    text: str
    extra_pt: float  # letter-spacing added to the paragraph's own


def measure(document, attribute: str = "data-j") -> dict[str, list[list[Piece]]]:
    """For every block carrying ``attribute`` in a rendered document: its lines as pieces, with the
    letter-spacing that makes each line but the last reach the right edge."""
    lines: dict[str, list[tuple[float, list[tuple[str, str]], float, float]]] = {}
    for page in document.pages:
        for block in _blocks(page._page_box, attribute):
            key = block.element.get(attribute)
            right = block.content_box_x() + block.width
            em = block.style["font_size"]
            for line in block.children:
                texts: list[tuple[str, str, float]] = []
                _texts(line, "", texts)
                if texts:
                    edge = max(x for _, _, x in texts)
                    lines.setdefault(key, []).append((right - edge, [(c, t) for c, t, _ in texts], em, right))
    out: dict[str, list[list[Piece]]] = {}
    for key, rows in lines.items():
        result = []
        for i, (slack, texts, em, _) in enumerate(rows):
            count = sum(len(t) for _, t in texts)
            last = i == len(rows) - 1
            if last or count < 2 or slack <= 0 or slack > MAX_SLACK_EM * em:
                result.append([Piece(c, t, 0.0) for c, t in texts])
                continue
            extra = (slack - SAFETY_PX) / (count - 1) * PX_PT
            result.append(_spread(texts, extra))
        out[key] = result
    return out


def _spread(texts: list[tuple[str, str]], extra_pt: float) -> list[Piece]:
    """Every character but the line's last gets ``extra_pt`` after it (letter-spacing follows each
    character, so the last one goes in a run of its own)."""
    pieces = [Piece(c, t, extra_pt) for c, t in texts]
    last = pieces[-1]
    head, tail = last.text[:-1], last.text[-1]
    return pieces[:-1] + ([Piece(last.cls, head, extra_pt)] if head else []) + [Piece(last.cls, tail, 0.0)]


def _blocks(box, attribute: str):
    element = getattr(box, "element", None)
    if element is not None and element.get(attribute) is not None and box.element_tag == "p":
        if type(box).__name__ == "BlockBox":
            yield box
            return
    for child in getattr(box, "children", ()):
        yield from _blocks(child, attribute)


def _texts(box, cls: str, out: list[tuple[str, str, float]]) -> None:
    if type(box).__name__ == "TextBox":
        if box.text:
            out.append((cls, box.text, box.position_x + box.width))
        return
    if type(box).__name__ == "InlineBox":
        cls = (box.element.get("class") or "") if box.element is not None else cls
    for child in getattr(box, "children", ()):
        _texts(child, cls, out)
