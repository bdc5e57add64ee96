"""The report's chart sections: the figures of ``report_queries`` as HTML and inline SVG.

Pure: dataclasses in, escaped markup out. Each section function takes a
:class:`ReportData` and returns HTML (empty when it has nothing to show); the page lists
them in ``SECTIONS`` in reading order. A new kind of figure (A/B experiments: each arm's
estimate with its always-valid interval and the decision) is a query in
``report_queries``, a field of ``ReportData`` and a section function added there.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from streams.report.queries import (
    CategoryView,
    DriftView,
    EmbeddingView,
    Incident,
    LatencyView,
)
from streams.report.svg_chart import (
    Axis,
    Lane,
    Mark,
    Series,
    Threshold,
    histogram_pair,
    line_chart,
    timeline,
)

TIME = Axis("time", "UTC", time=True)


@dataclass
class ReportData:
    """Everything the chart sections draw."""

    drift: list[DriftView] = field(default_factory=list)
    categories: list[CategoryView] = field(default_factory=list)
    latency: list[LatencyView] = field(default_factory=list)
    embedding: list[EmbeddingView] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    retrains: list[tuple[float, str, str, str]] = field(default_factory=list)
    #: (model, variant, window end, ranking line): the drift's causes by estimated cost
    causes: list[tuple[str, str, float, str]] = field(default_factory=list)
    #: the same for category drift and for data quality
    category_causes: list[tuple[str, str, float, str]] = field(default_factory=list)
    quality_causes: list[tuple[str, str, float, str]] = field(default_factory=list)
    slo_threshold_s: float | None = None
    slo_objective: float | None = None


def what_moved(data: ReportData) -> str:
    """One line per flagged feature and segment (a categorical one names its category):
    the answer to "what moved?"; then, where the versions saved their importance, what it
    cost (:func:`causes_section`)."""
    if not data.drift and not data.categories:
        return "<p>No input drift was flagged.</p>" + causes_section(data)
    items = "".join(f"<li><b>{_e(v.feature)}</b> in segment <b>{_e(v.segment)}</b> of "
                    f"{_e(v.model)}/{_e(v.variant)}: PSI up to {_peak(v):.3g} "
                    f"(threshold {v.threshold:g})</li>" for v in data.drift)
    items += "".join(f"<li><b>{_e(c.feature)}</b> in segment <b>{_e(c.segment)}</b> of "
                     f"{_e(c.model)}/{_e(c.variant)}: category <b>{_e(c.category)}</b>"
                     f"{' (new)' if c.new else ''} in {c.share:.1%} of inputs (reference "
                     f"{c.expected:.1%}), PSI up to {c.psi:.3g}</li>" for c in data.categories)
    return f"<h2>What moved</h2><ul class='moved'>{items}</ul>" + causes_section(data)


def causes_section(data: ReportData) -> str:
    """Per model and variant, its latest drift's (then category drift's, then data
    quality's) causes ranked by estimated cost."""
    groups = (("", data.causes), (" (category drift)", data.category_causes),
              (" (data quality)", data.quality_causes))
    items = "".join(
        f"<li><b>{_e(model)}/{_e(variant)}</b>{kind}: "
        f"<ol class='causes'>{''.join(f'<li>{_e(c)}</li>' for c in _causes(line))}</ol></li>"
        for kind, rows in groups for model, variant, _, line in rows)
    if not items:
        return ""
    return ("<h3>Causes by estimated cost</h3><p>Each moved feature's share of moved mass "
            "times how much the model relies on it (permutation importance on the "
            "reference); for data quality, each input's share of bad values beyond the "
            "reference's times the same importance: where the model is hurt, not where PSI "
            f"or the bad share is largest.</p><ul>{items}</ul>")


def drift_section(data: ReportData) -> str:
    """Per flagged feature and segment: its histograms and its PSI per window."""
    return _section("Input drift", [_drift_group(v) for v in data.drift])


def latency_section(data: ReportData) -> str:
    """Per model and variant: latency quantiles against the thresholds, and the budget."""
    return _section("Latency and SLO", [_latency_group(v, data) for v in data.latency])


def embedding_section(data: ReportData) -> str:
    """Per model and variant: the share of inputs unlike the reference, per window."""
    return _section("Embedding drift", [_embedding_group(v) for v in data.embedding])


def incident_section(data: ReportData) -> str:
    if not data.incidents and not data.retrains:
        return ""
    end = max([i.ends_at or i.starts_at for i in data.incidents]
              + [t for t, *_ in data.retrains], default=0.0)
    lanes = [Lane(f"#{k + 1}",
                  [(i.starts_at, i.ends_at if i.ends_at is not None else end,
                    i.severity + ("" if i.ends_at is not None else " open"))],
                  [Mark(i.starts_at, "firing", f"fired: {i.summary}")]
                  + ([Mark(i.ends_at, "resolved", "resolved")] if i.ends_at is not None else []))
             for k, i in enumerate(data.incidents)]
    if data.retrains:
        lanes.append(Lane("retrain", (), [Mark(t, "retrain", f"retrain {m}: {r}")
                                          for t, m, r, _ in data.retrains]))
    chart = _figure("Incidents and retrain requests", timeline("incidents", lanes, x=TIME),
                    [("page", "incident (firing to resolved)"), ("firing", "fired"),
                     ("resolved", "resolved"), ("retrain", "retrain requested")])
    rows = "".join(f"<tr><td>#{k + 1}</td><td>{_e(i.summary)}</td><td>{_e(i.severity)}</td>"
                   f"<td>{'resolved' if i.ends_at is not None else 'open'}</td></tr>"
                   for k, i in enumerate(data.incidents))
    table = ("<div class='table-wrap'><table><tr><th>#</th><th>incident</th>"
             f"<th>severity</th><th>state</th></tr>{rows}</table></div>") if rows else ""
    return _section("Incidents", [f"<div class='charts'>{chart}</div>{table}"])


#: the chart sections, in reading order (add experiments here when A/B lands)
SECTIONS: Sequence[Callable[[ReportData], str]] = (
    what_moved, drift_section, latency_section, embedding_section, incident_section)


def _drift_group(v: DriftView) -> str:
    """One flagged feature's histograms (where a reference profile exists) and PSI."""
    name = f"{v.model}/{v.variant} · {v.feature} in {v.segment}"
    figs = []
    if v.bins:
        figs.append(_figure(
            f"{v.feature} in {v.segment}: reference vs last flagged window",
            histogram_pair(f"{name}: histograms", v.bins, v.reference, v.current,
                           x=Axis(f"{v.feature} bin", "reference deciles")),
            [("ref", "reference (model version " + v.version + ")"),
             ("cur", f"window of {v.n_current} rows")]))
    else:
        figs.append("<p>No reference profile was found for this model version, so "
                    "the histograms cannot be drawn.</p>")
    series = [Series(f"PSI of {v.feature} in {v.segment}", v.psi, "s0"),
              Series("largest PSI in the window", v.top_psi, "s2")]
    figs.append(_line_figure(
        f"PSI of {v.feature} in {v.segment} per window", f"{name}: PSI per window", series,
        Axis("PSI", "unitless"), [Threshold(v.threshold, f"threshold {v.threshold:g}")],
        v.marks))
    return _group(name, figs)


def _latency_group(v: LatencyView, data: ReportData) -> str:
    """One model's latency quantiles in ms, and its error budget where there is one."""
    name = f"{v.model}/{v.variant}"
    series = [Series(label, [(p[0], p[i] * 1000) for p in v.points], style)
              for i, label, style in ((1, "p50", "s0"), (2, "p99", "s1"), (3, "p99.9", "s2"))]
    lines = []
    if data.slo_threshold_s is not None:
        lines.append(Threshold(data.slo_threshold_s * 1000,
                               f"SLO threshold {data.slo_threshold_s * 1000:g} ms"))
    if v.alert_threshold_s is not None and v.alert_threshold_s != data.slo_threshold_s:
        lines.append(Threshold(v.alert_threshold_s * 1000,
                               f"alert threshold {v.alert_threshold_s * 1000:g} ms"))
    figs = [_line_figure(f"{name}: latency per {v.step_s} s", f"{name}: latency", series,
                         Axis("total latency", "ms"), lines, v.marks)]
    if v.budget:
        budget = Series("error budget remaining", [(t, b * 100) for t, b in v.budget], "s0")
        objective = (f" (objective {data.slo_objective:.4g})"
                     if data.slo_objective is not None else "")
        figs.append(_line_figure(
            f"{name}: latency SLO error budget remaining{objective}",
            f"{name}: error budget", [budget], Axis("budget remaining", "%"),
            [Threshold(0.0, "exhausted")], v.marks))
    return _group(name, figs)


def _embedding_group(v: EmbeddingView) -> str:
    """One model's novel share per window, in %."""
    name = f"{v.model}/{v.variant}"
    novel = Series("novel share", [(t, s * 100) for t, s in v.novel], "s1")
    return _group(name, [_line_figure(
        f"{name}: inputs unlike the reference, per window", f"{name}: novel share",
        [novel], Axis("novel share", "%"), [], v.marks)])


def _group(name: str, figures: Sequence[str]) -> str:
    """One model's (or feature's) figures under its heading, side by side where room."""
    return f"<h3>{_e(name)}</h3><div class='charts'>{''.join(figures)}</div>"


def _line_figure(caption: str, title: str, series: Sequence[Series], y: Axis,
                 thresholds: Sequence[Threshold], marks: Sequence[Mark]) -> str:
    """A line chart over time with its legend: the series, the thresholds, the marks."""
    return _figure(caption, line_chart(title, series, x=TIME, y=y, thresholds=thresholds,
                                       marks=marks),
                   [(s.style, s.name) for s in series] + [("thr", t.label) for t in thresholds]
                   + _mark_keys(marks))


def _figure(caption: str, svg: str, keys: Sequence[tuple[str, str]]) -> str:
    legend = "".join(f"<span class='key {_e(cls)}'>{_e(text)}</span>" for cls, text in keys)
    return (f"<figure><figcaption>{_e(caption)}</figcaption>{svg}"
            f"<p class='legend'>{legend}</p></figure>")


def _mark_keys(marks: Sequence[Mark]) -> list[tuple[str, str]]:
    kinds = {m.kind for m in marks}
    return [(k, f"alert {k}") for k in ("firing", "resolved") if k in kinds]


def _section(title: str, parts: list[str]) -> str:
    return f"<h2>{_e(title)}</h2>{''.join(parts)}" if parts else ""


def _causes(line: str) -> list[str]:
    """The causes of a ranking line (``by estimated cost: a ... (PSI x), b ...``)."""
    body = line.split(": ", 1)[-1]
    return [c if c.endswith(")") else f"{c})" for c in body.split("), ")] if body else []


def _peak(v: DriftView) -> float:
    return max((p for _, p in v.psi), default=0.0)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
