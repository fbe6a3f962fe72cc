"""Computing deadlines again when the calendar changes (``recalculate``). Pure: the effect the machine wires in.

The rules file declares a year (or the chinese-calendar package learns one): every open deadline computed
with the old calendar is computed again from its basis (``workflow.deadlines.derive``). When the dates come
out the same only the fingerprint is stored (a plain refresh, no event); when anything a person sees changes
— the deadline, a 13710 milestone, the 暂定 flag — an audit event keeps the old and the new, and the people
in ``[notices] recalculated`` are told when a date moved.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from workflow import deadlines as dl

if TYPE_CHECKING:
    from workflow.machine import Ctx

SHOWN = ("deadline", "deploy_due", "feedback_due", "deadline_provisional")
DATES = ("deadline", "deploy_due", "feedback_due")


def _shown(values: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def e_recalculate(ev) -> None:
    ctx: Ctx = ev.model
    snap = ctx.snap
    derived = dl.derive(snap, ctx.rules)
    ctx.changes.update(dl.moved_fields(snap, derived))
    old = {k: getattr(snap, k) for k in SHOWN}
    new = {k: derived.get(k, old[k]) for k in SHOWN}
    if old == new:
        ctx.action = "refresh"
        return
    fp = derived.get("calendar_fp")
    ctx.data = {"old": _shown(old), "new": _shown(new), "calendar": fp}
    if new["deadline"] != old["deadline"]:
        ctx.comment = f"节假日安排更新，办结时限由 {old['deadline']} 重新核定为 {new['deadline']}"
    elif new["deadline_provisional"] != old["deadline_provisional"]:
        ctx.comment = f"节假日安排已公布，办结时限 {new['deadline']} 已核定（不再暂定）"
    else:
        ctx.comment = "节假日安排更新，“13710”节点日期重新核定"
    if any(new[k] != old[k] for k in DATES):
        ctx.notify(
            "recalculated",
            ctx.rules.recipients("recalculated"),
            replayable=True,
            key=f"cal:{fp}",
            old_due=str(old["deadline"] or ""),
            due=str(new["deadline"] or ""),
            deploy_due=str(new["deploy_due"] or ""),
            feedback_due=str(new["feedback_due"] or ""),
            provisional=bool(new["deadline_provisional"]),
        )
