"""Load the sample ledger (models/seed/sample.toml), replaying every problem through the real workflow
relative to "now", so the demo shows a live mix of states and lights whatever the date."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from models.db import session as open_session
from models.tables import Problem, Project, User
from service import directory_admin
from service.problems import ProblemService
from workflow.rules import Rules

SAMPLE = directory_admin.SEED_DIR / "sample.toml"
# Keys in the sample file → keyword arguments of ProblemService.act.
_PARAMS = ("text", "reason", "resolution", "rating", "to")


def _files(service: ProblemService, names: list[str], taken: datetime, rules: Rules):
    """The step's sample files (``attach = ["现场照片.jpg", "批复.pdf"]``): photos taken an hour before the
    step, scans as PDF — staged like any upload."""
    from service import sample_files

    batch = service.store.batch()
    try:
        for i, name in enumerate(names):
            if name.endswith(".pdf"):
                data = sample_files.scan(name)
            else:
                data = sample_files.photo((taken - timedelta(hours=1)).astimezone(rules.timezone), seed=i * 17)
            batch.add_bytes(name, data)
    except BaseException:
        batch.close()
        raise
    return batch


def load_sample(engine: Engine, rules: Rules, now: datetime, path: Path | None = None) -> dict:
    data = tomllib.loads((path or SAMPLE).read_text("utf-8"))
    with open_session(engine) as session, session.begin():
        if session.exec(select(Problem)).first() is not None:
            from workflow.errors import Conflict

            raise Conflict("数据库中已有问题台账，示例数据只能载入空台账（可换一个数据库文件）", field="db")
        for u in data.get("user", []):
            if session.exec(select(User).where(User.login == u["login"])).first() is None:
                directory_admin.create_user(session, u["login"], u["name"], u["unit"], u["role"], u.get("email"), now)
        for p in data.get("project", []):
            if session.exec(select(Project).where(Project.name == p["name"])).first() is None:
                directory_admin.create_project(session, p["name"], p["unit"], p.get("leader"), now)

    clock_at = [now]
    service = ProblemService(engine, rules, lambda: clock_at[0])
    codes = []
    for item in data.get("problem", []):
        clock_at[0] = now - timedelta(days=item["logged_days_ago"])
        problem = service.log(
            item["reporter"],
            item["project"],
            item["category"],
            item["title"],
            description=item.get("description", ""),
            severity=item.get("severity", "general"),
            county_level=item.get("county_level", False),
        )
        codes.append(problem.code)
        assign = item.get("assign")
        if assign:
            clock_at[0] = now - timedelta(days=assign["days_ago"])
            service.act(
                assign["by"],
                problem.code,
                "assign",
                unit=assign["unit"],
                person=assign["person"],
                leader=assign.get("leader"),
                section=assign.get("section", ""),
            )
        for step in item.get("history", []):
            clock_at[0] = now - timedelta(days=step["days_ago"])
            params = {k: step[k] for k in _PARAMS if k in step}
            with _files(service, step.get("attach", []), clock_at[0], rules) as batch:
                service.act(step["actor"], problem.code, step["action"], attachments=batch, **params)
    return {"users": len(data.get("user", [])), "projects": len(data.get("project", [])), "problems": codes}
