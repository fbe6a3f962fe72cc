"""The page of a 公文 (GB/T 9704-2012, as county offices apply it), shared by the Word and PDF renderers.

A4; 天头 (top margin) 37 mm, 订口 (left, binding) 28 mm; text block 156 × 225 mm, so 26 mm right and 35 mm
bottom; 22 lines of 28 characters in 三号 (16 pt). 225 mm is 637.8 pt: a line pitch of 28.95 pt (579 twips)
fits 22 lines — 29 pt would fit only 21 in Word, which rounds to whole twips. 156 mm holds 28 characters
at a pitch of 15.79 pt, a little under 16 pt: Word's character grid and the PDF's letter-spacing close the
difference.
"""

from __future__ import annotations

from reports.official.text import width_em

PAGE_MM = (210.0, 297.0)
MARGIN_MM = {"top": 37.0, "bottom": 35.0, "left": 28.0, "right": 26.0}
TEXT_MM = (156.0, 225.0)
LINES, CHARS = 22, 28

MM_PT = 72 / 25.4
LINE_PT = 28.95  # exact line spacing of every body line (579 twips)
BODY_PT = 16.0  # 三号: 正文, 主送机关, 发文字号, 署名, 成文日期, 附注
TITLE_PT = 22.0  # 二号: 标题
FOOT_PT = 14.0  # 四号: 版记, 页码
TEXT_WIDTH_PT = TEXT_MM[0] * MM_PT  # 442.2 pt
CHAR_PT = TEXT_WIDTH_PT / CHARS  # 15.79 pt: the character grid's pitch
ORGAN_TOP_MM = 35.0  # 发文机关标志 top edge below the text block's top edge
NUMBER_GAP_LINES = 2  # 发文字号 two blank lines below the organ mark
RULE_GAP_MM = 4.0  # red separator 4 mm below the 发文字号
RULE_MM = 0.35  # red separator (and 版记's first and last lines): 0.35 mm
THIN_RULE_MM = 0.25  # 版记's inner lines
PAGE_NUMBER_GAP_MM = 7.0  # page number's dashes 7 mm below the text block

RED = "FF0000"  # 公文 red, as Word's standard red
ORGAN_MAX_PT = 42.0  # organ mark: large and red, never wider than the text block


def organ_mark_pt(mark: str) -> float:
    """Font size of the organ mark: 42 pt for a short name, smaller so a long name keeps to one line."""
    width = max(width_em(mark), 1.0)
    return round(min(ORGAN_MAX_PT, TEXT_WIDTH_PT * 0.96 / width), 1)


def signature_indents(signatory: str, date_text: str, sealed: bool) -> tuple[float, float]:
    """Right indents, in characters, of the 署名 and the 成文日期 lines.

    Sealed (加盖印章): the date 4 characters from the right, the signatory centred over it (the seal covers
    both). Unsealed: the signatory 2 characters from the right and the date starting 2 characters further
    right than the signatory — unless the date is the longer, then the date 2 from the right and the
    signatory moved left to keep the 2-character step.
    """
    org, day = width_em(signatory), width_em(date_text)
    if sealed:
        return max(0.0, 4 + (day - org) / 2), 4.0
    if org - 2 >= day:
        return 2.0, org - day
    return day + 4 - org, 2.0
