"""Write the dispatch report as HTML (charts inline as SVG) and as an Excel workbook (native Excel charts)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reports import charts
from reports.dispatch import DispatchReport
from workflow.rules import Rules
from workflow.states import Level

TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.globals.update(pct=pct, level_label=lambda v: Level(v).label)
    return env


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _when(moment: datetime, rules: Rules) -> str:
    return f"{moment.astimezone(rules.timezone):%Y-%m-%d %H:%M}"


def end_text(r: DispatchReport, rules: Rules) -> str:
    if r.complete:
        last = r.period.after.toordinal() - 1
        from datetime import date

        return f"{date.fromordinal(last):%Y年%m月%d日} 24:00"
    return f"{r.end.astimezone(rules.timezone):%Y年%m月%d日 %H:%M}"


def trend_chart(r: DispatchReport) -> str:
    days = [d for d, _, _ in r.daily]
    return charts.line_chart(
        "在办与本期累计销号（每日末）",
        days,
        [
            ("在办问题", charts.BLUE, [o for _, o, _ in r.daily]),
            ("本期累计销号", charts.GREEN, [c for _, _, c in r.daily]),
        ],
    )


def overdue_chart(r: DispatchReport) -> str:
    bars = sorted(((u.unit, u.overdue) for u in r.units if u.overdue), key=lambda b: (-b[1], b[0]))
    return charts.bar_chart("期末超期未办结问题（按责任单位）", bars, empty="期末无超期未办结问题")


def dispatch_html(r: DispatchReport, rules: Rules, generated: datetime) -> str:
    return (
        environment()
        .get_template("dispatch.html")
        .render(
            r=r,
            t=r.total,
            end_text=end_text(r, rules),
            generated=_when(generated, rules),
            chart_trend=trend_chart(r),
            chart_overdue=overdue_chart(r),
        )
    )


RANK_HEADERS = (
    "排名",
    "责任单位",
    "新交办",
    "办结销号",
    "按期销号",
    "按期率",
    "期末在办",
    "超期未办结",
    "红灯",
    "升级“13710”",
    "提交县政府会议",
    "平均办结天数",
    "调度记录",
)
RED_HEADERS = (
    "序号",
    "问题编号",
    "问题",
    "项目",
    "责任单位",
    "责任人",
    "分管领导",
    "包联县级领导",
    "当前层级",
    "办结时限",
    "超期天数",
)


def rank_row(u) -> list:
    return [
        u.rank or None,
        u.unit,
        u.new,
        u.closed,
        u.on_time,
        u.on_time_rate,
        u.open,
        u.overdue,
        u.red,
        u.to_13710,
        u.to_meeting,
        u.avg_days,
        u.dispatched,
    ]


def dispatch_xlsx(r: DispatchReport, rules: Rules, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    bold, head_fill = Font(bold=True), PatternFill("solid", fgColor="FFD9E1F2")
    wb = Workbook()
    ws = wb.active
    ws.title = "排名"
    ws.append([f"阳城县项目建设问题调度通报（{r.period.label}，统计至 {end_text(r, rules)}）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(RANK_HEADERS))
    for c in ws[2]:
        c.font, c.fill = bold, head_fill
        c.alignment = Alignment(horizontal="center", wrap_text=True)
    for u in r.units:
        ws.append(rank_row(u))
    total = rank_row(r.total)
    total[0] = None
    ws.append(total)
    for c in ws[ws.max_row]:
        c.font = bold
    for row in ws.iter_rows(min_row=3, min_col=6, max_col=6):
        row[0].number_format = "0.0%"
    for letter, width in zip("ABCDEFGHIJKLM", (6, 16, 8, 9, 9, 8, 9, 10, 6, 11, 13, 12, 11)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "C3"
    ws.auto_filter.ref = f"A2:M{2 + len(r.units)}"

    red = wb.create_sheet("红灯事项")
    red.append(list(RED_HEADERS))
    for c in red[1]:
        c.font, c.fill = bold, head_fill
    for i, x in enumerate(r.red, start=1):
        red.append(
            [
                i,
                x.code,
                x.title,
                x.project,
                x.unit,
                x.person,
                x.leader,
                x.project_leader,
                Level(x.level).label,
                x.deadline,
                x.days_overdue,
            ]
        )
        red.cell(red.max_row, 10).number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEFGHIJK", (6, 15, 40, 28, 14, 10, 10, 12, 16, 12, 9)):
        red.column_dimensions[letter].width = width
    red.freeze_panes = "A2"

    trend = wb.create_sheet("每日走势")
    trend.append(["日期", "在办问题", "本期累计销号"])
    for d, o, c in r.daily:
        trend.append([d, o, c])
        trend.cell(trend.max_row, 1).number_format = "yyyy-mm-dd"
    trend.column_dimensions["A"].width = 12
    if r.daily:
        chart = LineChart()
        chart.title, chart.y_axis.title, chart.height, chart.width = "在办与本期累计销号", "个", 8, 18
        chart.add_data(
            Reference(trend, min_col=2, max_col=3, min_row=1, max_row=len(r.daily) + 1), titles_from_data=True
        )
        chart.set_categories(Reference(trend, min_col=1, min_row=2, max_row=len(r.daily) + 1))
        chart.x_axis.number_format = "m/d"
        trend.add_chart(chart, "E2")

    over = wb.create_sheet("超期分布")
    over.append(["责任单位", "超期未办结"])
    bars = sorted(((u.unit, u.overdue) for u in r.units if u.overdue), key=lambda b: (-b[1], b[0]))
    for unit, n in bars:
        over.append([unit, n])
    over.column_dimensions["A"].width = 16
    if bars:
        chart = BarChart()
        chart.type, chart.title, chart.height, chart.width = "bar", "期末超期未办结（按单位）", 8, 18
        chart.add_data(Reference(over, min_col=2, min_row=1, max_row=len(bars) + 1), titles_from_data=True)
        chart.set_categories(Reference(over, min_col=1, min_row=2, max_row=len(bars) + 1))
        chart.legend = None
        over.add_chart(chart, "D2")
    wb.save(path)


def write_dispatch(r: DispatchReport, rules: Rules, out_dir: Path, generated: datetime) -> list[Path]:
    html = out_dir / f"dispatch-{r.period.slug}.html"
    xlsx = out_dir / f"dispatch-{r.period.slug}.xlsx"
    html.write_text(dispatch_html(r, rules, generated), encoding="utf-8")
    dispatch_xlsx(r, rules, xlsx)
    return [html, xlsx]
