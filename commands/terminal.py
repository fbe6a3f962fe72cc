"""How the ledger and one problem look in a terminal (Rich). Every value a person typed goes through
``printable`` and ``Text``: it is never read as markup and never sends a control sequence to the terminal."""

from __future__ import annotations

import click

from commands.support import console, printable

_LIGHT_STYLE = {
    "green": ("green", "● 正常"),
    "blue": ("blue", "● 蓝灯"),
    "yellow": ("yellow", "● 黄灯"),
    "red": ("red", "● 红灯"),
}
PROVISIONAL_NOTE = (
    "* 暂定：该年国务院节假日安排尚未收录，按法定节假日和周一至周五推算；收录后请在规则文件 [calendar] 中补充。"
)


def light_mark(light: str):
    from rich.text import Text

    style, text = _LIGHT_STYLE.get(light, ("white", light))
    return Text(text, style=style)


def _t(value) -> object:
    from rich.text import Text

    return Text(printable("" if value is None else value))


def render_ledger(rows: list[dict]) -> None:
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
            _t(r["code"]),
            light_mark(r["light"]),
            _t(r["project"]),
            _t(r["title"]),
            _t(r["category_label"]),
            _t(r["level_short"]),
            _t(r["state_label"]),
            _t(r["responsible_unit"]),
            _t(r["responsible_person"]),
            _t(deadline),
        )
    console().print(table)
    if any(r["deadline_provisional"] for r in rows):
        click.echo(PROVISIONAL_NOTE)


def render_detail(d: dict) -> None:
    from rich.table import Table
    from rich.text import Text

    from workflow.actions import label as action_label
    from workflow.states import Level, State

    out = console()
    deadline = d["deadline"] or "—"
    if d["deadline_provisional"]:
        deadline += "（暂定）"
    heading = Text.assemble((printable(d["code"]), "bold"), "  ", light_mark(d["light"]), "  ", printable(d["title"]))
    out.print(heading)
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
            out.print(Text(f"  {label}：{printable(value)}"))
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
        when = e["at"][:16].replace("T", " ")
        if e.get("backdated"):  # entered with a simulated time: show when it was really written too
            when += f"\n（实际录入 {e['recorded_at'][:16].replace('T', ' ')}）"
        table.add_row(
            _t(when),
            _t(e["actor_name"]),
            _t(action_label(e["action"])),
            _t(states),
            _t(levels),
            _t(e["comment"]),
        )
    out.print(table)
    if d.get("actions"):
        out.print(Text("  当前可执行：" + "、".join(action_label(a) for a in d["actions"])))
    if d["notices"]:
        counts = "，".join(
            f"{k} {sum(1 for n in d['notices'] if n['status'] == k)}"
            for k in sorted({n["status"] for n in d["notices"]})
        )
        out.print(Text(f"  通知：{len(d['notices'])} 条（{counts}）"))
