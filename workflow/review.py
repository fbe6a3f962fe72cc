"""The closing review (审核销号): a rating is required to close, 不合格 is a send-back with its reason, and a
review that outlasts ``[review] time_limit`` is reminded to the inspection office. Pure: guards and effects
the machine wires in (the send-back itself is ``workflow.machine``'s)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow import deadlines as dl
from workflow.errors import MissingField
from workflow.states import Rating

if TYPE_CHECKING:
    from workflow.machine import Ctx


def g_close(ev) -> bool:
    ctx: Ctx = ev.model
    rating = ctx.params.get("rating")
    if not rating:
        shown = "、".join(r.label for r in Rating)
        raise MissingField(f"销号必须评定评价等级（{shown}；评为不合格则退回督办）", field="rating", label="评价等级")
    ctx.params["rating"] = Rating.parse(rating, "评价等级", field="rating").value
    if ctx.params["rating"] == Rating.FAIL:
        ctx.text("reason", "退回理由")
    return True


def fails(ev) -> bool:
    return ev.model.params.get("rating") == Rating.FAIL


def e_review_overdue(ev) -> None:
    ctx: Ctx = ev.model
    ctx.changes["review_reminded_at"] = ctx.now
    assert ctx.snap.resolved_at is not None, "a problem under review has applied to close"
    applied = dl.local_date(ctx.snap.resolved_at, ctx.rules)
    ctx.comment = f"单位于 {applied} 申请销号，超过审核时限 {ctx.rules.review_limit.label} 仍未审核"
    ctx.notify(
        "review_overdue",
        ctx.rules.recipients("review_overdue"),
        replayable=True,
        key=f"review:{applied}",
        applied=str(applied),
    )
