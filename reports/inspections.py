"""The month's inspection bulletin (督查通报): how many due projects were visited, what each visit found (with
its photos' thumbnails, when and where they were taken), which units are named (点名) for 进展缓慢 or 问题属实,
and which due projects are still to be visited. Data first (``build``), then HTML (``bulletin_html``, photos
embedded, print-ready) and Word (``reports.inspections_docx``).
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from models.db import reader
from models.db import session as open_session
from service import attachments, directory
from service.inspections import InspectionInfo, InspectionService
from workflow.inspections import Finding, Month, Named, Plan, named_units
from workflow.permissions import Manage, require
from workflow.rules import Rules


@dataclass
class Bulletin:
    month: Month
    generated: datetime
    plan: Plan
    inspections: list[InspectionInfo]
    named: list[Named]
    thumbs: dict[int, bytes] = field(default_factory=dict)  # attachment id → JPEG thumbnail

    @property
    def findings(self) -> dict[Finding, int]:
        counts = Counter(i.finding for i in self.inspections)
        return {f: counts.get(f, 0) for f in Finding}

    @property
    def outstanding(self) -> list:
        return [p for p in self.plan.projects if p.due and not p.visited]

    def as_dict(self) -> dict:
        return {
            "month": str(self.month),
            "due": self.plan.due,
            "visited": self.plan.visited,
            "inspections": len(self.inspections),
            "findings": {f.value: n for f, n in self.findings.items()},
            "named": [{"unit": n.unit, "reasons": list(n.reasons)} for n in self.named],
            "outstanding": [{"project": p.project, "unit": p.unit} for p in self.outstanding],
        }


def build(engine, rules: Rules, month: Month, now: datetime, login: str) -> Bulletin:
    with open_session(reader(engine)) as s:
        require(Manage.REPORTS, directory.view(s).actor(login))
    svc = InspectionService(engine, rules, lambda: now)
    visits = svc.month(login, month)
    named = named_units([(unit, v.project, v.finding) for v in visits for unit in v.units])
    ids = [f.id for v in visits for f in v.files if f.has_thumbnail]
    with open_session(reader(engine)) as s:
        thumbs = attachments.thumbnails(s, ids)
    return Bulletin(month, now, svc.plan(login, month), visits, named, thumbs)


def caption(f) -> str:
    """Under a photo: when and where the camera says it was taken."""
    parts = []
    if f.meta.get("taken_at"):
        parts.append("拍摄于 " + f.meta["taken_at"].replace("T", " ")[:16])
    gps = f.meta.get("gps")
    if gps:
        parts.append(place(gps))
    return "，".join(parts) or "（照片未记录拍摄时间和位置）"


def place(gps: dict) -> str:
    """GPS as people read it: 北纬 35.48640° 东经 112.41470° (WGS-84, as the phone recorded it)."""
    lat, lon = gps["lat"], gps["lon"]
    return f"{'北纬' if lat >= 0 else '南纬'} {abs(lat):.5f}° {'东经' if lon >= 0 else '西经'} {abs(lon):.5f}°"


def bulletin_html(b: Bulletin, rules: Rules) -> str:
    from reports.dispatch_render import environment

    def data_uri(attachment_id: int) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(b.thumbs[attachment_id]).decode("ascii")

    return (
        environment()
        .get_template("inspections.html")
        .render(
            b=b,
            generated=f"{b.generated.astimezone(rules.timezone):%Y-%m-%d %H:%M}",
            data_uri=data_uri,
            caption=caption,
        )
    )


def write_bulletin(b: Bulletin, rules: Rules, out_dir: Path) -> list[Path]:
    from reports.inspections_docx import bulletin_docx

    html = out_dir / f"inspections-{b.month}.html"
    docx = out_dir / f"inspections-{b.month}.docx"
    html.write_text(bulletin_html(b, rules), encoding="utf-8")
    bulletin_docx(b, rules, docx)
    return [html, docx]
