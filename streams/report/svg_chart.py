"""Inline SVG charts for the HTML report: pure functions from figures to markup.

No I/O and no JavaScript: each function returns one ``<svg>`` element whose colours
come from CSS classes (the page's style sheet sets them, so dark mode is one media
query). Every text is escaped. Every drawn datum carries the class ``mark``, so a test
can tell a chart that drew something from an empty frame.

Examples
--------
>>> svg = line_chart("p99", [Series("p99", [(0.0, 1.0), (60.0, 2.0)])],
...                  x=Axis("time", "UTC", time=True), y=Axis("latency", "ms"),
...                  thresholds=[Threshold(1.5, "SLO 1.5 ms")])
>>> svg.startswith("<svg") and 'class="mark line s0"' in svg and "SLO 1.5 ms" in svg
True
>>> "&lt;b&gt;" in histogram_pair("<b>", ["a"], [0.5], [0.7], x=Axis("f2", "bin"))
True
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Axis", "Lane", "Mark", "Series", "Threshold", "histogram_pair", "line_chart",
           "nice_ticks", "timeline"]

W, H = 480, 250
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 14, 44
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200,
               86400)
#: at most this many points get a dot; beyond it the line alone is readable
_DOTS_MAX = 80


@dataclass(frozen=True)
class Axis:
    """An axis: what it measures and in which unit (``time`` draws UTC clock ticks)."""

    label: str
    unit: str
    time: bool = False


@dataclass(frozen=True)
class Series:
    """A named line of (x, y) points; ``style`` picks its colour class (s0..s3)."""

    name: str
    points: Sequence[tuple[float, float]]
    style: str = "s0"


@dataclass(frozen=True)
class Threshold:
    """A horizontal line the values are judged against."""

    value: float
    label: str


@dataclass(frozen=True)
class Mark:
    """A moment: ``kind`` is ``firing``, ``resolved`` or ``retrain``."""

    x: float
    kind: str
    label: str


@dataclass(frozen=True)
class Lane:
    """A row of a timeline: spans (start, end, kind) and moments on it."""

    name: str
    spans: Sequence[tuple[float, float, str]] = ()
    marks: Sequence[Mark] = field(default_factory=tuple)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``: steps of 1, 2 or 5 times a power of ten.

    >>> nice_ticks(0.0, 0.93)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(5.0, 5.0)
    [4.0, 4.5, 5.0, 5.5, 6.0]
    """
    if not hi > lo:
        pad = abs(lo) * 0.2 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    return [round(first + i * step, 12)
            for i in range(math.ceil((hi - first) / step - 1e-9) + 1)]


class _Frame:
    """The plot area's scales, from data ranges to SVG coordinates."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float], x_axis: Axis) -> None:
        self.x_axis = x_axis
        x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
        if x_hi <= x_lo:
            x_lo, x_hi = x_lo - 1.0, x_hi + 1.0
        self.x_lo, self.x_hi = x_lo, x_hi
        self.yticks = nice_ticks(min(ys, default=0.0), max(ys, default=1.0))
        self.y_lo, self.y_hi = self.yticks[0], self.yticks[-1]

    def x(self, v: float) -> float:
        return LEFT + (v - self.x_lo) / (self.x_hi - self.x_lo) * (W - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return H - BOTTOM - (v - self.y_lo) / (self.y_hi - self.y_lo) * (H - TOP - BOTTOM)

    def axes(self, y_axis: Axis) -> list[str]:
        out = []
        for t in self.yticks:
            out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{self.y(t):.1f}" '
                       f'y2="{self.y(t):.1f}"/>')
            out.append(f'<text class="tick" x="{LEFT - 4}" y="{self.y(t) + 4:.1f}" '
                       f'text-anchor="end">{_num(t)}</text>')
        for t in _x_ticks(self.x_lo, self.x_hi, self.x_axis.time):
            label = _x_label(t, self.x_axis.time, self.x_hi - self.x_lo)
            out.append(f'<text class="tick" x="{self.x(t):.1f}" y="{H - BOTTOM + 15}" '
                       f'text-anchor="middle">{label}</text>')
        out.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" '
                   f'y2="{H - BOTTOM}"/><line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" '
                   f'y2="{H - BOTTOM}"/>')
        out.append(_axis_titles(self.x_axis, y_axis))
        return out


def line_chart(title: str, series: Sequence[Series], *, x: Axis, y: Axis,
               thresholds: Sequence[Threshold] = (), marks: Sequence[Mark] = (),
               y_min: float | None = 0.0) -> str:
    """Lines over x (time, usually), with threshold lines and vertical moment marks."""
    xs = [p[0] for s in series for p in s.points] + [m.x for m in marks]
    ys = [p[1] for s in series for p in s.points if math.isfinite(p[1])]
    ys += [t.value for t in thresholds] + ([y_min] if y_min is not None else [])
    frame = _Frame(xs, ys, x)
    parts = frame.axes(y)
    for t in thresholds:
        yy = frame.y(t.value)
        parts.append(f'<line class="threshold" x1="{LEFT}" x2="{W - RIGHT}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}"/><text class="threshold-label" x="{W - RIGHT - 2}" '
                     f'y="{yy - 4:.1f}" text-anchor="end">{_esc(t.label)}</text>')
    for s in series:
        pts = [(frame.x(a), frame.y(b)) for a, b in s.points if math.isfinite(b)]
        if not pts:
            continue
        coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        parts.append(f'<polyline class="mark line {_esc(s.style)}" points="{coords}">'
                     f"<title>{_esc(s.name)}</title></polyline>")
        if len(pts) <= _DOTS_MAX:
            parts.extend(f'<circle class="mark dot {_esc(s.style)}" cx="{a:.1f}" cy="{b:.1f}" '
                         f'r="2.5"/>' for a, b in pts)
    parts.extend(_moment(frame, m) for m in marks)
    return _svg(title, parts)


def histogram_pair(title: str, bins: Sequence[str], reference: Sequence[float],
                   current: Sequence[float], *, x: Axis,
                   y: Axis = Axis("share of rows", "%")) -> str:
    """Reference and current shares per bin, side by side (values are percentages)."""
    if not len(bins) == len(reference) == len(current):
        raise ValueError(f"histogram_pair: {len(bins)} bins but {len(reference)} reference "
                         f"and {len(current)} current values")
    ticks = nice_ticks(0.0, max([*reference, *current, 1.0]))
    top = ticks[-1]
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    slot = plot_w / max(1, len(bins))
    parts = []
    for t in ticks:
        yy = H - BOTTOM - t / top * plot_h
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{yy:.1f}" '
                     f'y2="{yy:.1f}"/><text class="tick" x="{LEFT - 4}" y="{yy + 4:.1f}" '
                     f'text-anchor="end">{_num(t)}</text>')
    for i, (name, ref, cur) in enumerate(zip(bins, reference, current, strict=True)):
        x0 = LEFT + i * slot
        for j, (value, cls) in enumerate(((ref, "ref"), (cur, "cur"))):
            height = max(0.0, value) / top * plot_h
            parts.append(
                f'<rect class="mark bar {cls}" x="{x0 + slot * (0.1 + 0.4 * j):.1f}" '
                f'y="{H - BOTTOM - height:.1f}" width="{slot * 0.38:.1f}" height="{height:.1f}">'
                f"<title>{_esc(name)}: {'reference' if cls == 'ref' else 'current'} "
                f"{value:.1f}%</title></rect>")
        if len(bins) <= 12:
            parts.append(f'<text class="tick bin" x="{x0 + slot / 2:.1f}" '
                         f'y="{H - BOTTOM + 15}" text-anchor="middle">{_esc(name)}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" '
                 f'y2="{H - BOTTOM}"/>')
    parts.append(_axis_titles(x, y))
    return _svg(title, parts)


def timeline(title: str, lanes: Sequence[Lane], *, x: Axis) -> str:
    """One row per lane: spans as bars (an incident's firing to resolved), moments as ticks."""
    xs = [v for lane in lanes for s in lane.spans for v in s[:2]]
    xs += [m.x for lane in lanes for m in lane.marks]
    frame = _Frame(xs, [0.0, 1.0], x)
    row = (H - TOP - BOTTOM) / max(1, len(lanes))
    parts = [_axis_titles(x, Axis("", ""))]
    for t in _x_ticks(frame.x_lo, frame.x_hi, x.time):
        parts.append(f'<line class="grid" x1="{frame.x(t):.1f}" x2="{frame.x(t):.1f}" '
                     f'y1="{TOP}" y2="{H - BOTTOM}"/><text class="tick" x="{frame.x(t):.1f}" '
                     f'y="{H - BOTTOM + 15}" text-anchor="middle">'
                     f"{_x_label(t, x.time, frame.x_hi - frame.x_lo)}</text>")
    for i, lane in enumerate(lanes):
        y0 = TOP + i * row
        parts.append(f'<text class="lane" x="{LEFT - 4}" y="{y0 + row / 2 + 4:.1f}" '
                     f'text-anchor="end">{_esc(_short(lane.name, 9))}<title>{_esc(lane.name)}'
                     "</title></text>")
        for start, end, kind in lane.spans:
            x0, x1 = frame.x(start), frame.x(end)
            parts.append(f'<rect class="mark span {_esc(kind)}" x="{x0:.1f}" '
                         f'y="{y0 + row * 0.2:.1f}" width="{max(2.0, x1 - x0):.1f}" '
                         f'height="{row * 0.6:.1f}"><title>{_esc(lane.name)}: {_esc(kind)}'
                         "</title></rect>")
        for m in lane.marks:
            xx = frame.x(m.x)
            half = min(row * 0.4, 9.0)
            parts.append(f'<path class="mark moment {_esc(m.kind)}" '
                         f'd="M{xx:.1f},{y0 + row / 2 - half:.1f} l6,{half:.1f} l-6,{half:.1f} '
                         f'l-6,-{half:.1f} z">'
                         f"<title>{_esc(m.label)}</title></path>")
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" '
                 f'y2="{H - BOTTOM}"/>')
    return _svg(title, parts)


def _moment(frame: _Frame, m: Mark) -> str:
    xx = frame.x(m.x)
    return (f'<g class="mark moment {_esc(m.kind)}"><line x1="{xx:.1f}" x2="{xx:.1f}" y1="{TOP}" '
            f'y2="{H - BOTTOM}"/><path d="M{xx - 5:.1f},{TOP} h10 l-5,8 z"/>'
            f"<title>{_esc(m.label)}</title></g>")


def _axis_titles(x: Axis, y: Axis) -> str:
    out = (f'<text class="axis-title" x="{(LEFT + W - RIGHT) / 2:.0f}" y="{H - 8}" '
           f'text-anchor="middle">{_esc(_titled(x))}</text>')
    if y.label:
        out += (f'<text class="axis-title" transform="translate(13,{(TOP + H - BOTTOM) / 2:.0f}) '
                f'rotate(-90)" text-anchor="middle">{_esc(_titled(y))}</text>')
    return out


def _svg(title: str, parts: list[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
            f'aria-label="{_esc(title)}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{_esc(title)}</title>{''.join(parts)}</svg>")


def _x_ticks(lo: float, hi: float, time: bool) -> list[float]:
    if not time:
        return [t for t in nice_ticks(lo, hi) if lo <= t <= hi]
    span = hi - lo
    step = next((s for s in _TIME_STEPS if span / s <= 5), 86400 * math.ceil(span / 5 / 86400))
    first = math.ceil(lo / step) * step
    ticks = [first + i * step for i in range(int((hi - first) // step) + 1)]
    # a clock label is ~50 units wide: keep it inside the frame
    return [t for t in ticks if (t - lo) / (hi - lo) * (W - LEFT - RIGHT) <= W - LEFT - RIGHT - 24]


def _x_label(v: float, time: bool, span: float) -> str:
    if not time:
        return _num(v)
    fmt = "%H:%M:%S" if span < 600 else "%H:%M" if span < 86400 * 2 else "%m-%d %H:%M"
    return dt.datetime.fromtimestamp(v, dt.UTC).strftime(fmt)


def _titled(axis: Axis) -> str:
    return f"{axis.label} ({axis.unit})" if axis.unit else axis.label


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10_000 else f"{v:.4g}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)
