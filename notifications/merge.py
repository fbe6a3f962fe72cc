"""Which claimed notices travel together: waiting notices of one kind for one destination become one message.

Pure. A notice "waited" when it was created before the send window that is open now opened (it was held by
office hours); those are grouped by destination and kind, at most ``max_items`` to a message, in the order
they were claimed. Every other notice is a message of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Protocol, TypeVar


class Waiting(Protocol):
    kind: str
    created_at: datetime | None


R = TypeVar("R", bound=Waiting)


def plan(
    rows: Iterable[R], held_since: datetime | None, destination: Callable[[R], Hashable], max_items: int = 10
) -> list[list[R]]:
    """Messages to send, each a list of notices, in the order of their first notice."""
    messages: list[list[R]] = []
    open_groups: dict[tuple, list[R]] = {}
    for row in rows:
        created = row.created_at
        if held_since is None or created is None or created >= held_since:
            messages.append([row])
            continue
        key = (destination(row), row.kind)
        group = open_groups.get(key)
        if group is None or len(group) >= max_items:
            group = open_groups[key] = []
            messages.append(group)
        group.append(row)
    return messages
