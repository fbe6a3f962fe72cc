"""Charts as inline SVG, drawn by hand: no plotting library and no font files on the server.

The text is SVG ``<text>`` that the reader's browser renders with its own Chinese fonts (the
``font-family`` list covers Windows, macOS, Linux and Android), so the server needs no CJK font and the
output is byte-for-byte reproducible — tests compare it directly. Pure: data in, markup out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

FONT = "'Microsoft YaHei','PingFang SC','Noto Sans CJK SC','WenQuanYi Zen Hei','SimHei',sans-serif"
BLUE, GREEN, RED, GREY, INK = "#2f6db5", "#2e8b57", "#c00000", "#d0d0d0", "#333333"


def _nice_step(maximum: int, ticks: int = 5) -> int:
    raw = max(maximum, 1) / ticks
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000):
        if step >= raw:
            return step
    return int(raw) + 1


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-family="{FONT}" font-size="12">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def line_chart(
    title: str,
    days: Sequence[date],
    series: Sequence[tuple[str, str, Sequence[int]]],
    width: int = 760,
    height: int = 300,
    tick=None,
) -> str:
    """One line per (name, colour, values), one point per day; integer y axis from 0. ``tick`` words an
    x-axis label (default "1/16" from a date)."""
    left, right, top, bottom = 48, 16, 40, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, _, values in series for v in values), default=0)
    step = _nice_step(peak)
    y_max = max(step, -(-peak // step) * step)
    n = len(days)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    body = [f'<text x="{left}" y="20" font-size="14" font-weight="bold" fill="{INK}">{escape(title)}</text>']
    for v in range(0, y_max + 1, step):
        body.append(
            f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + plot_w}" y2="{y(v):.1f}" stroke="{GREY}" '
            f'stroke-width="{1 if v else 1.5}"/>'
        )
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="{INK}">{v}</text>')
    every = max(1, -(-n // 8))
    for i, d in enumerate(days):
        if i % every == 0 or (i == n - 1 and i % every >= every / 2):
            body.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle" fill="{INK}">'
                f"{escape(tick(d)) if tick else f'{d.month}/{d.day}'}</text>"
            )
    for k, (name, colour, values) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        if values:
            body.append(
                f'<text x="{x(len(values) - 1) + 4:.1f}" y="{y(values[-1]) - 6:.1f}" text-anchor="end" '
                f'fill="{colour}" font-weight="bold">{values[-1]}</text>'
            )
        lx = left + plot_w - 110 * max(len(series), 2) + k * 110
        body.append(f'<rect x="{lx}" y="10" width="14" height="4" fill="{colour}"/>')
        body.append(f'<text x="{lx + 20}" y="16" fill="{INK}">{escape(name)}</text>')
    return _svg(width, height, title, body)


def bar_chart(
    title: str, bars: Sequence[tuple[str, int]], colour: str = RED, width: int = 760, empty: str = "无"
) -> str:
    """Horizontal bars, one per (label, value), in the order given."""
    left, right, top, row = 150, 48, 36, 26
    height = top + max(len(bars), 1) * row + 16
    plot_w = width - left - right
    peak = max((v for _, v in bars), default=0)
    body = [f'<text x="10" y="20" font-size="14" font-weight="bold" fill="{INK}">{escape(title)}</text>']
    if not bars:
        body.append(f'<text x="{left}" y="{top + 16}" fill="{INK}">{escape(empty)}</text>')
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        w = plot_w * value / peak if peak else 0
        body.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" fill="{INK}">{escape(label)}</text>')
        body.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{colour}"/>')
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}" fill="{INK}">{value}</text>')
    return _svg(width, height, title, body)
