"""The 督办函 as the register sees it: its statuses, its number, and the facts a letter is composed from.
Pure: a problem's facts and the rules in, plain data out (``reports.official.supervision`` turns the facts
into a ``LetterDoc``; ``service.letters`` stores and moves them).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from workflow.office_rules import period_words
from workflow.rules import Rules
from workflow.states import Category, Level, Milestone, Severity


class LetterStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    REPLIED = "replied"
    CLOSED = "closed"
    VOID = "void"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    LetterStatus.DRAFT: "待签发",
    LetterStatus.SIGNED: "已签发",
    LetterStatus.REPLIED: "已回复",
    LetterStatus.CLOSED: "已办结",
    LetterStatus.VOID: "已作废",
}

# The kind of problem as a letter's title names it: 关于督促解决××项目用地问题的督办函.
TOPICS = {
    Category.LAND: "用地",
    Category.DEMOLITION: "征拆",
    Category.PERMIT: "审批手续",
    Category.FUNDING: "资金",
    Category.FACTOR: "要素保障",
    Category.OTHER: "",
}

# How the letter tells the story so far, by the level the problem came from.
_HISTORY = {
    Level.UNIT: "经责任单位办理",
    Level.COUNTY_LEADER: "经项目包联县级领导牵头协调",
}


def letter_number(prefix: str, year: int, serial: int) -> str:
    """发文字号 after GB/T 9704: 阳督函〔2024〕3号 (year in 六角括号, serial without leading zeros or 第)."""
    return f"{prefix}〔{year}〕{serial}号"


def addressee(name: str, aliases: tuple[str, ...] = ()) -> str:
    """主送机关 as county letters write it: 县自然资源局, 町店镇人民政府, 开发区管委会 — the directory's alias of
    that form when there is one, else the unit's name."""
    for fits in (
        lambda a: a.startswith("县"),
        lambda a: a.endswith("人民政府"),
        lambda a: a.endswith("管委会"),
    ):
        for alias in aliases:
            if fits(alias):
                return alias
    return name


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def letter_facts(
    rules: Rules,
    *,
    unit: str,
    project: str,
    title: str,
    description: str,
    category: str,
    severity: str,
    issued: date,
    deploy_due: date | None,
    feedback_due: date | None,
    settle_due: date,
    assigned: date | None = None,
    from_level: str | None = None,
    deadline_given: bool = False,
) -> dict:
    """Everything a 督办函 says, as JSON-ready data: the office's settings from the rules file and the
    problem's facts — never its system state (light, codes, levels by id). The three 13710 nodes carry the
    dates the workflow computed and the periods the rules file gives (a deadline a person set has no
    period: the letter then states only its date)."""
    s = rules.letters
    level = rules.level(Level.SUPERVISION_13710)
    settle_period = rules.time_limit(Level.SUPERVISION_13710, category, severity)
    nodes = []
    for milestone, due, action in (
        (Milestone.DEPLOY, deploy_due, "研究部署"),
        (Milestone.FEEDBACK, feedback_due, "反馈办理情况"),
    ):
        period = level.milestones.get(milestone)
        if due is None or period is None:  # the rules file sets no such node: the settle date stands in
            due, words = settle_due, ""
        else:
            words = period_words(period)
        nodes.append({"action": action, "due": due.isoformat(), "period": words})
    nodes.append(
        {
            "action": "落实到位",
            "due": settle_due.isoformat(),
            "period": "" if deadline_given else period_words(settle_period),
        }
    )
    background = ""
    if assigned is not None:
        background = f"该问题于{cn_date(assigned)}交办"
        history = _HISTORY.get(Level(from_level)) if from_level in {lv.value for lv in Level} else None
        if history:
            background += f"，{history}"
    return {
        "organ_mark": s.organ_mark,
        "signatory": s.signatory,
        "report_to": s.report_to,
        "contact": s.contact,
        "phone": s.phone,
        "copy_to": list(s.copy_to),
        "sealed": s.sealed,
        "unit": unit,
        "project": project,
        "topic": TOPICS.get(Category(category), "") if category in {c.value for c in Category} else "",
        "problem_title": title,
        "description": description or title,
        "background": background,
        "major": severity == Severity.MAJOR,
        "issued": issued.isoformat(),
        "milestones": nodes,
    }
