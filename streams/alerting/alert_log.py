"""Alerts as one readable line each, for logs and the demo's console.

Values come from events, so control characters are replaced: an alert cannot forge a
second log line or colour the terminal.
"""

from __future__ import annotations

import datetime as dt
import re

from streams.wire.events import Alert, RetrainRequested

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    return _CONTROL.sub("?", text)


def format_alert(alert: Alert) -> str:
    """One line: time, status, severity, summary, evidence.

    >>> a = Alert(fingerprint="f", status="firing", severity="page", labels={},
    ...           annotations={"summary": "churn/A latency\\r\\nFAKE", "description": "p99=1"},
    ...           starts_at=0.0)
    >>> format_alert(a)
    '1970-01-01T00:00:00Z FIRING   [page] churn/A latency??FAKE | p99=1 | fp=f'
    """
    when = alert.ends_at if alert.status == "resolved" and alert.ends_at else alert.starts_at
    stamp = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = _clean(alert.annotations.get("summary", alert.labels.get("alertname", "")))
    evidence = _clean(alert.annotations.get("description", ""))
    return (f"{stamp} {alert.status.upper():8} [{alert.severity}] {summary} | {evidence}"
            f" | fp={_clean(alert.fingerprint)}")


def format_retrain(req: RetrainRequested) -> str:
    """One line for a retrain request."""
    stamp = dt.datetime.fromtimestamp(req.requested_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    evidence = ", ".join(f"{k}={v}" for k, v in list(req.evidence.items())[:4])
    return _clean(f"{stamp} RETRAIN  [{req.model}] {req.reason} | {evidence} | id={req.id}")
