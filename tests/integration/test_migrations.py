"""Migrations produce exactly the models' schema, and upgrading a database that holds data loses nothing."""

from __future__ import annotations

import sqlalchemy as sa

from models import migrate
from models.db import make_engine
from service.problems import ProblemService
from tests.backends import dump
from tests.conftest import at


def first_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate._config())
    return list(script.walk_revisions())[-1].revision


def test_migrations_match_the_models_exactly(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert migrate.drift(engine) == []
    engine.dispose()


def test_upgrade_from_the_first_revision_keeps_every_row(db_url, rules):
    engine = make_engine(db_url)
    migrate.upgrade(engine, first_revision())
    # Data written with the first schema: only the tables and columns that revision knows.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO unit (id, code, name, kind, aliases) VALUES "
                "(1, 'ziranziyuan', '自然资源局', 'department', '[]'), (2, 'duchashi', '县政府办督查室', 'inspection_office', '[]')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO user_account (id, login, name, unit_id, role, email, active, created_at) VALUES "
                "(1, 'insp', '张督查', 2, 'inspector', 'i@yc.example', true, '2024-01-01 01:00:00'), "
                "(2, 'staff', '孙科员', 1, 'staff', 's@yc.example', true, '2024-01-01 01:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO project (id, name, unit_id, created_at) VALUES (1, '嘉润综合物流园区', 1, '2024-01-01 01:00:00')"
            )
        )
        # A logged and assigned problem with its events, as the first revision's code wrote them.
        conn.execute(
            sa.text(
                "INSERT INTO problem (id, code, project_id, title, description, category, severity, county_level,"
                " state, level, light, reporter_id, responsible_unit_id, responsible_person_id, responsible_section,"
                " deadline, deadline_provisional, overdue_escalations, progress, resolution, created_at, updated_at,"
                " assigned_at, version) VALUES (1, 'WT-2024-0001', 1, '升级前登记的问题', '', 'land', 'general', false,"
                " 'assigned', 'unit', 'green', 2, 1, 2, '', '2024-02-05', false, 0, '', '',"
                " '2024-01-08 01:00:00', '2024-01-08 01:00:00', '2024-01-08 01:00:00', 2)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO event (id, problem_id, at, actor, action, from_state, to_state, from_level, to_level,"
                " comment, data) VALUES (1, 1, '2024-01-08 01:00:00', 'staff', 'log', NULL, 'discovered', NULL,"
                " 'unit', '升级前登记的问题', '{}'), (2, 1, '2024-01-08 01:00:00', 'insp', 'assign', 'discovered',"
                " 'assigned', 'unit', 'unit', '', '{}')"
            )
        )
        conn.execute(sa.text("INSERT INTO code_counter (year, last) VALUES (2024, 1)"))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("unit", "user_account", "project", "problem", "event"):
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    before = dump(db_url)
    migrate.upgrade(engine)
    after = dump(db_url)
    assert migrate.current(engine) == migrate.head() and migrate.drift(engine) == []
    # The upgraded database works: the problem moves on through today's service.
    svc = ProblemService(engine, rules, lambda: at("2024-01-09"))
    assert svc.act("staff", "WT-2024-0001", "ack").version == 3
    for table, rows in before.items():
        if table == "alembic_version":
            continue
        # Every row is still there with the values it had (new columns may have been appended).
        assert [r[: len(rows[0])] for r in after[table]] == rows if rows else after[table] == [], table
    engine.dispose()
