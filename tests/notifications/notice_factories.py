"""Rows for the notification tests, inserted directly (no service layer)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models.guard import workflow_write
from models.tables import Notice, Problem, Project, Unit, User

T0 = datetime(2024, 2, 8, 1, 30, tzinfo=UTC)  # 2024-02-08 09:30 Asia/Shanghai


def seed(session, *, title: str = "城区集中供热改造项目征地拆迁受阻", problems: int = 1) -> list[Problem]:
    """Units, users (with emails), one project and ``problems`` problems; returns the problems."""
    town = Unit(code="mhz", name="蟒河镇", kind="town")
    office = Unit(code="dcs", name="县政府办督查室", kind="inspection_office")
    dept = Unit(code="zrzy", name="自然资源局", kind="department")
    session.add_all([town, office, dept])
    session.flush()
    users = {
        login: User(login=login, name=name, unit_id=unit.id, role=role, email=email, created_at=T0)
        for login, name, unit, role, email in [
            ("zhangsan", "张三", town, "staff", "zhangsan@example.gov.cn"),
            ("lisi", "李四", town, "unit_head", "lisi@example.gov.cn"),
            ("wangwu", "王五", dept, "county_leader", "wangwu@example.gov.cn"),
            ("zhaoliu", "赵六", office, "inspector", "ducha@example.gov.cn"),
        ]
    }
    session.add_all(users.values())
    session.flush()
    project = Project(name="阳城县城区集中供热改造项目", unit_id=town.id, leader_id=users["wangwu"].id, created_at=T0)
    session.add(project)
    session.flush()
    out = []
    for i in range(problems):
        with workflow_write():
            p = Problem(
                code=f"WT-2024-{i + 3:04d}",
                project_id=project.id,
                title=title if i == 0 else f"{title}（{i}）",
                description="涉及3户房屋征收，补偿标准未达成一致。\n需自然资源局协调用地指标。",
                category="demolition",
                severity="general",
                state="supervised",
                level="supervision_13710",
                light="yellow",
                responsible_unit_id=town.id,
                responsible_person_id=users["zhangsan"].id,
                leader_id=users["lisi"].id,
                responsible_section="规划股",
                deadline=date(2024, 2, 19),
                deploy_due=date(2024, 2, 9),
                feedback_due=date(2024, 2, 19),
                progress="已召开协调会一次。",
                created_at=T0,
                updated_at=T0,
            )
        session.add(p)
        out.append(p)
    session.flush()
    return out


_seq = iter(range(1, 10**9))


def notice(
    problem: Problem | None,
    kind: str,
    *,
    login="zhangsan",
    email="zhangsan@example.gov.cn",
    level="supervision_13710",
    payload=None,
    created_at=T0,
    role="responsible_person",
    **kw,
) -> Notice:
    return Notice(
        dedup_key=kw.pop("dedup_key", f"{kind}:{problem.id if problem else 0}:{login}:{next(_seq)}"),
        kind=kind,
        problem_id=problem.id if problem else None,
        level=level,
        deadline=kw.pop("deadline", date(2024, 2, 19)),
        recipient_role=role,
        recipient_login=login,
        recipient_email=email,
        status=kw.pop("status", "pending"),
        created_at=created_at,
        next_attempt_at=kw.pop("next_attempt_at", created_at),
        payload=payload or {},
        **kw,
    )


PAYLOADS: dict[str, dict] = {
    "decision": {
        "actor_name": "赵六",
        "comment": "由蟒河镇牵头，3月底前完成征收。",
        "meeting": "2024年1月25日县政府常务会议",
        "due": "2024-03-29",
    },
    "letter_overdue": {"letter_id": 1, "number": "阳督函〔2024〕3号", "due": "2024-02-14"},
    "assessment": {
        "month": "2024-01",
        "summary": {
            "month_label": "2024年1月",
            "period": "2023年12月25日至2024年1月24日",
            "scores": [{"unit": "蟒河镇", "group": "乡镇", "rank": 2, "of": 15, "score": "88.50", "consequence": ""}],
        },
    },
    "campaign": {
        "summary": {
            "name": "冬季行动",
            "start": "2023-11-01",
            "end": "2024-02-20",
            "target": "力争全部解决",
            "total": 10,
            "closed": 7,
            "rate": "70.0%",
            "on_time": 6,
            "open": 3,
            "overdue": 1,
            "met": False,
        },
        "items": [],
    },
    "assignment": {"actor": "zhaoliu", "actor_name": "赵六", "comment": "请于春节前完成入户调查。"},
    "warning": {},
    "reminder": {"milestone": "deploy", "due": "2024-02-09"},
    "overdue": {"final": False},
    "escalation": {"from_level": "unit", "to_level": "county_leader", "actor": "system"},
    "review": {"actor": "zhangsan", "actor_name": "张三", "comment": "已与3户签订补偿协议。"},
    "sent_back": {"actor": "zhaoliu", "actor_name": "赵六", "comment": "缺少补偿协议扫描件。"},
    "closed": {"actor": "zhaoliu", "actor_name": "赵六", "rating": "good", "comment": "办理及时。"},
    "suspended": {"actor": "zhaoliu", "actor_name": "赵六", "comment": "等待省厅批复用地指标。"},
    "resumed": {"actor": "zhaoliu", "actor_name": "赵六", "comment": "省厅已批复。"},
    "unassigned": {},
    "recalculated": {"old_due": "2024-02-19", "due": "2024-02-20", "provisional": False},
    "reclassified": {
        "actor": "zhaoliu",
        "actor_name": "赵六",
        "comment": "涉及永久基本农田，属重大复杂问题。",
        "from_severity": "general",
        "to_severity": "major",
        "next_rung": "government_meeting",
        "due": "2024-03-08",
    },
    "review_overdue": {"applied": "2024-02-05"},
    "digest": {
        "items": [
            {
                "code": "WT-2024-0003",
                "title": "征地拆迁受阻",
                "light": "red",
                "level": "supervision_13710",
                "deadline": "2024-02-19",
                "unit": "蟒河镇",
                "state": "supervised",
            },
            {
                "code": "WT-2024-0004",
                "title": "施工许可未批",
                "light": "blue",
                "level": "unit",
                "deadline": "2024-02-22",
                "unit": "行政审批局",
                "state": "assigned",
            },
        ]
    },
    "dispatch": {
        "items": [
            {
                "code": "WT-2024-0007",
                "title": "电力外线迁改",
                "light": "yellow",
                "level": "government_meeting",
                "deadline": "2024-03-08",
                "unit": "能源局",
                "state": "supervised",
            },
        ]
    },
}
