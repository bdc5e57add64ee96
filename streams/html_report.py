"""A self-contained HTML report of a run, read back from ClickHouse.

For people without a Grafana at hand: each model's traffic and latency, every window a
detector flagged with its explanation (feature, segment, statistic, threshold, p-value,
evidence), the alerts and the retrain requests. Every value is HTML-escaped: labels and
evidence come from events.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from typing import Any

from streams.clickhouse_store import ClickHouseStore

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
    "Retrain requests": (
        ("time", "model", "reason", "id"),
        "SELECT requested_at, model, reason, id FROM retrain_events ORDER BY requested_at"),
    "Dead letters": (
        ("source topic", "kind", "records"),
        "SELECT source_topic, kind, count() FROM dead_letters GROUP BY source_topic, kind "
        "ORDER BY source_topic, kind"),
}

_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
          "table{border-collapse:collapse;margin-bottom:2em}"
          "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
          "th{background:#f3f3f3}code{font-size:90%}")


def collect(store: ClickHouseStore) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of each section."""
    store.apply_schema()
    return {title: store.query(sql) for title, (_, sql) in _QUERIES.items()}


def render(sections: dict[str, list[tuple[Any, ...]]], *, title: str = "inferwatch report",
           generated: float | None = None) -> str:
    """The report as one HTML page; every value escaped.

    >>> page = render({"Alerts": [("fp", "firing", "page", "m", "d", "<b>x</b>", "")]})
    >>> "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    True
    """
    stamp = _time(generated if generated is not None else dt.datetime.now(dt.UTC).timestamp())
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style><h1>{html.escape(title)}</h1>",
             f"<p>Generated {stamp} from ClickHouse.</p>"]
    for name, rows in sections.items():
        headers = _QUERIES[name][0] if name in _QUERIES else ()
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(_table(headers, rows) if rows else "<p>None.</p>")
    return "\n".join(parts) + "\n"


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
        return _time(float(value))
    if header == "evidence" and isinstance(value, str):
        try:
            items = json.loads(value).items()
        except (ValueError, AttributeError):
            return html.escape(value)
        return "<br>".join(f"<code>{html.escape(str(k))}</code> = {html.escape(str(v))}"
                           for k, v in items)
    return html.escape(str(value))


def _time(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
