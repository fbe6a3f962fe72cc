"""Evidence and inspections on the command line: ``attachments``, ``attachment get``, ``inspect`` and
``inspections``; ``staged`` turns ``--attach PATH`` options into a batch of checked files for any command
that carries them. Thin calls into ``service``."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click

from commands.support import Command, Group, emit, json_option, printable, table


def attach_option(f):
    return click.option(
        "--attach",
        "attachments",
        multiple=True,
        metavar="PATH",
        help="附件（照片、扫描件、PDF、docx、xlsx、OFD），可重复给出",
    )(f)


@contextmanager
def staged(app, paths):
    """The files at ``paths`` checked and staged (beside the file store, so storing them copies nothing);
    the staging folder is removed afterwards, whatever happened. Yields None when there are none."""
    if not paths:
        yield None
        return
    batch = app.service.store.batch()
    try:
        for p in paths:
            batch.add_file(Path(p))
        yield batch
    finally:
        batch.close()


def size_text(size: int) -> str:
    from workflow.evidence import size_text as text

    return text(size)


def _where(meta: dict) -> str:
    from reports.inspections import place

    parts = []
    if meta.get("taken_at"):
        parts.append(meta["taken_at"].replace("T", " ")[:16])
    if meta.get("gps"):
        parts.append(place(meta["gps"]))
    if meta.get("pdf_active"):
        parts.append("含脚本或自动动作：" + "、".join(meta["pdf_active"]))
    return "；".join(parts)


@click.command("attachments", cls=Command)
@click.argument("code")
@json_option
@click.pass_obj
def attachments_cmd(app, code, as_json):
    """列出问题的附件（佐证材料）：名称、类型、大小、上传人、随哪一步上传、拍摄时间和位置。"""
    from service.attachments import Attachments

    found = Attachments(app.engine, app.service.store).for_problem(app.actor(), code)
    data = [a.as_dict(app.rules.timezone) for a in found]

    def render(rows):
        if not rows:
            click.echo("该问题没有附件")
            return
        table(
            ["ID", "名称", "类型", "大小", "上传人", "上传时间", "随操作", "拍摄时间/位置", "SHA-256"],
            [
                [
                    r["id"],
                    r["name"],
                    r["kind_label"],
                    size_text(r["size"]),
                    r["uploaded_by_name"],
                    r["uploaded_at"][:16].replace("T", " "),
                    r["action_label"] or "—",
                    _where(r["meta"]) or "—",
                    r["sha256"][:12] + "…",
                ]
                for r in rows
            ],
        )

    emit(as_json, data, render)


@click.group("attachment", cls=Group)
def attachment():
    """单个附件。"""


@attachment.command("get", cls=Command)
@click.argument("attachment_id", metavar="ID", type=click.IntRange(1, 2_000_000_000))
@click.argument("path", type=click.Path())
@click.option("--force", is_flag=True, help="PATH 已存在时覆盖")
@click.pass_obj
def attachment_get(app, attachment_id, path, force):
    """下载附件到 PATH（PATH 是目录时以附件名保存在其中）；写入时核对 SHA-256。"""
    import hashlib
    import os

    from service.attachments import Attachments
    from workflow.errors import Conflict, InvalidValue

    info, chunks = Attachments(app.engine, app.service.store).content(app.actor(), attachment_id)
    target = Path(path)
    if target.is_dir():
        target = target / info.name
    if target.exists() and not force:
        raise Conflict(f"文件「{target}」已存在，未覆盖", field="path", value=str(target))
    tmp = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != info.sha256:
            raise InvalidValue(f"附件 {attachment_id} 的内容与其 SHA-256 不符，存储中的文件已损坏；请从备份恢复")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"已保存「{printable(info.name)}」（{size_text(info.size)}，SHA-256 校验一致）到 {target}")


def _inspection_line(i) -> str:
    files = f"，照片/材料 {len(i['attachments'])} 个" if i["attachments"] else ""
    problems = "，涉及 " + "、".join(p["code"] for p in i["problems"]) if i["problems"] else ""
    return f"#{i['id']} {i['date']} {i['project']}（{i['unit']}）：{i['finding_label']}{problems}{files}"


@click.command("inspect", cls=Command)
@click.option("--project", required=True, help="督查的项目（名称或编号）")
@click.option(
    "--finding", required=True, help="督查结论：normal 进展正常、slow 进展缓慢、confirmed 问题属实、rectified 已整改"
)
@click.option("--seen", required=True, help="看现场：现场看到的情况")
@click.option("--checked", default="", help="查资料：查阅了哪些资料")
@click.option("--date", "date_", help="督查日期（默认今天）")
@click.option("--place", default="", help="督查地点（默认项目名称）")
@click.option("--inspectors", help="督查人员（默认当前用户）")
@click.option("--problem", "problems", multiple=True, metavar="CODE", help="涉及的问题编号，可重复")
@click.option("--note", default="", help="跟进备注：作为备注写入每个涉及的问题")
@click.option("--new-problem", help="跟进：把督查发现的新问题登记到该项目（问题标题）")
@click.option("--category", help="新问题的类型：land、demolition、permit、funding、factor、other")
@click.option("--unit", help="新问题的责任单位（默认项目所属单位）")
@click.option("--description", default="", help="新问题的描述")
@attach_option
@json_option
@click.pass_obj
def inspect_cmd(
    app,
    project,
    finding,
    seen,
    checked,
    date_,
    place,
    inspectors,
    problems,
    note,
    new_problem,
    category,
    unit,
    description,
    attachments,
    as_json,
):
    """记录一次实地督查（看现场、查资料、留影像），可关联问题、写入跟进备注、登记新问题。"""
    from service.inspections import FollowUpProblem, InspectionService

    follow = FollowUpProblem(new_problem, category or "", description, unit) if new_problem else None
    svc = InspectionService(app.engine, app.rules, app.clock, app.service.store)
    with staged(app, attachments) as batch:
        info = svc.record(
            app.actor(),
            project,
            date_ or app.today(),
            seen,
            finding,
            inspectors=inspectors,
            place=place,
            checked=checked,
            problems=problems,
            note=note,
            new_problem=follow,
            attachments=batch,
        )
    data = info.as_dict(app.rules.timezone)

    def render(d):
        click.echo("已记录督查 " + _inspection_line(d))
        for p in d["problems"]:
            if p["logged"]:
                click.echo(f"  已登记新问题 {p['code']} {printable(p['title'])}")

    emit(as_json, data, render)


@click.command("inspections", cls=Command)
@click.option("--month", help="月份，如 2024-03（默认本月）")
@json_option
@click.pass_obj
def inspections_cmd(app, month, as_json):
    """列出一个月的督查记录和督查计划（应督查、已督查的项目）。"""
    from service.inspections import InspectionService
    from workflow.inspections import Month

    m = Month.parse(month) if month else Month.of(app.today())
    svc = InspectionService(app.engine, app.rules, app.clock)
    visits = [i.as_dict(app.rules.timezone) for i in svc.month(app.actor(), m)]
    plan = svc.plan(app.actor(), m)
    data = {
        "month": str(m),
        "inspections": visits,
        "plan": plan.as_dict(),
    }

    def render(d):
        click.echo(f"{m.label}：督查 {len(d['inspections'])} 次；应督查项目 {plan.due} 个，已督查 {plan.visited} 个")
        for i in d["inspections"]:
            click.echo("  " + printable(_inspection_line(i)))
        todo = [p for p in d["plan"]["projects"] if p["due"] and not p["visits"]]
        if todo:
            click.echo("未督查：" + "、".join(printable(f"{p['project']}（{p['unit']}）") for p in todo))

    emit(as_json, data, render)


COMMANDS: list[click.Command] = [attachments_cmd, attachment, inspect_cmd, inspections_cmd]
