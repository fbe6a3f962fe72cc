"""What a template sees: a notice and its problem as plain dicts, with Chinese labels and local dates.

The problem is the snapshot stored with the notice when it was recorded (``payload["problem"]``, written by
``service.persist.notice_snapshot``), so a notice delivered late describes the problem as it was, never at a
level or with a deadline it has since left. Notices recorded before snapshots were kept fall back to the live
problem. ``ContextLoader`` caches problems and users for one batch so that rendering N notices costs a
handful of queries, not N. Nothing here is escaped: the HTML templates autoescape; headers go through
``header_text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from models.tables import Notice, Problem, Project, Unit, User
from notifications import kinds
from notifications.errors import RenderError
from workflow.states import Category, Level, Light, Milestone, Rating, Recipient, Severity, State, UnitKind

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
COMMENT_MAX = 5000  # characters of user-typed text shown in a mail body

# C0/C1 controls, line/paragraph separators, zero-width and bidi-override characters.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def header_text(value: Any, limit: int) -> str:
    """One safe header line: no CR/LF or other control characters, whitespace collapsed, capped."""
    text = " ".join(_UNSAFE.sub(" ", "" if value is None else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def body_text(value: Any, limit: int = COMMENT_MAX) -> str:
    """User-typed text for a body: keeps line breaks, drops other control characters, capped."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", "", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_date(value: Any) -> date | None:
    """A date, a UTC-aware timestamp (shown in Asia/Shanghai) or an ISO string → a local date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_TZ).date()
    if isinstance(value, date):
        return value
    try:
        text = str(value)
        return local_date(datetime.fromisoformat(text)) if "T" in text or " " in text else date.fromisoformat(text)
    except ValueError:
        return None


def cn_date(value: Any, empty: str = "—") -> str:
    """2024年2月19日"""
    d = local_date(value)
    return f"{d.year}年{d.month}月{d.day}日" if d else empty


def cn_datetime(value: Any, empty: str = "—") -> str:
    """2024年2月19日 09:30 (Asia/Shanghai)"""
    if not isinstance(value, datetime):
        return cn_date(value, empty)
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def label(enum_cls: type, value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return enum_cls(value).label
    except ValueError:
        return str(value)


class ContextLoader:
    """Loads and caches the problem/user data of a batch of notices (one session, one batch)."""

    def __init__(self, session: Session):
        self.session = session
        self._problems: dict[int, dict] = {}
        self._users: dict[str, dict | None] = {}
        self._office: str | None = None
        self.blocks: dict[tuple, tuple] = {}  # (problem id, snapshot) → rendered problem block (see render.py)
        self.bodies: dict[tuple, tuple] = {}  # event → rendered subject and bodies (see render.py)
        self.files: dict[tuple, tuple] = {}  # attachments read once per batch (see attachments.py)

    def prefetch(self, notices: Iterable[Notice]) -> None:
        notices = list(notices)
        self._load_problems({n.problem_id for n in notices if n.problem_id is not None and not _snapshot(n)})
        self._load_users({n.recipient_login for n in notices if n.recipient_login})

    def _load_problems(self, ids: set[int]) -> None:
        missing = sorted(ids - self._problems.keys())
        if not missing:
            return
        person, leader, pleader = aliased(User), aliased(User), aliased(User)
        stmt = (
            sa.select(Problem, Project.name, Unit.name, person.name, leader.name, pleader.name)
            .join(Project, Project.id == Problem.project_id)
            .outerjoin(Unit, Unit.id == Problem.responsible_unit_id)
            .outerjoin(person, person.id == Problem.responsible_person_id)
            .outerjoin(leader, leader.id == Problem.leader_id)
            .outerjoin(pleader, pleader.id == Project.leader_id)
            .where(Problem.id.in_(missing))
        )
        for pr, project, unit, person_name, leader_name, pleader_name in self.session.execute(stmt):
            self._problems[pr.id] = _problem_view(pr, project, unit, person_name, leader_name, pleader_name)

    def _load_users(self, logins: set[str]) -> None:
        missing = sorted(logins - self._users.keys())
        if not missing:
            return
        stmt = sa.select(User.login, User.name, User.role, Unit.name).join(Unit, Unit.id == User.unit_id)
        for login, name, role, unit in self.session.execute(stmt.where(User.login.in_(missing))):
            self._users[login] = {"name": name, "role": role, "unit": unit}
        for login in missing:
            self._users.setdefault(login, None)

    def problem(self, problem_id: int) -> dict:
        self._load_problems({problem_id})
        if problem_id not in self._problems:
            raise RenderError(f"通知引用的问题（id={problem_id}）不存在")
        return self._problems[problem_id]

    def user(self, login: str | None) -> dict | None:
        if not login:
            return None
        self._load_users({login})
        return self._users[login]

    def office_name(self, default: str) -> str:
        if self._office is None:
            stmt = sa.select(Unit.name).where(Unit.kind == UnitKind.INSPECTION_OFFICE.value).order_by(Unit.id)
            self._office = self.session.execute(stmt.limit(1)).scalar() or default
        return self._office

    def greeting(self, notice: Notice) -> str:
        """张三同志： — or the recipient's role when the login is unknown."""
        user = self.user(notice.recipient_login)
        name = header_text(user["name"], 64) if user else ""
        return f"{name}同志：" if name else f"{label(Recipient, notice.recipient_role) or '您好'}："

    def context(self, notice: Notice, office_default: str = "县政府办督查室") -> dict:
        """The template variables for one notice."""
        n = notice_view(notice)
        snap = _snapshot(notice)
        if snap is not None:
            p = _snapshot_view(snap, notice)
        else:
            p = self.problem(notice.problem_id) if notice.problem_id is not None else None
        if p is None and notice.kind not in kinds.LEDGER_KINDS:
            raise RenderError(f"{n['kind_label']}通知缺少关联问题（通知 {notice.id}）")
        return {
            "n": n,
            "p": p,
            "greeting": self.greeting(notice),
            "comment": n["comment"],
            "comment_label": kinds.COMMENT_LABELS.get(notice.kind, "备注"),
            "office": self.office_name(office_default),
            "accent": kinds.ACCENTS.get(notice.kind, kinds.DEFAULT_ACCENT),
        }


def _problem_view(pr: Problem, project: str, unit, person, leader, pleader) -> dict:
    return {
        "id": pr.id,
        "code": pr.code,
        "title": body_text(pr.title, 2000),
        "title_line": header_text(pr.title, 2000),
        "description": body_text(pr.description),
        "category": label(Category, pr.category),
        "severity": label(Severity, pr.severity),
        "major": pr.severity == Severity.MAJOR.value,
        "state": label(State, pr.state),
        "level": label(Level, pr.level),
        "light": label(Light, pr.light),
        "light_id": pr.light,
        "deadline": pr.deadline,
        "deadline_provisional": bool(pr.deadline_provisional),
        "deploy_due": pr.deploy_due,
        "feedback_due": pr.feedback_due,
        "progress": body_text(pr.progress),
        "resolution": body_text(pr.resolution),
        "rating": label(Rating, pr.rating),
        "project": project or "",
        # "…改造项目存在的问题", never "…改造项目项目存在的问题"
        "project_ref": (project or "") if (project or "").endswith("项目") else f"{project or ''}项目",
        "unit": unit or "",
        "person": person or "",
        "leader": leader or "",
        "project_leader": pleader or "",
        "section": pr.responsible_section or "",
        "created_at": pr.created_at,
    }


def _snapshot(notice: Notice) -> dict | None:
    snap = (notice.payload or {}).get("problem")
    return snap if isinstance(snap, dict) and notice.problem_id is not None else None


class _Fixed:
    """The attributes ``_problem_view`` reads, from a notice's snapshot."""

    def __init__(self, snap: dict, problem_id: int):
        self.__dict__.update(snap)
        self.id = problem_id
        for name in ("deadline", "deploy_due", "feedback_due"):
            setattr(self, name, local_date(snap.get(name)))
        self.created_at = local_date(snap.get("created_at"))
        self.responsible_section = snap.get("section") or ""


_SNAPSHOT_DEFAULTS = dict.fromkeys(
    ("code", "title", "description", "category", "severity", "state", "level", "light", "progress", "resolution"), ""
)


def _snapshot_view(snap: dict, notice: Notice) -> dict:
    fixed = _Fixed({**_SNAPSHOT_DEFAULTS, "rating": None, "deadline_provisional": False, **snap}, notice.problem_id)
    view = _problem_view(
        fixed,  # type: ignore[arg-type]
        snap.get("project") or "",
        snap.get("unit") or "",
        snap.get("person") or "",
        snap.get("leader") or "",
        snap.get("project_leader") or "",
    )
    # Problem blocks are cached per problem and per snapshot (every notice of one event shares it).
    view["snapshot_of"] = (notice.payload or {}).get("event_id")
    return view


def notice_view(notice: Notice) -> dict:
    payload = notice.payload or {}
    to_level = payload.get("to_level") or notice.level
    rows = [_item(i) for i in payload.get("items") or [] if isinstance(i, dict)]
    return {
        "id": notice.id,
        "kind": notice.kind,
        "kind_label": kinds.kind_label(notice.kind),
        "level": label(Level, notice.level),
        "level_id": notice.level,
        "deadline": notice.deadline,
        "issued": notice.created_at,
        "actor_name": header_text(payload.get("actor_name") or payload.get("actor") or "", 64),
        "comment": body_text(payload.get("comment")),
        "from_level": label(Level, payload.get("from_level")),
        "to_level": label(Level, to_level),
        "milestone": label(Milestone, payload.get("milestone")),
        "due": local_date(payload.get("due")),
        "deploy_due": local_date(payload.get("deploy_due")),
        "feedback_due": local_date(payload.get("feedback_due")),
        "rating": label(Rating, payload.get("rating")),
        "final": bool(payload.get("final")),
        "repeat": bool(payload.get("repeat")),
        "old_due": local_date(payload.get("old_due")),
        "provisional": bool(payload.get("provisional")),
        "from_severity": label(Severity, payload.get("from_severity")),
        "to_severity": label(Severity, payload.get("to_severity")),
        "next_rung": label(Level, payload.get("next_rung")),
        "applied": local_date(payload.get("applied")),
        "milestone_id": payload.get("milestone") or "",
        "number": header_text(payload.get("number"), 64),
        "meeting": header_text(payload.get("meeting"), 100),
        "summary": _clean(payload.get("summary") or {}),  # assessment and campaign figures
        "rows": rows,  # not "items": Jinja would find dict.items
        "counts": {light.value: sum(1 for r in rows if r["light_id"] == light.value) for light in Light},
    }


def _clean(value: Any, depth: int = 0) -> Any:
    """Payload figures for a template: strings made one safe line, containers walked (not too deep)."""
    if isinstance(value, str):
        return header_text(value, 500)
    if depth > 3:
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value[:500]]
    return value


def _item(raw: dict) -> dict:
    return {
        "code": header_text(raw.get("code"), 32),
        "title": header_text(raw.get("title"), 200),
        "light": label(Light, raw.get("light")),
        "light_id": str(raw.get("light") or ""),
        "level": label(Level, raw.get("level")),
        "deadline": local_date(raw.get("deadline")),
        "unit": header_text(raw.get("unit"), 64),
        "state": label(State, raw.get("state")),
    }


__all__ = ["ContextLoader", "header_text", "body_text", "cn_date", "cn_datetime", "local_date", "label"]
