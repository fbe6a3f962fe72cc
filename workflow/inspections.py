"""On-site inspections (督查记录) as the inspection office keeps them: 看现场、查资料、留影像, a finding, and
follow-ups; the month's plan (which projects are due for a visit and which have been visited) and which
units the month's bulletin (督查通报) names. Pure: the service reads the rows and writes the records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from workflow.errors import InvalidValue, MissingField

MAX_PLACE, MAX_PEOPLE, MAX_TEXT = 200, 200, 5000


class Finding(StrEnum):
    NORMAL = "normal"
    SLOW = "slow"
    CONFIRMED = "confirmed"
    RECTIFIED = "rectified"

    @property
    def label(self) -> str:
        return _FINDING_LABELS[self]

    @property
    def named(self) -> bool:
        """Does this finding name the unit in the month's bulletin (点名通报)?"""
        return self in (Finding.SLOW, Finding.CONFIRMED)

    @classmethod
    def parse(cls, value: str | None) -> Finding:
        text = (value or "").strip()
        for member in cls:
            if text in (member.value, member.label):
                return member
        allowed = "、".join(f"{m.value}（{m.label}）" for m in cls)
        if not text:
            raise MissingField(f"请填写督查结论，可选：{allowed}", field="finding", label="督查结论")
        raise InvalidValue(
            f"督查结论的值「{value}」无效，可选：{allowed}", field="finding", value=value, label="督查结论"
        )


_FINDING_LABELS = {
    Finding.NORMAL: "进展正常",
    Finding.SLOW: "进展缓慢",
    Finding.CONFIRMED: "问题属实",
    Finding.RECTIFIED: "已整改",
}

_MONTH_RE = re.compile(r"^\s*(\d{4})\s*(?:-|年|/)\s*(\d{1,2})\s*月?\s*$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, label: str = "月份", field: str = "month") -> Month:
        m = _MONTH_RE.match(text or "")
        if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2099:
            raise InvalidValue(
                f"{label}「{text}」无效，应形如 2024-03 或 2024年3月", field=field, value=text, label=label
            )
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.next().first - timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# -- one record ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionInput:
    """What the inspector typed, checked: the visit, what was seen and checked, the finding."""

    visited_on: date
    place: str
    inspectors: str
    seen: str
    checked: str
    finding: Finding
    note: str = ""  # a follow-up note added to each problem the visit concerns


def _text(value: str | None, label: str, name: str, limit: int, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise MissingField(f"{label}不能为空", field=name, label=label)
    if len(text) > limit:
        raise InvalidValue(f"{label}过长：{len(text)} 字，最多 {limit} 字", field=name, value=text, label=label)
    return text


def check_input(
    visited_on: date | None,
    today: date,
    place: str | None,
    inspectors: str | None,
    seen: str | None,
    checked: str | None,
    finding: str | None,
    note: str | None = None,
) -> InspectionInput:
    if visited_on is None:
        raise MissingField("请填写督查日期", field="date", label="督查日期")
    if visited_on > today:
        raise InvalidValue(
            f"督查日期 {visited_on} 晚于今天 {today}：只能记录已经进行的督查",
            field="date",
            value=visited_on,
            label="督查日期",
        )
    return InspectionInput(
        visited_on=visited_on,
        place=_text(place, "督查地点", "place", MAX_PLACE),
        inspectors=_text(inspectors, "督查人员", "inspectors", MAX_PEOPLE, required=True),
        seen=_text(seen, "现场情况（看现场）", "seen", MAX_TEXT, required=True),
        checked=_text(checked, "查阅资料（查资料）", "checked", MAX_TEXT),
        finding=Finding.parse(finding),
        note=_text(note, "跟进备注", "note", MAX_TEXT),
    )


# -- the month's plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectDue:
    """A project with problems open at some time in the month: due for a visit that month."""

    project_id: int
    project: str
    unit: str
    open_problems: int
    red: int = 0
    major: int = 0


@dataclass(frozen=True)
class Visit:
    project_id: int
    project: str
    unit: str
    day: date
    finding: Finding


@dataclass
class PlanRow:
    project_id: int
    project: str
    unit: str
    due: bool
    open_problems: int
    red: int
    major: int
    visits: list[Visit] = field(default_factory=list)

    @property
    def visited(self) -> bool:
        return bool(self.visits)

    @property
    def last_finding(self) -> Finding | None:
        return max(self.visits, key=lambda v: v.day).finding if self.visits else None


@dataclass
class UnitRow:
    unit: str
    due: int = 0
    visited: int = 0

    @property
    def outstanding(self) -> int:
        return self.due - self.visited


@dataclass
class Plan:
    month: Month
    projects: list[PlanRow]
    units: list[UnitRow]

    @property
    def due(self) -> int:
        return sum(1 for p in self.projects if p.due)

    @property
    def visited(self) -> int:
        return sum(1 for p in self.projects if p.due and p.visited)

    def as_dict(self) -> dict:
        """What the CLI's --json and the API print for the month's plan."""
        return {
            "due": self.due,
            "visited": self.visited,
            "projects": [
                {
                    "project": p.project,
                    "unit": p.unit,
                    "due": p.due,
                    "open_problems": p.open_problems,
                    "red": p.red,
                    "visits": len(p.visits),
                    "last_finding": p.last_finding.value if p.last_finding else None,
                }
                for p in self.projects
            ],
        }


def month_plan(month: Month, due: list[ProjectDue], visits: list[Visit]) -> Plan:
    """Every due project and every visited one, the not-yet-visited first (most red, then most major
    problems, first), with each unit's due and visited counts. A visit to a project with nothing open is
    listed too (not due, visited)."""
    rows: dict[int, PlanRow] = {
        d.project_id: PlanRow(d.project_id, d.project, d.unit, True, d.open_problems, d.red, d.major) for d in due
    }
    for v in sorted(visits, key=lambda v: v.day):
        row = rows.get(v.project_id)
        if row is None:
            row = rows[v.project_id] = PlanRow(v.project_id, v.project, v.unit, False, 0, 0, 0)
        row.visits.append(v)
    ordered = sorted(rows.values(), key=lambda r: (r.visited, not r.due, -r.red, -r.major, -r.open_problems, r.project))
    units: dict[str, UnitRow] = {}
    for r in ordered:
        if r.due:
            u = units.setdefault(r.unit, UnitRow(r.unit))
            u.due += 1
            u.visited += r.visited
    return Plan(month, ordered, sorted(units.values(), key=lambda u: (-u.outstanding, -u.due, u.unit)))


# -- the bulletin: who is named ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Named:
    unit: str
    reasons: tuple[str, ...]  # "项目：结论" per finding that names the unit


def named_units(findings: list[tuple[str, str, Finding]]) -> list[Named]:
    """The units a month's bulletin names (点名): those whose project or problem was found 进展缓慢 or 问题属实.
    ``findings`` is (unit, project, finding) per inspection and concerned unit; most reasons first."""
    reasons: dict[str, list[str]] = {}
    for unit, project, finding in findings:
        if finding.named:
            reasons.setdefault(unit, []).append(f"{project}：{finding.label}")
    return sorted(
        (Named(u, tuple(dict.fromkeys(r))) for u, r in reasons.items()), key=lambda n: (-len(n.reasons), n.unit)
    )
