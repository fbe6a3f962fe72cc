"""Directory and account commands: ``user``, ``unit``, ``project``, ``token``, ``passwd``. Each is a thin call
into ``service.directory_admin.DirectoryAdmin``, which checks who may."""

from __future__ import annotations

import click

from commands.support import Command, Group, emit, emit_table, json_option, table


@click.group("user", cls=Group)
def user():
    """用户管理。"""


@user.command("add")
@click.argument("login")
@click.option("--name", required=True, help="姓名")
@click.option("--unit", required=True, help="所属单位（代码、名称或别名）")
@click.option(
    "--role",
    required=True,
    help="角色：staff 工作人员、unit_head 单位负责人（一把手）、deputy_head 分管领导、county_leader、inspector、admin",
)
@click.option("--email", help="邮箱（接收通知）")
@click.pass_obj
def user_add(app, login, name, unit, role, email):
    """新增用户（管理员）。"""
    u = app.admin.add_user(app.actor(), login, name, unit, role, email)
    click.echo(f"已新增用户 {u.login}（{u.name}）")


@user.command("list")
@json_option
@click.pass_obj
def user_list(app, as_json):
    """列出用户（邮箱只对管理员和督查室显示）。"""
    emit_table(
        as_json,
        [u.as_dict() for u in app.admin.users(app.actor())],
        ["登录名", "姓名", "单位", "角色", "邮箱", "状态"],
        lambda x: [
            x["login"],
            x["name"],
            x["unit"],
            x["role_label"],
            x["email"] or "",
            "在职" if x["active"] else "停用",
        ],
    )


def _set_active(active: bool):
    @click.argument("login")
    @click.pass_obj
    def command(app, login):
        app.admin.set_active(app.actor(), login, active)
        click.echo(f"已{'启用' if active else '停用'}用户 {login}")

    return command


user.command("activate", help="启用用户（管理员）。")(_set_active(True))
user.command("deactivate", help="停用用户（管理员）：停用后不能登录，也不能再做任何操作。")(_set_active(False))


@user.command("signout")
@click.argument("login")
@click.pass_obj
def user_signout(app, login):
    """让用户 LOGIN 在所有浏览器上立即退出登录（管理员或本人）；API 令牌另用 duban token revoke 吊销。"""
    ended = app.admin.sign_out_everywhere(app.actor(), login)
    click.echo(f"已让 {login} 在所有浏览器上退出登录（结束 {ended} 个会话）")


@click.group("unit", cls=Group)
def unit():
    """单位名录。"""


@unit.command("list")
@json_option
@click.pass_obj
def unit_list(app, as_json):
    """列出单位（代码、名称、类别、别名）。"""
    emit_table(
        as_json,
        [u.as_dict() for u in app.admin.units()],
        ["代码", "名称", "类别", "别名"],
        lambda x: [x["code"], x["name"], x["kind_label"], "、".join(x["aliases"])],
    )


@unit.command("add")
@click.argument("code")
@click.option("--name", required=True, help="单位名称")
@click.option(
    "--kind",
    required=True,
    help="类别：town 乡镇、zone 开发区、department 县直部门、enterprise 县属企业、inspection_office 督查室",
)
@click.pass_obj
def unit_add(app, code, name, kind):
    """新增单位（管理员）。"""
    u = app.admin.add_unit(app.actor(), code, name, kind)
    click.echo(f"已新增单位 {u.name}（{u.code}）")


@click.group("project", cls=Group)
def project():
    """项目管理。"""


@project.command("add")
@click.argument("name")
@click.option("--unit", required=True, help="项目所属单位")
@click.option("--leader", help="包联（分包）县级领导的登录名")
@click.pass_obj
def project_add(app, name, unit, leader):
    """登记项目（管理员、督查室）。"""
    p = app.admin.add_project(app.actor(), name, unit, leader)
    click.echo(f"已登记项目「{p.name}」（编号 {p.id}）")


@project.command("list")
@json_option
@click.pass_obj
def project_list(app, as_json):
    """列出项目。"""
    emit_table(
        as_json,
        [p.as_dict() for p in app.admin.projects()],
        ["编号", "项目", "所属单位", "包联领导"],
        lambda x: [x["id"], x["name"], x["unit"], x["leader_name"] or ""],
    )


@click.group("token", cls=Group)
def token():
    """API 令牌（供脚本调用 /api/v1）。"""


@token.command("create")
@click.argument("login")
@click.option("--name", default="", help="令牌用途说明")
@click.option("--days", type=click.IntRange(1, 3650), help="有效天数（不填则长期有效，可吊销）")
@click.pass_obj
def token_create(app, login, name, days):
    """为用户 LOGIN 生成 API 令牌（只显示这一次；库中只存其 SHA-256 摘要）。需管理员或本人。"""
    value = app.admin.create_token(app.actor(), login, name, days)
    click.echo(value)
    click.echo(f"已为 {login} 生成令牌；请立即保存，之后无法再次查看。用法：Authorization: Bearer <令牌>", err=True)


@token.command("list")
@click.argument("login", required=False)
@json_option
@click.pass_obj
def token_list(app, login, as_json):
    """列出 API 令牌（只显示前缀）：管理员看全部，其他人只看自己的。"""
    rows = [t.as_dict() for t in app.admin.tokens(app.actor(), login)]
    tz = app.rules.timezone

    def state(r) -> str:
        if r["revoked_at"]:
            return "已吊销"
        return f"有效至 {r['expires_at'].astimezone(tz):%Y-%m-%d}" if r["expires_at"] else "有效"

    def render(data):
        if not data:
            click.echo("没有令牌")
            return
        table(
            ["编号", "用户", "前缀", "用途", "创建时间", "状态"],
            [
                [
                    r["id"],
                    r["login"],
                    r["prefix"] + "…",
                    r["name"] or "—",
                    f"{r['created_at'].astimezone(tz):%Y-%m-%d %H:%M}",
                    state(r),
                ]
                for r in data
            ],
        )

    emit(as_json, rows, render)


@token.command("revoke")
@click.argument("token_id", type=int, metavar="ID")
@click.pass_obj
def token_revoke(app, token_id):
    """吊销令牌（需管理员或令牌所属用户）。"""
    app.admin.revoke_token(app.actor(), token_id)
    click.echo(f"已吊销令牌 {token_id}")


@click.command("passwd", cls=Command)
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（供脚本使用）")
@click.pass_obj
def passwd(app, login, password_stdin):
    """设置用户 LOGIN 的登录密码（argon2 哈希）：管理员或本人。首次使用：duban --as admin passwd admin。"""
    import sys

    actor = app.actor()
    if password_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = click.prompt("新密码", hide_input=True, confirmation_prompt="再次输入")
    app.admin.set_password(actor, login, value)
    click.echo(f"已设置 {login} 的密码")


COMMANDS: list[click.Command] = [user, unit, project, token, passwd]
