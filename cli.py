"""duban — the command line. Thin: parse, call the service, print. Heavy modules load lazily so that
``duban --help`` starts fast."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from functools import cached_property

import click

from cli_support import Group, json_option

DEMO_PASSWORD = "duban-demo-2024"  # sample data only: `init --sample` sets it for the fictional users
CONTEXT = dict(help_option_names=["-h", "--help"], max_content_width=100)


class App:
    """Per-invocation settings and lazily built engine, rules and service."""

    def __init__(self, db: str | None, rules: str | None, user: str | None, at: str | None):
        self.db_url, self.rules_path, self.user, self.at = db, rules, user, at

    @cached_property
    def rules(self):
        from workflow.rules import load_rules

        return load_rules(self.rules_path)

    @cached_property
    def engine(self):
        from models.db import make_engine

        return make_engine(self.db_url)

    @cached_property
    def now(self) -> datetime:

        if not self.at:
            return datetime.now(UTC)
        return parse_at(self.at, self.rules.timezone)

    def clock(self) -> datetime:
        return self.now

    @cached_property
    def service(self):
        from service.problems import ProblemService

        return ProblemService(self.engine, self.rules, self.clock)

    def actor(self) -> str:
        if not self.user:
            fail("请用 --as 登录名 或环境变量 DUBAN_USER 指定当前用户（如 --as admin）", 2)
        return self.user

    def today(self):
        return self.now.astimezone(self.rules.timezone).date()

    def session(self):
        from models.db import session

        return session(self.engine)


def parse_at(text: str, tz) -> datetime:
    """ISO 8601; a time without offset is local (Asia/Shanghai); a bare date means 09:00 local."""
    from workflow.errors import InvalidValue

    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(
            f"--at / DUBAN_NOW「{text}」不是 ISO 8601 时间，应形如 2024-02-08T09:00 或 2024-02-08"
        ) from None
    if len(raw) == 10:
        value = value.replace(hour=9)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def fail(message: str, code: int = 1):
    click.echo(f"错误：{message}", err=True)
    raise SystemExit(code)


def emit(ctx_obj: App, as_json: bool, data, render) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        render(data)


@click.group(cls=Group, context_settings=CONTEXT)
@click.option(
    "--db", envvar="DUBAN_DB", metavar="URL", help="数据库 URL（环境变量 DUBAN_DB；默认 sqlite:///var/duban.db）"
)
@click.option(
    "--rules",
    "rules_path",
    envvar="DUBAN_RULES",
    metavar="PATH",
    help="规则文件（DUBAN_RULES；默认 escalation_rules.toml）",
)
@click.option(
    "--as", "user", envvar="DUBAN_USER", metavar="LOGIN", help="当前用户登录名（DUBAN_USER），用于权限检查与审计"
)
@click.option(
    "--at", envvar="DUBAN_NOW", metavar="DATETIME", help="模拟“当前时间”（DUBAN_NOW），ISO 8601，无时区按北京时间"
)
@click.version_option("0.1.0", prog_name="duban", message="%(prog)s %(version)s", help="显示版本并退出")
@click.pass_context
def main_group(ctx, db, rules_path, user, at):
    """督办 duban：项目问题台账“发现—交办—督办—销号”闭环管理。"""
    ctx.obj = App(db, rules_path, user, at)


# -- setup ---------------------------------------------------------------------------------------------


@main_group.command()
@click.option("--sample", is_flag=True, help="同时载入示例台账（8 个项目 10 个问题，人物虚构）")
@click.option("--admin-email", default="admin@localhost", show_default=True, help="admin 账号的邮箱")
@click.pass_obj
def init(app: App, sample, admin_email):
    """建库，载入阳城县单位名录，创建 admin 账号。"""
    from sqlmodel import select

    from models.db import create_schema
    from models.tables import User
    from service import directory

    create_schema(app.engine)
    with app.session() as session, session.begin():
        added = directory.load_units(session)
        if session.exec(select(User).where(User.login == "admin")).first() is None:
            directory.add_user(session, "admin", "系统管理员", "duchashi", "admin", admin_email, app.now)
    click.echo(
        f"数据库已就绪：{app.engine.url.render_as_string(hide_password=True)}；新增单位 {added} 个；管理员账号 admin"
    )
    if sample:
        from service.sample import load_sample

        result = load_sample(app.engine, app.rules, app.now)
        click.echo(
            f"已载入示例数据：用户 {result['users']} 个，项目 {result['projects']} 个，"
            f"问题 {len(result['problems'])} 个（{result['problems'][0]} … {result['problems'][-1]}）"
        )
        from web.passwords import set_demo_passwords

        with app.session() as session, session.begin():
            logins = set_demo_passwords(session, DEMO_PASSWORD)
        click.echo(
            f"网页登录演示密码：{DEMO_PASSWORD}（适用于 {len(logins)} 个示例账号，如 admin、zhang.dcs、wang.fxz、sun.zrzy）"
        )


@main_group.group()
def db():
    """数据库结构（迁移）。"""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: App):
    """把数据库结构升级到最新版本（升级软件后运行；会先备份时请先备份）。"""
    from models import migrate

    before = migrate.current(app.engine)
    migrate.upgrade(app.engine)
    after = migrate.current(app.engine)
    click.echo(
        f"数据库结构已是最新版本 {after}" if before == after else f"数据库结构已从 {before or '空库'} 升级到 {after}"
    )


@db.command("current")
@json_option
@click.pass_obj
def db_current(app: App, as_json):
    """显示数据库结构的当前版本和最新版本。"""
    from models import migrate

    data = {"current": migrate.current(app.engine), "head": migrate.head()}
    emit(
        app,
        as_json,
        data,
        lambda d: click.echo(
            f"当前版本：{d['current'] or '未初始化'}；最新版本：{d['head']}"
            + ("" if d["current"] == d["head"] else "（请运行 duban db upgrade）")
        ),
    )


def _require_admin(app: App, what: str) -> None:
    from service import directory
    from workflow.errors import PermissionDenied
    from workflow.states import Role

    with app.session() as session:
        actor = directory.actor_for(session, app.actor())
    if actor.role != Role.ADMIN:
        raise PermissionDenied(f"只有管理员可以{what}，{actor.name}（{actor.login}）不是管理员")


@main_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.pass_obj
def export_cmd(app: App, path):
    """导出全部数据（单位、用户、项目、问题、历史、通知）为带版本的 JSONL 备份文件。"""
    from pathlib import Path

    from service.dump import export_dump

    _require_admin(app, "导出全部数据")
    header = export_dump(app.engine, Path(path), app.now)
    total = sum(header["tables"].values())
    click.echo(
        f"已导出 {total} 行到 {path}（结构版本 {header['schema']}）："
        + "，".join(f"{k} {v}" for k, v in header["tables"].items() if v)
    )


@main_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True, help="目标库已有数据时，用备份替换全部数据（默认拒绝）")
@click.pass_obj
def import_cmd(app: App, path, replace):
    """从 duban export 的备份文件恢复全部数据（默认只导入空库）。"""
    from pathlib import Path

    from service.dump import import_dump

    if replace:
        _require_admin(app, "用备份替换全部数据")
    result = import_dump(app.engine, Path(path), replace=replace)
    click.echo(f"已从 {path} 导入 {sum(result['tables'].values())} 行（结构版本 {result['schema']}）")


@main_group.group()
def user():
    """用户管理。"""


@user.command("add")
@click.argument("login")
@click.option("--name", required=True, help="姓名")
@click.option("--unit", required=True, help="所属单位（代码、名称或别名）")
@click.option("--role", required=True, help="角色：staff、unit_head、county_leader、inspector、admin")
@click.option("--email", help="邮箱（接收通知）")
@click.pass_obj
def user_add(app: App, login, name, unit, role, email):
    """新增用户。"""
    from service import directory
    from workflow.states import Role

    with app.session() as session, session.begin():
        actor = directory.actor_for(session, app.actor())
        if actor.role != Role.ADMIN:
            from workflow.errors import PermissionDenied

            raise PermissionDenied(f"只有管理员可以新增用户，{actor.name}（{actor.login}）不是管理员")
        u = directory.add_user(session, login, name, unit, role, email, app.now)
    click.echo(f"已新增用户 {u.login}（{u.name}）")


@user.command("list")
@json_option
@click.pass_obj
def user_list(app: App, as_json):
    """列出用户。"""
    from sqlmodel import select

    from models.tables import Unit, User
    from workflow.states import Role

    with app.session() as session:
        rows = [
            {
                "login": u.login,
                "name": u.name,
                "unit": n,
                "role": u.role,
                "role_label": Role(u.role).label,
                "email": u.email,
                "active": u.active,
            }
            for u, n in session.exec(select(User, Unit.name).join(Unit).order_by(User.login)).all()
        ]
    emit(
        app,
        as_json,
        rows,
        lambda r: _table(
            ["登录名", "姓名", "单位", "角色", "邮箱"],
            [[x["login"], x["name"], x["unit"], x["role_label"], x["email"] or ""] for x in r],
        ),
    )


@main_group.group()
def unit():
    """单位名录。"""


@unit.command("list")
@json_option
@click.pass_obj
def unit_list(app: App, as_json):
    """列出单位（代码、名称、类别、别名）。"""
    from sqlmodel import select

    from models.tables import Unit
    from workflow.states import UnitKind

    with app.session() as session:
        rows = [
            {"code": u.code, "name": u.name, "kind": u.kind, "kind_label": UnitKind(u.kind).label, "aliases": u.aliases}
            for u in session.exec(select(Unit).order_by(Unit.id)).all()
        ]
    emit(
        app,
        as_json,
        rows,
        lambda r: _table(
            ["代码", "名称", "类别", "别名"],
            [[x["code"], x["name"], x["kind_label"], "、".join(x["aliases"])] for x in r],
        ),
    )


@main_group.group()
def project():
    """项目管理。"""


@project.command("add")
@click.argument("name")
@click.option("--unit", required=True, help="项目所属单位")
@click.option("--leader", help="包联（分包）县级领导的登录名")
@click.pass_obj
def project_add(app: App, name, unit, leader):
    """登记项目。"""
    from service import directory
    from workflow.errors import PermissionDenied
    from workflow.states import Role

    with app.session() as session, session.begin():
        actor = directory.actor_for(session, app.actor())
        if actor.role not in (Role.ADMIN, Role.INSPECTOR):
            raise PermissionDenied(
                f"只有管理员或督查室可以登记项目，{actor.name}（{actor.login}）的角色是{Role(actor.role).label}"
            )
        p = directory.add_project(session, name, unit, leader, app.now)
    click.echo(f"已登记项目「{p.name}」（编号 {p.id}）")


@project.command("list")
@json_option
@click.pass_obj
def project_list(app: App, as_json):
    """列出项目。"""
    from sqlmodel import select

    from models.tables import Project, Unit, User

    with app.session() as session:
        leaders = {u.id: u.name for u in session.exec(select(User)).all()}
        rows = [
            {"id": p.id, "name": p.name, "unit": n, "leader": leaders.get(p.leader_id)}
            for p, n in session.exec(select(Project, Unit.name).join(Unit).order_by(Project.id)).all()
        ]
    emit(
        app,
        as_json,
        rows,
        lambda r: _table(
            ["编号", "项目", "所属单位", "包联领导"], [[x["id"], x["name"], x["unit"], x["leader"] or ""] for x in r]
        ),
    )


# -- the ledger ------------------------------------------------------------------------------------------


@main_group.command()
@click.option("--project", required=True, help="项目名称或编号")
@click.option("--unit", help="责任单位（默认项目所属单位）")
@click.option(
    "--category",
    required=True,
    help="问题类型：land 土地、demolition 征拆、permit 手续、funding 资金、factor 要素保障、other 其他",
)
@click.option("--title", required=True, help="问题标题")
@click.option("--description", default="", help="问题描述")
@click.option("--severity", default="general", show_default=True, help="问题性质：general 一般、major 重大")
@click.option("--county-level", is_flag=True, help="需县级层面协调解决")
@json_option
@click.pass_obj
def log(app: App, project, unit, category, title, description, severity, county_level, as_json):
    """登记（发现）一个问题，输出新问题编号。"""
    p = app.service.log(
        app.actor(),
        project,
        category,
        title,
        unit=unit,
        description=description,
        severity=severity,
        county_level=county_level,
    )
    emit(app, as_json, {"code": p.code, "state": p.state, "level": p.level}, lambda d: click.echo(d["code"]))


def _action(name: str, help_text: str, options: list, param_map: dict | None = None):
    """Build a command that runs one workflow action on CODE."""

    @click.argument("code")
    @click.option("--expect-version", type=int, help="仅当问题仍是该版本时执行（防止覆盖他人修改）")
    @json_option
    @click.pass_obj
    def command(app: App, code, expect_version, as_json, **kwargs):
        params = {(param_map or {}).get(k, k): v for k, v in kwargs.items() if v is not None}
        p = app.service.act(app.actor(), code, name, expected_version=expect_version, **params)
        _print_result(app, p, name, as_json)

    for opt in reversed(options):
        command = opt(command)
    command.__doc__ = help_text
    main_group.command(name.replace("_", "-"))(command)


def _print_result(app: App, p, action: str, as_json: bool) -> None:
    from workflow.permissions import ACTION_LABELS
    from workflow.states import Level, Light, State

    data = {
        "code": p.code,
        "action": action,
        "state": p.state,
        "level": p.level,
        "light": p.light,
        "deadline": p.deadline.isoformat() if p.deadline else None,
        "deadline_provisional": p.deadline_provisional,
        "version": p.version,
    }

    def render(d):
        line = (
            f"{p.code} 已{ACTION_LABELS[action]}：状态 {State(p.state).label}，层级 {Level(p.level).label}，"
            f"{Light(p.light).label}"
        )
        if p.deadline:
            line += f"，办结时限 {p.deadline}"
            if p.deadline_provisional:
                line += "（暂定：该年节假日安排未知，按法定节假日和周一至周五推算）"
        click.echo(line)

    emit(app, as_json, data, render)


_action(
    "assign",
    "交办：指定责任单位、责任人、分管领导和办结时限（不填则按规则计算）。",
    [
        click.option("--unit", required=True, help="责任单位"),
        click.option("--person", required=True, help="责任人登录名"),
        click.option("--leader", help="分管领导登录名（默认责任单位负责人）"),
        click.option("--section", help="责任科室"),
        click.option("--deadline", help="办结时限 YYYY-MM-DD（不填则按规则计算）"),
        click.option("--comment", help="交办意见"),
    ],
)
_action("ack", "签收（研究部署）。", [click.option("--text", help="签收说明")])
_action("feedback", "反馈办理情况。", [click.option("--text", required=True, help="反馈内容")])
_action("note", "添加备注（不改变状态）。", [click.option("--text", required=True, help="备注内容")])
_action("supervise", "督办：把已交办问题纳入督办。", [click.option("--reason", required=True, help="督办意见")])
_action(
    "escalate",
    "升级到更高层级（默认下一层级）。",
    [
        click.option("--to", help="目标层级：county_leader、supervision_13710、government_meeting"),
        click.option("--reason", required=True, help="升级理由"),
        click.option("--deadline", help="新层级的办结时限 YYYY-MM-DD（如督办函另定时限；不填则按规则计算）"),
    ],
)
_action("suspend", "挂起（等待外部审批时暂停计时）。", [click.option("--reason", required=True, help="挂起原因")])
_action("resume", "恢复计时；办结时限顺延挂起的天数。", [click.option("--reason", help="恢复说明")])
_action(
    "resolve",
    "申请销号（提交办结情况，待督查室审核）。",
    [click.option("--resolution", required=True, help="办结情况")],
)
_action(
    "close",
    "销号（督查室审核通过）。",
    [
        click.option("--rating", help="评价：excellent 优秀、good 良好、pass 合格、fail 不合格"),
        click.option("--comment", help="销号意见"),
    ],
)
_action(
    "send_back",
    "退回（督查室审核不通过），问题回到督办状态。",
    [click.option("--reason", required=True, help="退回理由")],
)


@main_group.command()
@click.argument("code")
@json_option
@click.pass_obj
def show(app: App, code, as_json):
    """显示问题详情及完整历史。"""
    from service.problems import normalize_code
    from service.queries import problem_detail

    code = normalize_code(code)
    app.service.get(code)  # raises NotFound with a clear message
    with app.session() as session:
        detail = problem_detail(session, code, app.today(), app.rules.timezone)
    emit(app, as_json, detail, _render_detail)


def _render_detail(d: dict) -> None:
    from rich.table import Table

    from workflow.permissions import ACTION_LABELS
    from workflow.states import Level, State

    console = _console()
    deadline = d["deadline"] or "—"
    if d["deadline_provisional"]:
        deadline += "（暂定）"
    console.print(f"[bold]{d['code']}[/bold]  {_light_mark(d['light'])}  {d['title']}", markup=True, highlight=False)
    fields = [
        ("项目", d["project"]),
        ("类型/性质", f"{d['category_label']} / {d['severity_label']}"),
        ("状态", d["state_label"]),
        ("层级", d["level_label"]),
        ("责任单位", d["responsible_unit"]),
        ("责任人", d["responsible_person"]),
        ("分管领导", d["leader_in_charge"]),
        ("包联领导", d["contracting_leader"]),
        ("责任科室", d["responsible_section"]),
        ("办结时限", deadline),
        ("研究部署节点", d["deploy_due"]),
        ("反馈节点", d["feedback_due"]),
        ("提出人", d["reporter"]),
        ("登记时间", d["created_at"]),
        ("描述", d["description"]),
        ("最新进展", d["progress"]),
        ("办结情况", d["resolution"]),
        ("评价", d["rating_label"]),
        ("版本", d["version"]),
    ]
    for label, value in fields:
        if value not in (None, ""):
            console.print(f"  {label}：{value}", markup=False, highlight=False)
    table = Table(title="历史记录", show_lines=False)
    for col in ("时间", "操作人", "操作", "状态", "层级", "说明"):
        table.add_column(col)
    for e in d["history"]:
        states = (
            f"{State(e['from_state']).label if e['from_state'] else '∅'}→{State(e['to_state']).label}"
            if e["from_state"] != e["to_state"]
            else ""
        )
        levels = (
            f"{Level(e['from_level']).label if e['from_level'] else '∅'}→{Level(e['to_level']).label}"
            if e["from_level"] != e["to_level"]
            else ""
        )
        table.add_row(
            e["at"][:16].replace("T", " "),
            e["actor_name"],
            ACTION_LABELS.get(e["action"], e["action"]),
            states,
            levels,
            e["comment"],
        )
    console.print(table)
    if d["notices"]:
        console.print(
            f"  通知：{len(d['notices'])} 条（"
            + "，".join(
                f"{k} {sum(1 for n in d['notices'] if n['status'] == k)}"
                for k in sorted({n["status"] for n in d["notices"]})
            )
            + "）",
            markup=False,
            highlight=False,
        )


_LIGHT_STYLE = {
    "green": ("green", "● 正常"),
    "blue": ("blue", "● 蓝灯"),
    "yellow": ("yellow", "● 黄灯"),
    "red": ("red", "● 红灯"),
}


def _light_mark(light: str) -> str:
    style, text = _LIGHT_STYLE.get(light, ("white", light))
    return f"[{style}]{text}[/{style}]"


@main_group.command("list")
@click.option("--state", help="状态：discovered、assigned、supervised、suspended、review、closed（或中文）")
@click.option("--level", help="层级：unit、county_leader、supervision_13710、government_meeting")
@click.option("--unit", help="责任单位")
@click.option("--light", help="预警灯：green、blue、yellow、red")
@click.option("--overdue", is_flag=True, help="只看已超期的")
@json_option
@click.pass_obj
def list_cmd(app: App, state, level, unit, light, overdue, as_json):
    """列出问题台账（带预警灯）。"""
    from service.queries import list_problems

    with app.session() as session:
        rows = list_problems(session, app.today(), state=state, level=level, unit=unit, light=light, overdue=overdue)
    emit(app, as_json, rows, _render_ledger)


def _render_ledger(rows: list[dict]) -> None:
    from rich.table import Table

    table = Table(title=f"问题台账（{len(rows)} 条）")
    for col in ("编号", "灯", "项目", "问题", "类型", "层级", "状态", "责任单位", "责任人", "办结时限"):
        table.add_column(
            col,
            overflow="fold",
            no_wrap=col in ("编号", "灯", "办结时限", "层级", "状态"),
            max_width=28 if col in ("项目", "问题") else None,
        )
    for r in rows:
        deadline = r["deadline"] or "—"
        if r["deadline_provisional"]:
            deadline += "*"
        if r["overdue"]:
            deadline += " 超期"
        table.add_row(
            r["code"],
            _light_mark(r["light"]),
            r["project"],
            r["title"],
            r["category_label"],
            r["level_short"],
            r["state_label"],
            r["responsible_unit"] or "",
            r["responsible_person"] or "",
            deadline,
        )
    _console().print(table)
    if any(r["deadline_provisional"] for r in rows):
        click.echo(
            "* 暂定：该年国务院节假日安排尚未收录，按法定节假日和周一至周五推算；收录后请在规则文件 [calendar] 中补充。"
        )


@main_group.command()
@click.option("--dry-run", is_flag=True, help="只显示将要执行的操作，不写入")
@json_option
@click.pass_obj
def sweep(app: App, dry_run, as_json):
    """巡检：更新预警灯，催办，超期升级，记录待发通知。"""
    from service.sweep import run_sweep
    from workflow.permissions import ACTION_LABELS

    report = run_sweep(app.engine, app.rules, app.now, dry_run=dry_run)

    def render(d):
        when = app.now.astimezone(app.rules.timezone).strftime("%Y-%m-%d %H:%M")
        head = "巡检预演（未写入）" if dry_run else "巡检完成"
        summary = "，".join(f"{ACTION_LABELS.get(k, k)} {v}" for k, v in d["actions"].items()) or "无需处理"
        click.echo(f"{head}（{when}）：检查到期问题 {d['selected']} 个；{summary}")
        for item in d["items"]:
            click.echo(f"  {item['code']}  {ACTION_LABELS.get(item['action'], item['action'])}：{item['comment']}")

    emit(app, as_json, report.as_dict(), render)


@main_group.group()
def rules():
    """规则文件。"""


@rules.command("check")
@click.argument("path", required=False)
@click.pass_obj
def rules_check(app: App, path):
    """检查规则文件是否有效。"""
    from workflow.rules import load_rules

    r = load_rules(path or app.rules_path)
    click.echo(f"规则文件有效：{r.source}")
    for level, rule in r.levels.items():
        nxt = rule.next.value if rule.next else "（终点）"
        click.echo(
            f"  {level.value}（{rule.label}）：时限 {rule.time_limit.label}，提前 {rule.warn_before.label} 预警，"
            f"超期宽限 {rule.remind_after.label}，下一级 {nxt}"
        )


@main_group.group()
def calendar():
    """工作日日历。"""


@calendar.command("add")
@click.argument("start")
@click.argument("period")
@json_option
@click.pass_obj
def calendar_add(app: App, start, period, as_json):
    """计算期限：从 START 起算 PERIOD（如 "3 workdays"、"7天"、"1个月"）的最后一天。"""
    from service.problems import parse_date
    from workflow.calendar import Period

    due = app.rules.calendar.add(parse_date(start, "起始日期"), Period.parse(period))
    emit(
        app,
        as_json,
        {"start": start, "period": period, "date": due.date.isoformat(), "provisional": due.provisional},
        lambda d: click.echo(
            d["date"] + ("（暂定：该年节假日安排未知，按法定节假日和周一至周五推算）" if due.provisional else "")
        ),
    )


@main_group.command()
def diagram():
    """输出状态机的 Mermaid 图（由状态机本身生成）。"""
    from workflow.machine import mermaid

    click.echo(mermaid(), nl=False)


# -- notices and the scheduler ----------------------------------------------------------------------------


def _mail_config():
    from notifications.config import MailConfig

    return MailConfig.from_env()


@main_group.group()
def outbox():
    """通知发件箱。"""


_STATUSES = ("pending", "sending", "sent", "failed", "undeliverable")


@outbox.command("list")
@click.option(
    "--status", help="状态：pending 待发送、sending 发送中、sent 已发送、failed 发送失败、undeliverable 无法投递"
)
@click.option("--problem", "code", help="只看某个问题的通知")
@click.option("--limit", type=int, help="最多显示多少条（最新的）")
@json_option
@click.pass_obj
def outbox_list(app: App, status, code, limit, as_json):
    """列出通知及其发送状态。"""
    from notifications.outbox import list_notices, status_counts
    from workflow.errors import InvalidValue

    if status and status not in _STATUSES:
        raise InvalidValue(f"状态（--status）的值「{status}」无效，可选：{'、'.join(_STATUSES)}")
    with app.session() as session:
        rows = list_notices(session, status, problem_code=code)
        counts = status_counts(session)
    if limit:
        rows = rows[-limit:]

    def render(data):
        tz = app.rules.timezone
        _table(
            ["编号", "类型", "问题", "收件人", "状态", "尝试", "时间", "说明"],
            [
                [
                    r["id"],
                    r["kind_label"],
                    r["problem_code"] or "—",
                    r["recipient_login"] or f"（{r['recipient_role']}）",
                    r["status_label"],
                    r["attempts"],
                    (r["sent_at"] or r["created_at"]).astimezone(tz).strftime("%m-%d %H:%M"),
                    (r["last_error"] or "")[:60],
                ]
                for r in data
            ],
        )
        click.echo("合计：" + "，".join(f"{k} {v}" for k, v in sorted(counts.items())))

    emit(app, as_json, rows, render)


@outbox.command("retry")
@click.argument("notice_id", type=int, required=False)
@click.pass_obj
def outbox_retry(app: App, notice_id):
    """把发送失败的通知（全部或指定编号）重新放回待发送队列。"""
    from notifications.outbox import retry

    n = retry(app.engine, notice_id, app.now)
    if notice_id is not None and n == 0:
        from workflow.errors import NotFound

        raise NotFound(f"没有编号为 {notice_id} 的发送失败通知；运行 duban outbox list --status failed 查看")
    click.echo(f"已重新排队 {n} 条通知")


@outbox.command("send")
@json_option
@click.pass_obj
def outbox_send(app: App, as_json):
    """立即发送所有待发送的通知（未配置 SMTP 时写入 var/mail/*.eml）。"""
    from notifications.sender import deliver_pending
    from service.scheduler import worker_name

    config = _mail_config()
    stats = deliver_pending(app.engine, config, app.now, worker_name())

    def render(d):
        where = f"SMTP {config.smtp_host}" if config.smtp_host else f"文件 {config.mail_dir}/"
        click.echo(
            f"发送完成（{where}）：已发送 {d['sent']}，稍后重试 {d['retried']}，失败 {d['failed']}"
            + (f"；中止原因：{d['stopped']}" if d["stopped"] else "")
        )

    emit(app, as_json, stats.as_dict(), render)
    if stats.stopped:
        raise SystemExit(9)


@main_group.group()
def notices():
    """通知预览。"""


@notices.command("preview")
@click.argument("code")
@click.option("--all", "all_statuses", is_flag=True, help="包括已发送和失败的通知")
@json_option
@click.pass_obj
def notices_preview(app: App, code, all_statuses, as_json):
    """显示某个问题待发送通知的邮件内容。"""
    from notifications.render import preview
    from service.problems import normalize_code

    code = normalize_code(code)
    app.service.get(code)
    statuses = _STATUSES if all_statuses else ("pending",)
    with app.session() as session:
        items = preview(session, code, _mail_config(), statuses)

    def render(data):
        if not data:
            click.echo(f"{code} 没有{'任何' if all_statuses else '待发送的'}通知")
        for m in data:
            click.echo(f"── 通知 {m['id']}（{m['kind_label']}，{m['status']}）" + "─" * 20)
            if m.get("error"):
                click.echo(f"无法生成：{m['error']}")
                continue
            click.echo(f"发件人：{m['from']}\n收件人：{m['to']}\n主题：{m['subject']}\n")
            click.echo(m["text"])

    emit(app, as_json, items, render)


@main_group.command()
@click.option("--once", is_flag=True, help="只运行一轮（巡检、汇总、发送）后退出")
@click.option(
    "--until", metavar="DATETIME", help="模拟运行：从 --at 起到此时刻，每隔 --step 运行一轮（不等待真实时间）"
)
@click.option("--step", default="1h", show_default=True, help="模拟运行的间隔，如 30m、1h、1d")
@click.option("--no-deliver", is_flag=True, help="只记录通知，不发送")
@click.pass_obj
def scheduler(app: App, once, until, step, no_deliver):
    """调度器：每隔数分钟巡检，工作日早上发每日汇总，半月调度重大问题，并发送通知。Ctrl-C / SIGTERM 退出。"""
    import logging

    from service.scheduler import Jobs, serve, simulate

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs = Jobs(app.engine, app.rules, _mail_config(), app.clock if app.at else _utcnow, deliver=not no_deliver)
    if until:
        end = parse_at(until, app.rules.timezone)
        reports = simulate(
            jobs,
            app.now,
            end,
            _parse_step(step),
            on_tick=lambda r: (
                r.actions and click.echo(f"{r.now.astimezone(app.rules.timezone):%Y-%m-%d %H:%M} {r.actions}")
            ),
        )
        total: dict = {}
        for r in reports:
            for k, v in r.actions.items():
                total[k] = total.get(k, 0) + v
        click.echo(
            f"模拟结束：{len(reports)} 轮；操作 {total}；每日汇总 {sum(r.digests for r in reports)}，"
            f"半月调度 {sum(r.dispatches for r in reports)}，发送 {sum(r.sent for r in reports)}"
        )
        return
    if once:
        r = jobs.tick()
        click.echo(
            f"本轮完成：操作 {r.actions}；每日汇总 {r.digests}，半月调度 {r.dispatches}，发送 {r.sent}，失败 {r.failed}"
        )
        return
    import asyncio

    click.echo(f"调度器已启动（{jobs.worker}），每 {app.rules.sweep_minutes} 分钟巡检；Ctrl-C 退出")
    asyncio.run(serve(jobs, app.rules))
    click.echo("调度器已停止")


def _utcnow() -> datetime:

    return datetime.now(UTC)


def _parse_step(text: str):
    from datetime import timedelta

    from workflow.errors import InvalidValue

    units = {"m": "minutes", "h": "hours", "d": "days"}
    raw = text.strip()
    if len(raw) >= 2 and raw[:-1].isdigit() and raw[-1] in units and int(raw[:-1]) > 0:
        return timedelta(**{units[raw[-1]]: int(raw[:-1])})
    raise InvalidValue(f"间隔（--step）「{text}」无效，应为正整数加单位 m/h/d，如 30m、1h、1d")


def _table(headers: list[str], rows: list[list]) -> None:
    from rich.table import Table

    table = Table()
    for h in headers:
        table.add_column(h)
    for r in rows:
        table.add_row(*[str(c) for c in r])
    _console().print(table)


def _console():
    """A Rich console that is wide enough for Chinese tables even when output goes to a pipe or file."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


# -- commands from other packages ------------------------------------------------------------------------


def _register_commands() -> None:
    from reports.cli import COMMANDS as REPORT_COMMANDS
    from web.cli import COMMANDS as WEB_COMMANDS

    for command in REPORT_COMMANDS + WEB_COMMANDS:
        main_group.add_command(command)


_register_commands()


# -- entry point: one Chinese line per error, never a traceback -----------------------------------------


def main(argv: list[str] | None = None) -> int:
    try:
        main_group.main(args=argv, prog_name="duban", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("已取消", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"错误：{_click_message(exc)}", err=True)
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001 — the last line of defence for people at a terminal
        return _report(exc)
    return 0


def _click_message(exc: click.ClickException) -> str:
    if isinstance(exc, click.MissingParameter):
        names = (
            "/".join(exc.param.opts)
            if exc.param is not None and exc.param.opts
            else (exc.param.name if exc.param else "")
        )
        return f"缺少必填参数 {names}" + (f"（{exc.param.help}）" if getattr(exc.param, "help", None) else "")
    if isinstance(exc, click.NoSuchOption):
        hint = f"，是否想用 {'、'.join(exc.possibilities)}" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{hint}；用 --help 查看用法"
    if isinstance(exc, click.BadParameter):
        name = "/".join(exc.param.opts) if exc.param is not None and exc.param.opts else "参数"
        return f"{name} 的值无效：{exc.message}"
    if isinstance(exc, click.UsageError):
        text = exc.format_message()
        if text.startswith("No such command"):
            return (
                f"没有这个命令：{text.split(chr(39))[1] if chr(39) in text else text}；运行 duban --help 查看全部命令"
            )
        if text.startswith("Got unexpected extra argument"):
            return f"多余的参数：{text.split('(')[-1].rstrip(')')}；含空格的值请加引号"
        return f"用法错误：{text}；用 --help 查看用法"
    return exc.format_message()


def _report(exc: Exception) -> int:
    from workflow.errors import DubanError

    if isinstance(exc, DubanError):
        click.echo(f"错误：{exc.message}", err=True)
        return exc.exit_code
    from notifications.errors import NoticeError

    if isinstance(exc, NoticeError):
        click.echo(f"错误：{exc}", err=True)
        return 2
    import sqlalchemy.exc as sa_exc

    if isinstance(exc, (sa_exc.OperationalError, sa_exc.ProgrammingError)) and (
        "no such table" in str(exc) or type(getattr(exc, "orig", None)).__name__ == "UndefinedTable"
    ):
        click.echo("错误：数据库尚未初始化，请先运行 duban init", err=True)
        return 10
    if isinstance(exc, sa_exc.OperationalError):
        click.echo(f"错误：无法访问数据库：{str(exc.orig).splitlines()[0] if exc.orig else exc}", err=True)
        return 10
    if isinstance(exc, sa_exc.ArgumentError):
        click.echo(f"错误：数据库 URL（--db / DUBAN_DB）无效：{exc}", err=True)
        return 2
    if os.environ.get("DUBAN_DEBUG"):
        raise exc
    click.echo(f"错误：内部错误（{type(exc).__name__}：{exc}）；设置 DUBAN_DEBUG=1 可查看详细信息", err=True)
    return 70


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
