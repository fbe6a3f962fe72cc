"""One official letter (公文, here the 13710 督办函) as plain data, validated, with no database.

The parts follow GB/T 9704-2012: 版头 (发文机关标志, 发文字号, 签发人), 主体 (标题, 主送机关, 正文, 附件说明,
署名, 成文日期, 附注) and 版记 (抄送, 印发机关, 印发日期). The renderers (``letter_docx``, ``letter_pdf``) read
only this model; the standard 督办函 wording is built by ``compose_supervision_letter``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum

from reports.official.dates import LetterNumber, check_letter_number, cn_date
from reports.official.text import clean_text, paragraphs, width_em
from workflow.errors import InvalidValue, MissingField

_NUMERALS = "一二三四五六七八九十"
_TRAILING = "，。；、,.;:：！!？?"


class BlockKind(StrEnum):
    PARAGRAPH = "paragraph"
    HEADING1 = "heading1"  # 一、 in 黑体
    HEADING2 = "heading2"  # （一） in 楷体


@dataclass(frozen=True)
class Block:
    """One paragraph of the 正文. Headings are numbered by the renderer (一、 / （一）, the second level
    restarting under each first-level heading); ``run_in`` continues a heading's line in the body font, as
    in "（一）1日内研究部署。请于……"."""

    kind: BlockKind
    text: str
    run_in: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", BlockKind(self.kind))
        object.__setattr__(self, "text", clean_text(self.text))
        object.__setattr__(self, "run_in", clean_text(self.run_in))


def paragraph(text: str) -> Block:
    return Block(BlockKind.PARAGRAPH, text)


def heading1(text: str, run_in: str = "") -> Block:
    return Block(BlockKind.HEADING1, text, run_in)


def heading2(text: str, run_in: str = "") -> Block:
    return Block(BlockKind.HEADING2, text, run_in)


@dataclass(frozen=True)
class NumberedBlock:
    kind: BlockKind
    label: str  # "一、", "（二）" or ""
    text: str
    run_in: str


def cn_numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 25 → 二十五 (headings never reach a hundred)."""
    if not 1 <= n <= 99:
        raise ValueError(n)
    if n <= 10:
        return _NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _NUMERALS[tens - 1]) + "十" + (_NUMERALS[ones - 1] if ones else "")


def numbered(blocks: Iterable[Block]) -> list[NumberedBlock]:
    out: list[NumberedBlock] = []
    first = second = 0
    for b in blocks:
        label = ""
        if b.kind is BlockKind.HEADING1:
            first, second = first + 1, 0
            label = f"{cn_numeral(first)}、"
        elif b.kind is BlockKind.HEADING2:
            second += 1
            label = f"（{cn_numeral(second)}）"
        out.append(NumberedBlock(b.kind, label, b.text, b.run_in))
    return out


@dataclass(frozen=True)
class Milestone:
    """A 13710 node as the letter states it: ``Milestone("研究部署", date(2024, 1, 11), "1日内")``."""

    action: str
    due: date
    period: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", clean_text(self.action))
        object.__setattr__(self, "period", clean_text(self.period))
        if not self.action:
            raise MissingField("办理节点的名称不能为空，如「研究部署」", field="milestone", value=self.action)
        _check_date(self.due, "milestone_due", f"「{self.action}」节点的期限")


@dataclass(frozen=True)
class LetterDoc:
    organ_mark: str  # 发文机关标志, e.g. "阳城县人民政府督查室" (a setting)
    number: str  # 发文字号, standard form only: "阳督函〔2024〕3号"
    title: str  # 标题; a "\n" marks where a long title should break
    addressee: str  # 主送机关: a unit, with or without the closing "："
    body: tuple[Block, ...]
    issued: date  # 成文日期
    signatory: str = ""  # 署名; defaults to the organ mark
    signer: str = ""  # 签发人 (上行文 only)
    milestones: tuple[Milestone, ...] = ()  # the 13710 nodes the body states, for the register
    attachments: tuple[str, ...] = ()  # 附件说明, names only
    note: str = ""  # 附注, e.g. "联系人：张敏，电话：0356-4222222" (printed in parentheses)
    copy_to: tuple[str, ...] = ()  # 抄送: units
    printer: str = ""  # 印发机关; defaults to the signatory
    printed: date | None = None  # 印发日期; defaults to the 成文日期
    sealed: bool = True  # 加盖印章: 成文日期 4 characters from the right, 署名 centred above it
    number_parts: LetterNumber = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for f in fields(self):
            value = getattr(self, f.name) if f.init else None
            if f.name in ("organ_mark", "number", "addressee", "signatory", "signer", "note", "printer"):
                set_(self, f.name, clean_text(value))
            elif f.name == "title":
                set_(self, f.name, clean_text(value, multiline=True))
            elif f.name in ("attachments", "copy_to"):
                items = (clean_text(v).rstrip(_TRAILING).strip() for v in _sequence(value, f.name))
                set_(self, f.name, tuple(v for v in items if v))
            elif f.name in ("body", "milestones"):
                set_(self, f.name, tuple(_sequence(value, f.name)))
        set_(self, "addressee", self.addressee.rstrip(":：").strip())
        set_(self, "note", self.note.removeprefix("（").removeprefix("(").removesuffix("）").removesuffix(")"))
        self._require("organ_mark", "发文机关标志")
        self._require("number", "发文字号", "如 阳督函〔2024〕3号")
        set_(self, "number_parts", check_letter_number(self.number))
        self._require("title", "标题")
        self._require("addressee", "主送机关", "应为单位名称，如 阳城县自然资源局")
        if self.issued is None:
            raise MissingField("成文日期不能为空", field="issued")
        _check_date(self.issued, "issued", "成文日期")
        if not any(b.text or b.run_in for b in self.body if isinstance(b, Block)):
            raise MissingField("正文不能为空", field="body")
        for b in self.body:
            if not isinstance(b, Block):
                raise InvalidValue(f"正文段落「{b}」无效，应为 Block", field="body", value=b)
        for m in self.milestones:
            if not isinstance(m, Milestone):
                raise InvalidValue(f"办理节点「{m}」无效，应为 Milestone", field="milestones", value=m)
        set_(self, "signatory", self.signatory or self.organ_mark)
        set_(self, "printer", self.printer or self.signatory)
        if self.printed is None:
            set_(self, "printed", self.issued)
        _check_date(self.printed, "printed", "印发日期")
        if self.printed < self.issued:
            raise InvalidValue(
                f"印发日期 {cn_date(self.printed)} 早于成文日期 {cn_date(self.issued)}，印发日期不能早于成文日期",
                field="printed",
                value=self.printed,
            )

    def _require(self, name: str, label: str, hint: str = "") -> None:
        if not getattr(self, name):
            raise MissingField(f"{label}不能为空" + (f"，{hint}" if hint else ""), field=name)

    # The texts as printed, shared by both renderers.
    @property
    def title_text(self) -> str:
        """The title on one line (document properties, file names)."""
        return clean_text(self.title)

    @property
    def title_lines(self) -> list[str]:
        return self.title.split("\n")

    @property
    def addressee_line(self) -> str:
        return f"{self.addressee}："

    @property
    def issued_text(self) -> str:
        return cn_date(self.issued)

    @property
    def note_line(self) -> str:
        return f"（{self.note}）" if self.note else ""

    @property
    def copy_line(self) -> str:
        """抄送：县委督查室，县发改局。 (units separated by ，, a 。 after the last)."""
        return f"抄送：{'，'.join(self.copy_to)}。" if self.copy_to else ""

    @property
    def printed_text(self) -> str:
        assert self.printed is not None
        return f"{cn_date(self.printed)}印发"

    @property
    def attachment_lines(self) -> list[tuple[str, str]]:
        """(number, name): "1." before each name when there are several, none for a single attachment."""
        if len(self.attachments) == 1:
            return [("", self.attachments[0])]
        return [(f"{i}.", name) for i, name in enumerate(self.attachments, start=1)]

    def numbered_body(self) -> list[NumberedBlock]:
        return numbered(self.body)


_LIST_LABELS = {"body": "正文", "milestones": "办理节点", "attachments": "附件", "copy_to": "抄送机关"}


def _sequence(value: object, name: str) -> Iterable:
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidValue(f"{_LIST_LABELS[name]}应为多项的列表，而不是「{value}」", field=name, value=value)
    return value


def _check_date(value: object, name: str, label: str) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(f"{label}「{value}」无效，应为日期（年月日），如 2024年1月10日", field=name, value=value)


# ---------------------------------------------------------------------------------------------------------
# The standard 13710 supervision letter
# ---------------------------------------------------------------------------------------------------------

TITLE_LINE_EM = 20  # a 2号 (22 pt) title line holds 20 characters of the 156 mm text block


def compose_supervision_letter(
    *,
    organ_mark: str,
    number: str,
    issued: date,
    unit: str,
    project: str,
    problem_title: str,
    description: str,
    deploy: Milestone,
    feedback: Milestone,
    settle: Milestone,
    contact: str,
    phone: str,
    major: bool = False,
    topic: str = "",
    background: str = "",
    report_to: str = "",
    signatory: str = "",
    copy_to: Iterable[str] = (),
    attachments: Iterable[str] = (),
    printer: str = "",
    printed: date | None = None,
    sealed: bool = True,
) -> LetterDoc:
    """The 督办函 a county inspection office sends under the 13710 mechanism, from facts only.

    ``deploy``/``feedback``/``settle`` are the three nodes (研究部署, 反馈办理情况, 落实到位) with their due
    dates and the periods as the letter words them ("1日内", "3日内", "7日内" or "1个月内"), computed
    elsewhere from the rules file; ``settle.period`` is the level's time limit. ``major`` words the problem
    as 重大复杂问题 instead of 一般性问题. ``topic`` names the kind of problem in the title ("用地" →
    "关于督促解决××项目用地问题的督办函"); without it the title says 有关问题. ``background`` is an optional
    sentence on how the problem was handled so far. ``report_to`` is the office the unit reports to
    (default: the signatory).
    """
    unit, project, problem = clean_text(unit), clean_text(project), clean_text(problem_title)
    if not problem:
        raise MissingField("问题名称不能为空", field="title")
    if not project:
        raise MissingField("项目名称不能为空", field="project")
    if not unit:
        raise MissingField("责任单位不能为空：督办函的主送机关是问题的责任单位", field="unit")
    details = paragraphs(description)
    if not details:
        raise MissingField("问题描述不能为空：督办函须写明问题情况", field="description")
    contact, phone = clean_text(contact), clean_text(phone)
    if not contact:
        raise MissingField("联系人不能为空：督办函须在附注中注明联系人及电话", field="contact")
    if not phone:
        raise MissingField("联系电话不能为空：督办函须在附注中注明联系人及电话", field="phone")
    _check_order(issued, deploy, feedback, settle)
    office = clean_text(report_to) or clean_text(signatory) or clean_text(organ_mark)

    quoted = f"“{problem}”" if problem.endswith("问题") else f"“{problem}”的问题"
    opening = f"{project}存在{quoted}。"
    if background := clean_text(background):
        opening += background.rstrip("，,。.") + "。"
    opening += (
        "该问题至今未得到解决，影响项目建设进度。根据“13710”督办工作机制，现将该问题列为督办事项，"
        "请你单位高度重视，按照以下要求抓紧办理。"
    )
    kind = "重大复杂问题" if major else "一般性问题"
    body = [
        paragraph(opening),
        heading1("问题情况"),
        *(paragraph(p) for p in details),
        heading1("办理要求"),
        heading2(
            f"{deploy.period}{deploy.action}。",
            f"请于{cn_date(deploy.due)}前研究提出解决措施，明确分管领导、责任科室和具体责任人，并将工作安排报{office}。",
        ),
        heading2(
            f"{feedback.period}{feedback.action}。",
            f"请于{cn_date(feedback.due)}前将已采取的措施、工作进展和存在的困难书面反馈{office}。",
        ),
        heading2(
            f"{settle.period}{settle.action}。",
            f"该问题属{kind}，请于{cn_date(settle.due)}前落实到位，并书面报送办理结果，申请办结销号。",
        ),
        paragraph(
            "确因客观原因不能按期解决的，请在反馈办理情况时一并报送解决问题的时间表和工作方案，"
            "说明原因和需要协调的事项。督办事项跟踪到底、销号清零，对工作推进不力、逾期未落实的，将予以通报。"
        ),
    ]
    return LetterDoc(
        organ_mark=organ_mark,
        number=number,
        title=supervision_title(project, clean_text(topic)),
        addressee=unit,
        body=tuple(body),
        issued=issued,
        signatory=signatory,
        milestones=(deploy, feedback, settle),
        attachments=tuple(attachments),
        note=f"联系人：{contact}，联系电话：{phone}",
        copy_to=tuple(copy_to),
        printer=printer,
        printed=printed,
        sealed=sealed,
    )


def supervision_title(project: str, topic: str = "") -> str:
    """ "关于督促解决××项目用地问题的督办函", with a line break between the project and the problem when the
    title does not fit one line and each half does (GB/T 9704: break where the words allow, keep the shape
    even); a title too long for that is left to wrap."""
    name = project if project.endswith(("项目", "工程")) else f"{project}项目"
    head, tail = f"关于督促解决{name}", f"{topic or '有关'}问题的督办函"
    if width_em(head + tail) <= TITLE_LINE_EM:
        return head + tail
    if width_em(head) <= TITLE_LINE_EM and width_em(tail) <= TITLE_LINE_EM:
        return f"{head}\n{tail}"
    return head + tail


def _check_order(issued: date, *nodes: Milestone) -> None:
    _check_date(issued, "issued", "成文日期")
    previous, label = issued, "成文日期"
    for m in nodes:
        if not isinstance(m, Milestone):
            raise InvalidValue(f"办理节点「{m}」无效，应为 Milestone", field="milestones", value=m)
        if m.due < previous:
            raise InvalidValue(
                f"「{m.action}」的期限 {cn_date(m.due)} 早于{label} {cn_date(previous)}，各节点期限应依次不早于成文日期",
                field="milestones",
                value=m.due,
            )
        previous, label = m.due, f"「{m.action}」的期限"
