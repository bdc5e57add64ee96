"""Serving: the inference stage (requests in, predictions out), hot reload on
model-updates, model-load tickets, and the reference profiles the monitors compare against.

What a worker serves (a predictor per model and variant) is
:class:`inference.served_versions.ServedVersions`.

May import lines 1 to 4: :mod:`streams.wire`, :mod:`streams.telemetry`,
:mod:`streams.experiments`, :mod:`streams.settings`, :mod:`streams.kafka`; not the other
folders of line 5.
"""
