"""A self-contained HTML report of a run, read back from ClickHouse.

For people without a Grafana at hand, and for the on-call engineer after a page: what
moved (each flagged feature and segment, its reference and current histograms, its PSI
per window against the threshold with the alert's marks), latency quantiles against the
SLO and the error budget left, the novel share of embedding-monitored models, a timeline
of incidents and retrain requests (``streams/report/views.py``), then the tables: traffic
and latency, every flagged window with its explanation, alerts, each experiment's latest
look, retrain requests and the policy's decisions, each candidate's validation checks,
model versions and alias moves, the accuracy estimated before labels, what a prediction
costs per model version, and dead letters.
One file: inline SVG and CSS, no script, nothing fetched. Every value is HTML-escaped:
labels and evidence come from events.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detectors.reference.profile import ReferenceProfile
from streams.report.queries import (
    CATEGORY,
    QUALITY,
    ProfileLookup,
    category_views,
    cause_rankings,
    drift_views,
    embedding_views,
    incidents,
    latency_views,
    retrain_requests,
)
from streams.report.utc_time import utc_stamp
from streams.report.views import SECTIONS, ReportData
from streams.settings import CostSettings
from streams.storage.clickhouse_store import ClickHouseStore

#: the table priced with INFERWATCH_COST_* (its query takes the prices as parameters)
COST_TABLE = "What a prediction costs (per 1,000 predictions, per model version)"
_QUERIES = {
    "Traffic and latency": (
        ("model", "variant", "predictions", "errors", "p50 ms", "p99 ms"),
        "SELECT model, variant, count(), countIf(error IS NOT NULL), "
        "round(quantileExact(0.5)(total_s) * 1000, 1), "
        "round(quantileExact(0.99)(total_s) * 1000, 1) "
        "FROM predictions GROUP BY model, variant ORDER BY model, variant"),
    "Flagged windows (the explanation)": (
        ("time", "detector", "model", "variant", "segment", "statistic", "threshold",
         "p-value", "evidence"),
        "SELECT ts, detector, model, variant, segment, round(statistic, 4), threshold, "
        "p_value, evidence FROM detector_reports WHERE decision != 'ok' "
        "ORDER BY ts DESC LIMIT 200"),
    "Alerts": (
        ("fingerprint", "status", "severity", "model", "detector", "summary", "description"),
        "SELECT fingerprint, status, severity, model, detector, summary, description "
        "FROM alerts ORDER BY starts_at, status"),
    "Experiments (latest look per experiment)": (
        ("time", "experiment", "model", "champion", "challenger", "action", "metric",
         "challenger - champion", "lower", "upper", "p-value", "champion n", "challenger n",
         "SRM p-value", "reason"),
        "SELECT ts, experiment, model, champion, challenger, action, metric, round(estimate, 4), "
        "round(lower, 4), round(upper, 4), p_value, n_champion, n_challenger, srm_p_value, "
        "reason FROM experiment_decisions FINAL ORDER BY ts DESC LIMIT 1 BY experiment"),
    "Retrain requests": (
        ("time", "model", "reason", "id"),
        "SELECT requested_at, model, reason, id FROM retrain_events ORDER BY requested_at"),
    "Retrain decisions (requested, or suppressed and why)": (
        ("time", "model", "decision", "reason", "retrain id"),
        "SELECT ts, model, status, reason, retrain_id FROM retrain_decisions ORDER BY ts"),
    "Validations of retrained candidates against the champion": (
        ("time", "model", "candidate", "champion", "check", "figure", "threshold", "passed"),
        "SELECT ts, model, version, champion, check, round(value, 4), round(threshold, 4), "
        "if(passed, 'yes', 'no') FROM validations ORDER BY ts, model, version, check"),
    "Model versions and alias moves": (
        ("time", "model", "version", "event", "alias", "previous", "parent", "passed",
         "device", "reason"),
        "SELECT ts, model, version, action, alias, previous, parent, "
        "multiIf(isNull(passed), '', passed, 'yes', 'no'), device, reason "
        "FROM model_versions FINAL ORDER BY ts"),
    "Accuracy estimated before labels (flagged or last windows)": (
        ("window end", "model", "variant", "estimated", "band low", "band high",
         "reference", "realised", "labelled", "n", "degraded"),
        "SELECT window_end, model, variant, round(estimated_accuracy, 4), round(band_low, 4), "
        "round(band_high, 4), round(reference_accuracy, 4), round(realised_accuracy, 4), "
        "labelled, n, if(degraded = 1, 'yes', 'no') FROM performance_estimates "
        "ORDER BY degraded DESC, window_end DESC LIMIT 50"),
    COST_TABLE: (
        ("model", "version", "predictions metered", "CPU s", "GPU s", "energy J", "money"),
        "SELECT model, model_version, count(cost_cpu_s) AS n, "
        "round(1000 * sum(cost_cpu_s) / n, 4) AS cpu, "
        "ifNull(toString(round(1000 * sum(cost_gpu_s) / n, 4)), 'no GPU') , "
        "ifNull(toString(round(1000 * sum(cost_energy_j) / n, 4)), "
        "'not reported by the serving host'), "
        "if({cpu_hour:Float64} + {gpu_hour:Float64} = 0, 'no prices (INFERWATCH_COST_*)', "
        "toString(round((cpu * {cpu_hour:Float64} + ifNull(1000 * sum(cost_gpu_s) / n, 0) "
        "* {gpu_hour:Float64}) / 3600, 8))) "
        "FROM predictions WHERE cost_cpu_s IS NOT NULL "
        "GROUP BY model, model_version ORDER BY model, model_version"),
    "Regression errors against the reference (flagged or last windows)": (
        ("window end", "model", "variant", "MAE", "reference MAE", "RMSE", "bias", "values",
         "worse"),
        "SELECT window_end, model, variant, round(statistic, 4), "
        "round(JSONExtractFloat(evidence, 'reference_mae'), 4), "
        "round(JSONExtractFloat(evidence, 'rmse'), 4), "
        "round(JSONExtractFloat(evidence, 'bias'), 4), n, if(decision = 'ok', 'no', 'yes') "
        "FROM detector_reports WHERE detector = 'regression_error' "
        "ORDER BY decision = 'ok', window_end DESC LIMIT 50"),
    "Dead letters": (
        ("source topic", "kind", "records"),
        "SELECT source_topic, kind, count() FROM dead_letters GROUP BY source_topic, kind "
        "ORDER BY source_topic, kind"),
}

_STYLE = """
:root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--grid:#e6e8eb;--border:#d1d9e0;--th:#f6f8fa;
--s0:#0969da;--s1:#bc4c00;--s2:#8250df;--ref:#8c959f;--cur:#0969da;--thr:#cf222e;
--fire:#cf222e;--ok:#1a7f37;--retrain:#9a6700}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--grid:#262c36;--border:#3d444d;--th:#151b23;--s0:#4493f8;--s1:#f0883e;--s2:#ab7df8;
--ref:#656c76;--cur:#4493f8;--thr:#ff7b72;--fire:#ff7b72;--ok:#3fb950;--retrain:#d29922}}
body{background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,sans-serif;
margin:0 auto;padding:12px;max-width:1120px;overflow-wrap:anywhere}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid var(--border)}h3{font-size:1.05em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr));gap:16px}
figure{margin:0;min-width:0}figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block}
.chart text{fill:var(--fg);font-size:11px}.chart text.tick{fill:var(--muted)}
.chart .axis-title{font-size:12px}.chart .bin{font-size:9px}
.grid{stroke:var(--grid)}.axis{stroke:var(--muted)}
.line{fill:none;stroke-width:2}.line.s0{stroke:var(--s0)}.line.s1{stroke:var(--s1)}
.line.s2{stroke:var(--s2)}.dot.s0{fill:var(--s0)}.dot.s1{fill:var(--s1)}.dot.s2{fill:var(--s2)}
.threshold{stroke:var(--thr);stroke-width:1.5;stroke-dasharray:6 4}
.chart .threshold-label{fill:var(--thr)}.bar.ref{fill:var(--ref)}.bar.cur{fill:var(--cur)}
.moment line{stroke-width:1.5;stroke-dasharray:3 3}
.moment.firing{stroke:var(--fire);fill:var(--fire)}.moment.resolved{stroke:var(--ok);fill:var(--ok)}
.moment.retrain{stroke:var(--retrain);fill:var(--retrain)}
.span{fill:var(--fire);opacity:.55}.span.ticket{fill:var(--retrain)}.span.open{opacity:.3}
.legend{margin:4px 0 0;color:var(--muted);font-size:13px}
.key{display:inline-block;margin-right:12px}.key::before{content:"";display:inline-block;
width:10px;height:10px;margin-right:4px;vertical-align:-1px;background:currentColor}
.key.s0::before,.key.cur::before{background:var(--s0)}.key.s1::before{background:var(--s1)}
.key.s2::before{background:var(--s2)}.key.ref::before{background:var(--ref)}
.key.thr::before{background:var(--thr);height:2px;vertical-align:3px}
.key.firing::before,.key.page::before{background:var(--fire)}
.key.resolved::before{background:var(--ok)}.key.retrain::before{background:var(--retrain)}
.table-wrap{overflow-x:auto}table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid var(--border);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--th)}code{font-size:90%}
"""


@dataclass
class Report:
    """The figures and the tables of one report."""

    tables: dict[str, list[tuple[Any, ...]]]
    charts: ReportData = field(default_factory=ReportData)


def collect(store: ClickHouseStore, *, profiles: ProfileLookup | None = None,
            slo_threshold_s: float | None = None,
            slo_objective: float | None = None, prices: CostSettings | None = None) -> Report:
    """Read every figure and table of the report from ``store``.

    ``profiles`` finds a model version's reference profile (for the drift histograms);
    the SLO's threshold and objective are the monitors' settings; ``prices`` turn what
    predictions used into money.
    """
    priced = prices if prices is not None else CostSettings(cpu_hour=0.0, gpu_hour=0.0)
    per_hour = {"cpu_hour": priced.cpu_hour, "gpu_hour": priced.gpu_hour}
    store.apply_schema()
    charts = ReportData(
        drift=drift_views(store, profiles or (lambda model, version: None)),
        categories=category_views(store),
        latency=latency_views(store), embedding=embedding_views(store),
        incidents=incidents(store), retrains=retrain_requests(store),
        causes=cause_rankings(store), category_causes=cause_rankings(store, CATEGORY),
        quality_causes=cause_rankings(store, QUALITY),
        slo_threshold_s=slo_threshold_s, slo_objective=slo_objective)
    return Report({title: store.query(sql, per_hour if title == COST_TABLE else None)
                   for title, (_, sql) in _QUERIES.items()}, charts)


def model_store_profiles(model_dir: Path) -> ProfileLookup:
    """The reference profiles the workers' drift detectors read, from the model store."""
    def lookup(model: str, version: str) -> ReferenceProfile | None:
        if any(n in ("", ".", "..") or "/" in n or "\\" in n for n in (model, version)):
            return None  # names come from stored events: never a path out of the store
        path = model_dir / model / version / "reference.json"
        return ReferenceProfile.load(path) if path.is_file() else None
    return lookup


def render(report: Report, *, title: str = "inferwatch report",
           generated: float | None = None) -> str:
    """The report as one HTML page; every value escaped.

    >>> page = render(Report({"Alerts": [("fp", "firing", "page", "m", "d", "<b>x</b>", "")]}))
    >>> "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    True
    """
    stamp = utc_stamp(generated if generated is not None else dt.datetime.now(dt.UTC).timestamp())
    parts = ["<!doctype html><html lang='en'><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             "<meta name='color-scheme' content='light dark'>",
             f"<title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style><h1>{html.escape(title)}</h1>",
             f"<p>Generated {stamp} from ClickHouse. Times are UTC.</p>"]
    parts.extend(section(report.charts) for section in SECTIONS)
    parts.append("<h2>Tables</h2>")
    for name, rows in report.tables.items():
        headers = _QUERIES[name][0] if name in _QUERIES else ()
        parts.append(f"<h3>{html.escape(name)}</h3>")
        parts.append(f"<div class='table-wrap'>{_table(headers, rows)}</div>" if rows
                     else "<p>None.</p>")
    return "\n".join(p for p in parts if p) + "\n"


def _table(headers: Sequence[str], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(h, v)}</td>" for h, v in
                                    zip(headers or [""] * len(r), r, strict=False)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(header: str, value: Any) -> str:
    if value is None:
        return ""
    if header == "time" and isinstance(value, int | float):
        return utc_stamp(float(value))
    if header == "evidence" and isinstance(value, str):
        try:
            items = json.loads(value).items()
        except (ValueError, AttributeError):
            return html.escape(value)
        return "<br>".join(f"<code>{html.escape(str(k))}</code> = {html.escape(str(v))}"
                           for k, v in items)
    return html.escape(str(value))
