"""A registered 督办函 as a document: the facts the register keeps (``workflow.letters.letter_facts``) and its
number → a ``LetterDoc`` in the standard 13710 wording → .docx or PDF bytes.

The facts are frozen when the letter is signed, so the letter can be produced again, identical, at any time;
the PDF sent is also kept as issued.
"""

from __future__ import annotations

from datetime import date

from reports.official.letter import LetterDoc, Milestone, compose_supervision_letter


def letter_doc(facts: dict, number: str, printed: date | None = None) -> LetterDoc:
    """The letter. ``printed`` (印发日期) is the day it was signed; the 成文日期 is the facts' ``issued``."""
    deploy, feedback, settle = (
        Milestone(m["action"], date.fromisoformat(m["due"]), m.get("period", "")) for m in facts["milestones"]
    )
    issued = date.fromisoformat(facts["issued"])
    return compose_supervision_letter(
        organ_mark=facts["organ_mark"],
        number=number,
        issued=issued,
        unit=facts["unit"],
        project=facts["project"],
        problem_title=facts["problem_title"],
        description=facts["description"],
        deploy=deploy,
        feedback=feedback,
        settle=settle,
        contact=facts["contact"],
        phone=facts["phone"],
        major=bool(facts.get("major")),
        topic=facts.get("topic", ""),
        background=facts.get("background", ""),
        report_to=facts.get("report_to", ""),
        signatory=facts.get("signatory", ""),
        copy_to=facts.get("copy_to", ()),
        printed=max(printed, issued) if printed else None,
        sealed=bool(facts.get("sealed", True)),
    )


def letter_bytes(facts: dict, number: str, suffix: str, printed: date | None = None) -> bytes:
    """The letter as ``.pdf`` or ``.docx`` bytes."""
    doc = letter_doc(facts, number, printed)
    if suffix == ".pdf":
        from reports.official.letter_pdf import letter_pdf

        return letter_pdf(doc)
    from reports.official.letter_docx import letter_docx

    return letter_docx(doc)


def preview_paragraphs(facts: dict, number: str) -> list[str]:
    """The letter's text, paragraph by paragraph, for reviewing a draft before it is signed."""
    doc = letter_doc(facts, number)
    out = [doc.title_text, doc.addressee_line]
    for b in doc.numbered_body():
        out.append(f"{b.label}{b.text}{b.run_in}")
    out += [doc.note_line, doc.signatory, doc.issued_text, doc.copy_line]
    return [line for line in out if line]
