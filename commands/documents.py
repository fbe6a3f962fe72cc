"""The office's documents and records: the 督办函 register (``letters``, ``letter sign|get|reply|show``), campaigns
(``campaign add|show|list|include``) and the monthly assessment and campaign summary reports (``report
assessment``, ``report campaign``). Thin calls into ``service``."""

from __future__ import annotations

import click

from commands.reports import _out_dir, report
from commands.support import Command, Group, emit, json_option, printable, table


@click.command("letters", cls=Command)
@click.option("--status", help="状态：draft 待签发、signed 已签发、replied 已回复、closed 已办结、void 已作废")
@json_option
@click.pass_obj
def letters_cmd(app, status, as_json):
    """督办函登记簿：文号、日期、主送单位、问题、办理节点、状态、回复。"""
    from service import letters

    rows = letters.register(app.engine, app.actor(), app.today(), status)

    def render(items):
        if not items:
            click.echo("登记簿中还没有督办函")
            return
        table(
            ["ID", "文号", "状态", "问题", "主送单位", "成文日期", "研究部署", "反馈", "落实", "签发人", "回复"],
            [
                [
                    r["id"],
                    r["number"] or "（待签发）",
                    r["status_label"] + ("（逾期未回复）" if r["unanswered"] else ""),
                    f"{r['problem']} {r['title']}",
                    r["unit"],
                    r["issued"],
                    r["milestones"]["deploy"] or "—",
                    r["milestones"]["feedback"] or "—",
                    r["milestones"]["settle"] or "—",
                    r["signer"] or "—",
                    (r["reply"][:40] + "…") if len(r["reply"]) > 40 else r["reply"] or "—",
                ]
                for r in items
            ],
            title="督办函登记簿",
        )

    emit(as_json, rows, render)


@click.group("letter", cls=Group)
def letter():
    """一份督办函：查看、签发、下载、回复。"""


def _print_letter(d: dict) -> None:
    head = d["number"] or f"督办函 #{d['id']}（待签发，签发后文号预计为 {d.get('expected_number', '—')}）"
    click.echo(f"{head}  状态：{d['status_label']}  问题：{d['problem']} {printable(d['title'])}")
    click.echo(
        f"主送：{d['unit']}  成文日期：{d['issued']}  节点：研究部署 {d['milestones']['deploy']}，"
        f"反馈 {d['milestones']['feedback']}，落实 {d['milestones']['settle']}"
    )
    if d.get("signer"):
        click.echo(f"签发：{d['signer']}（{d['signed_at']}）")
    if d.get("reply"):
        click.echo(f"回复（{d['replied_at']}）：{printable(d['reply'])}")
    if d.get("problem_with_text"):
        click.echo(f"提示：{d['problem_with_text']}")
    for line in d.get("text", []):
        click.echo(f"    {printable(line)}")


@letter.command("show")
@click.argument("letter_id", metavar="ID", type=int)
@json_option
@click.pass_obj
def letter_show(app, letter_id, as_json):
    """查看督办函（待签发的显示签发前的全文）。"""
    from service import letters

    emit(as_json, letters.get(app.engine, app.actor(), letter_id, app.today(), app.rules), _print_letter)


@letter.command("sign")
@click.argument("letter_id", metavar="ID", type=int)
@json_option
@click.pass_obj
def letter_sign(app, letter_id, as_json):
    """签发督办函（督查室人员）：分配当年文号，生成 PDF，随通知发给责任单位。"""
    from service import letters

    d = letters.sign(app.engine, app.rules, app.actor(), letter_id, app.now)
    emit(as_json, d, lambda d: click.echo(f"已签发 {d['number']}（督办函 #{d['id']}，问题 {d['problem']}）"))


@letter.command("get")
@click.argument("letter_id", metavar="ID", type=int)
@click.argument("path", metavar="PATH.pdf|PATH.docx")
@click.pass_obj
def letter_get(app, letter_id, path):
    """下载已签发的督办函：.pdf（签发时生成的原件）或 .docx（可在 WPS/Word 中编辑）。"""
    from pathlib import Path

    from service import letters

    target = Path(path)
    name, data = letters.letter_file(app.engine, app.actor(), letter_id, target.suffix.lower(), app.rules)
    target.write_bytes(data)
    click.echo(f"已保存 {name} 到 {target}")


@letter.command("reply")
@click.argument("letter_id", metavar="ID", type=int)
@click.option("--text", required=True, help="回复内容（即“13710”反馈办理情况）")
@json_option
@click.pass_obj
def letter_reply(app, letter_id, text, as_json):
    """回复督办函（责任单位）：作为问题的“反馈办理情况”记入办理记录，登记簿状态改为已回复。"""
    from service import letters

    d = letters.reply(app.engine, app.rules, app.actor(), letter_id, text, app.now)
    emit(as_json, d, lambda d: click.echo(f"已回复 {d['number']}（问题 {d['problem']}）"))


# -- campaigns ------------------------------------------------------------------------------------------------


@click.group("campaign", cls=Group)
def campaign():
    """专项行动（如冬季行动）：登记、进度、纳入问题。"""


def _print_campaign(d: dict) -> None:
    rate = "—" if d["rate"] is None else f"{d['rate'] * 100:.1f}%"
    when = "已结束" if d["ended"] else (f"剩余 {d['days_left']} 天" if d["started"] else "尚未开始")
    click.echo(f"{d['name']}（{d['start']} 至 {d['end']}，{when}）目标：{d['target_label']}")
    click.echo(
        f"  问题 {d['total']} 个：未销号 {d['open']}，已销号 {d['closed']}（销号率 {rate}，"
        f"{'已达到' if d['met'] else '未达到'}目标），超期 {d['overdue']}"
        + (f"，办结时限晚于行动结束 {d['deadline_after_end']}" if d["deadline_after_end"] else "")
    )


@campaign.command("add", cls=Command)
@click.argument("name")
@click.option("--start", required=True, help="开始日期，如 2023-11-01")
@click.option("--end", required=True, help="结束日期，如 2024-02-20")
@click.option("--target", help="目标：期末销号率（%），如 90；不填或“全部解决”为 100")
@json_option
@click.pass_obj
def campaign_add(app, name, start, end, target, as_json):
    """登记一个专项行动（管理员或督查室）。"""
    from service import campaigns

    c = campaigns.add(
        app.engine,
        app.rules,
        app.actor(),
        name,
        campaigns.parse_day(start, "开始日期", "start"),
        campaigns.parse_day(end, "结束日期", "end"),
        target,
        app.now,
    )
    d = campaigns.show(app.engine, app.rules, app.actor(), c.name, app.today())
    emit(as_json, d, _print_campaign)


@campaign.command("show", cls=Command)
@click.argument("name")
@json_option
@click.pass_obj
def campaign_show(app, name, as_json):
    """专项行动进度：未销号、已销号、超期问题数，距结束天数，对照目标。"""
    from service import campaigns

    emit(as_json, campaigns.show(app.engine, app.rules, app.actor(), name, app.today()), _print_campaign)


@campaign.command("list", cls=Command)
@json_option
@click.pass_obj
def campaign_list(app, as_json):
    """全部专项行动（规则文件中的和登记的）。"""
    from service import campaigns

    rows = campaigns.listing(app.engine, app.rules, app.actor(), app.today())
    emit(as_json, rows, lambda rows: [_print_campaign(d) for d in rows] or click.echo("没有专项行动"))


@campaign.command("include", cls=Command)
@click.argument("name")
@click.argument("codes", nargs=-1, required=True, metavar="CODE...")
@click.pass_obj
def campaign_include(app, name, codes):
    """把问题纳入专项行动（行动开始前登记的问题）。"""
    from service import campaigns

    n = campaigns.include(app.engine, app.rules, app.actor(), name, codes, app.now)
    click.echo(f"已纳入「{name}」{n} 个问题" + ("" if n == len(set(codes)) else "（其余已在行动中）"))


# -- reports --------------------------------------------------------------------------------------------------


@report.command("assessment", cls=Command)
@click.option("--month", required=True, help="考核月份，如 2024-01（考核期为上月25日至本月24日）")
@click.option("--out", "out", default=".", show_default=True, help="输出目录")
@json_option
@click.pass_obj
def report_assessment(app, month, out, as_json):
    """月度考核通报：各单位问题办理得分、分组排名（HTML + Word + PDF）；督查室、管理员运行时保存得分。"""
    from reports.assessment import assessment_pdf, write_assessment
    from service import assessment

    a = assessment.compute(app.engine, app.rules, month, app.now, app.actor())
    pdf = assessment_pdf(a, app.rules)
    kept = assessment.may_keep(app.engine, app.actor())
    if kept:
        assessment.keep(app.engine, a, app.actor(), app.now, pdf)
    files = write_assessment(a, app.rules, _out_dir(out), pdf)
    if as_json:
        emit(True, {**a.as_dict(), "kept": kept, "files": [str(f) for f in files]}, None)
        return
    click.echo(f"{a.month.label}考核（考核期 {a.period}）：{len(a.rows)} 个单位" + ("，得分已保存" if kept else ""))
    for group in a.groups:
        members = [r for r in a.rows if r.group == group]
        if members:
            shown = "、".join(f"{r.rank}.{r.unit} {r.score:.2f}" + ("（末位）" if r.bottom else "") for r in members)
            click.echo(f"  {group}：{shown}")
    for f in files:
        click.echo(f"已生成 {f}")


@report.command("campaign", cls=Command)
@click.argument("name")
@click.option("--out", "out", default=".", show_default=True, help="输出目录")
@json_option
@click.pass_obj
def report_campaign(app, name, out, as_json):
    """专项行动总结：目标完成情况、各单位和各类问题的销号情况、未销号问题清单（HTML + Word）。"""
    from reports.campaign import build, write_campaign

    summary = build(app.engine, app.rules, name, app.today(), app.actor())
    files = write_campaign(summary, app.rules, _out_dir(out))
    if as_json:
        emit(True, {**summary, "files": [str(f) for f in files]}, None)
        return
    _print_campaign(summary["progress"])
    for f in files:
        click.echo(f"已生成 {f}")


COMMANDS: list = [letters_cmd, letter, campaign]
