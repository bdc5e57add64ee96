"""Alerting: the router (alerts in, one notification per incident out), the alert log
line, and the notifiers (Alertmanager, webhook, Slack, PagerDuty).

May import lines 1 to 4: :mod:`streams.wire`, :mod:`streams.telemetry`,
:mod:`streams.experiments`, :mod:`streams.settings`, :mod:`streams.kafka`; not the other
folders of line 5.
"""
