"""Alerting: the router (alerts in, one notification per incident out), the alert log
line, and the notifiers (Alertmanager, webhook, Slack, PagerDuty).

May import the ground floors, :mod:`streams.settings` and :mod:`streams.kafka`.
"""
