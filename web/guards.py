"""Page-level access, derived from ``workflow.permissions`` wherever a rule exists there.

Problem actions are never decided here: pages ask ``workflow.permissions.allowed`` (to show a form)
and ``ProblemService.act`` (which checks again, authoritatively). Managing people, units and projects
has no rule in ``workflow.permissions`` yet; the two below mirror the CLI exactly (``duban user add``:
admin only; ``duban project add``: admin or inspector) until they move there.
"""

from __future__ import annotations

from workflow.errors import PermissionDenied
from workflow.permissions import Actor, Stake, allowed
from workflow.states import Role


def can_review(actor: Actor) -> bool:
    """The review queue is for whoever may close problems in general (the inspection office, admins)."""
    return allowed("close", actor, Stake())


def can_manage_users(actor: Actor) -> bool:
    return actor.active and actor.role == Role.ADMIN


def can_manage_projects(actor: Actor) -> bool:
    return actor.active and actor.role in (Role.ADMIN, Role.INSPECTOR)


def require_review(actor: Actor) -> None:
    if not can_review(actor):
        raise PermissionDenied(f"{actor.name}（{actor.login}）无权查看销号审核：只有督查室或管理员可以审核销号")


def require_users(actor: Actor) -> None:
    if not can_manage_users(actor):
        raise PermissionDenied(f"只有管理员可以管理用户和单位，{actor.name}（{actor.login}）不是管理员")


def require_projects(actor: Actor) -> None:
    if not can_manage_projects(actor):
        raise PermissionDenied(
            f"只有管理员或督查室可以登记项目，{actor.name}（{actor.login}）的角色是{Role(actor.role).label}"
        )
