"""Reclassifying a problem (重新定性): 一般 ↔ 重大. Pure: the guard and the effect the machine wires in.

A problem reclassified as major goes on the major ladder from the level where it stands: at 13710 its
time limit becomes the major one (one month, counted from the day it entered the level), and when that
lapses the sweep takes it to the county government meeting — the way the plan reserves for 重大问题.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow import deadlines as dl
from workflow.errors import InvalidValue
from workflow.states import Severity, State

if TYPE_CHECKING:
    from workflow.machine import Ctx


def g_reclassify(ev) -> bool:
    ctx: Ctx = ev.model
    new = Severity.parse(ctx.params.get("severity") or Severity.MAJOR.value, "问题性质", field="severity")
    if new == ctx.snap.severity:
        raise InvalidValue(
            f"问题 {ctx.snap.code} 已是{new.label}问题，无需重新定性",
            field="severity",
            value=new.value,
            label="问题性质",
        )
    ctx.text("reason", "定性理由")
    ctx.params["severity"] = new.value
    return True


def e_reclassify(ev) -> None:
    ctx: Ctx = ev.model
    snap, new = ctx.snap, Severity(ctx.params["severity"])
    ctx.changes["severity"] = new.value
    if snap.state == State.DISCOVERED:
        ctx.changes["level"] = ctx.rules.initial_level(new, snap.county_level)
    elif dl.basis_of(snap) is not None:
        period = str(ctx.rules.time_limit(snap.level, snap.category, new))
        if period != snap.basis_period:
            after = dl.with_changes(snap, {"basis_period": period, "severity": new.value})
            ctx.changes.update(basis_period=period, **dl.moved_fields(snap, dl.derive(after, ctx.rules)))
    ctx.comment = ctx.text("reason", "定性理由")
    deadline = ctx.changes.get("deadline", snap.deadline)
    nxt = ctx.rules.next_rung(new, ctx.changes.get("level", snap.level))
    ctx.data = {
        "from": snap.severity,
        "to": new.value,
        "deadline": str(deadline or ""),
        "next_rung": nxt.value if nxt else None,
    }
    ctx.notify(
        "reclassified",
        ctx.rules.recipients("reclassified"),
        comment=ctx.comment,
        from_severity=snap.severity,
        to_severity=new.value,
        next_rung=nxt.value if nxt else "",
        due=str(deadline or ""),
    )
