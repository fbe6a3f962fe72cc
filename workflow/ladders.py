"""The ladder by severity and who hears what, as the rules file states them. Pure: no I/O.

The plan (阳政办发〔2023〕84号) routes by severity: 一般性问题限期解决；久拖不决的问题通过“13710”“督办函”督促解决；
重大问题提交县政府会议研究. So each severity has its own ladder: an ordered subset of the four levels
(``workflow.states.LADDER``). A problem past its deadline and grace climbs to the next rung *of its own
ladder*; at the top it stays red and is reminded every ``remind_every``. Reclassifying a problem (一般 ↔ 重大)
puts it on the other ladder from the level where it stands.

Recipients are a matrix of rung × notice kind: ``[notices]`` names who hears a kind at every rung, each
level's ``notify`` who hears everything at that rung, and ``[levels.X.notices]`` who else hears one kind at
that rung. The parsers take the rules loader's reader (``workflow.rules._Reader``), so their errors name the
file and the key like every other rules error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflow.calendar import Period
from workflow.states import LADDER, Level, Recipient, Role, Severity

# Notices that happen at a rung: their recipients are the rung's ``notify`` plus the kind's own lists.
RUNG_KINDS = ("assignment", "warning", "reminder", "overdue", "escalation", "stalled")
# Every key of ``[notices]``. ``stalled``: past deadline and grace at the top of the ladder (and its
# repeats); ``review_overdue``: the closing review took longer than ``[review] time_limit``.
NOTICE_KINDS = (
    *RUNG_KINDS,
    "review",
    "sent_back",
    "closed",
    "suspended",
    "resumed",
    "recalculated",
    "reclassified",
    "review_overdue",
    "decision",
)


@dataclass(frozen=True)
class Ladder:
    """The rungs a problem of one severity climbs, where it starts, and how often it is reminded at the top."""

    severity: Severity
    rungs: tuple[Level, ...]
    start: Level
    county_level_start: Level
    remind_every: Period  # amount 0: reminded once at the top, never again

    def next(self, level: Level | str) -> Level | None:
        """The first rung above ``level`` (which need not be a rung: a reclassified problem keeps its
        level), or None at or above the top."""
        here = LADDER.index(Level(level))
        return next((r for r in self.rungs if LADDER.index(r) > here), None)

    def above(self, level: Level | str) -> tuple[Level, ...]:
        here = LADDER.index(Level(level))
        return tuple(r for r in self.rungs if LADDER.index(r) > here)


@dataclass(frozen=True)
class Organiser:
    """Who ``organiser`` means: every active person of a unit (by code), or every active person of a role."""

    unit: str | None = None
    role: str | None = None


_DEFAULT_LADDERS = {
    Severity.GENERAL: {
        "rungs": ["unit", "county_leader", "supervision_13710"],
        "county_level_start": "county_leader",
        "remind_every": "5 workdays",
    },
    Severity.MAJOR: {"rungs": ["supervision_13710", "government_meeting"], "remind_every": "5 workdays"},
}


def parse_ladders(top: Any) -> dict[Severity, Ladder]:
    """``[ladders.general]`` and ``[ladders.major]``; a missing one takes the plan's default."""
    table = top.table("ladders", required=False)
    table.only(tuple(s.value for s in Severity))
    out: dict[Severity, Ladder] = {}
    for severity in Severity:
        if severity.value in table.data:
            t = table.table(severity.value)
        else:
            t = type(table)(table.source, dict(_DEFAULT_LADDERS[severity]), f"{table.prefix}{severity.value}.")
        out[severity] = _ladder(t, severity)
    return out


def _ladder(t: Any, severity: Severity) -> Ladder:
    t.only(("rungs", "start", "county_level_start", "remind_every"))
    order = " → ".join(LADDER)
    rungs = t.enum_list("rungs", Level)
    if not rungs:
        raise t.fail("rungs", f"不能为空，应按顺序列出层级（阶梯：{order}）")
    positions = [LADDER.index(r) for r in rungs]
    if positions != sorted(set(positions)):
        raise t.fail("rungs", f"的层级须从低到高排列且不重复（阶梯：{order}）")
    start = t.enum("start", Level, rungs[0].value)
    county = t.enum("county_level_start", Level, start.value)
    for key, value in (("start", start), ("county_level_start", county)):
        if value not in rungs:
            shown = "、".join(r.value for r in rungs)
            raise t.fail(key, f"的值「{value.value}」不在本阶梯的 rungs 中，可选：{shown}")
    if LADDER.index(county) < LADDER.index(start):
        raise t.fail("county_level_start", f"的值「{county.value}」不能低于 start「{start.value}」")
    remind = t.period("remind_every", "0 workdays")
    return Ladder(severity, tuple(rungs), start, county, remind)


def parse_notices(top: Any) -> dict[str, tuple[Recipient, ...]]:
    """``[notices]``: kind → recipients at every rung (missing kinds: nobody beyond the rung's notify)."""
    t = top.table("notices", required=False)
    t.only(NOTICE_KINDS)
    return {k: t.enum_list(k, Recipient, ()) for k in NOTICE_KINDS}


def parse_level_notices(level_t: Any) -> dict[str, tuple[Recipient, ...]]:
    """``[levels.X.notices]``: kind → who else hears that kind at this rung."""
    if "notices" not in level_t.data:
        return {}
    t = level_t.table("notices")
    t.only(RUNG_KINDS)
    return {k: t.enum_list(k, Recipient) for k in RUNG_KINDS if k in t.data}


def parse_organiser(top: Any) -> Organiser:
    t = top.table("organiser", required=False)
    t.only(("unit", "role"))
    unit, role = t.get("unit", str, None), t.get("role", str, None)
    if unit is not None and role is not None:
        raise t.fail("role", "与 unit 只能写一个：会议组织单位按单位代码或按角色指定")
    if role is not None:
        return Organiser(role=t.enum("role", Role).value)
    unit = (unit if unit is not None else "xianzhengfuban").strip()
    if not unit:
        raise t.fail("unit", "不能为空，应为单位代码，如「xianzhengfuban」（县政府办）")
    return Organiser(unit=unit)


def old_format_error(top: Any) -> None:
    """A rules file written for the single ``next`` chain: say what to write instead."""
    hint = (
        "层级阶梯已改为按问题性质分别列出：请删除它，改写 [ladders.general] 和 [ladders.major] 的 rungs"
        "（见随附的 escalation_rules.toml 及其说明）"
    )
    if "routing" in top.data:
        raise top.fail("routing", f"已不再使用。{hint}")
    levels = top.data.get("levels")
    if isinstance(levels, dict):
        for name, level in levels.items():
            if isinstance(level, dict) and "next" in level:
                raise top.fail(f"levels.{name}.next", f"已不再使用。{hint}")
