"""Alert notification: sinks for the tools on-call already runs, and a reliable outbox.

::

    Notification (detectors.notification) ──► Outbox.submit ──► one lane per sink
                                                             ├── AlertmanagerSink  (v2 API)
                                                             ├── WebhookSink       (JSON)
                                                             ├── SlackSink         (rate-limited)
                                                             └── PagerDutySink     (Events v2)

Every label and annotation value passes :mod:`streams.alerting.notifiers.sanitize` before it leaves.
Failures raise :class:`streams.errors.SinkError` with ``retriable`` set.
"""

from streams.alerting.notifiers.alertmanager import AlertmanagerSink
from streams.alerting.notifiers.delivery import LaneStats, Outbox
from streams.alerting.notifiers.pagerduty import PagerDutySink
from streams.alerting.notifiers.sanitize import (
    sanitize_annotations,
    sanitize_labels,
    sanitize_value,
)
from streams.alerting.notifiers.sink import (
    HttpSink,
    Sink,
    notification_from_alert,
    notification_from_dict,
    notification_to_dict,
)
from streams.alerting.notifiers.slack import SlackSink, TokenBucket
from streams.alerting.notifiers.webhook import WebhookSink

__all__ = [
    "AlertmanagerSink",
    "HttpSink",
    "LaneStats",
    "Outbox",
    "PagerDutySink",
    "Sink",
    "SlackSink",
    "TokenBucket",
    "WebhookSink",
    "notification_from_alert",
    "notification_from_dict",
    "notification_to_dict",
    "sanitize_annotations",
    "sanitize_labels",
    "sanitize_value",
]
