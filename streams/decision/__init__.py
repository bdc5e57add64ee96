"""The decision step: merged monitor summaries judged per window, one module per idea.

:mod:`.stage` wires it; :mod:`.window` merges the summaries into a window; :mod:`.state`
is what it remembers and how it is keyed; :mod:`.slo_tracker` counts the SLO burn
windows; :mod:`.verdict` builds every report (:func:`.verdict.window_report`);
:mod:`.alert_book` gives each incident one identity from firing to resolve; one adapter
module per detector (:mod:`.feature_drift`, :mod:`.category_drift`,
:mod:`.prediction_drift`, :mod:`.embedding_drift`, :mod:`.concept_drift`, :mod:`.latency`,
:mod:`.slo_burn`) judges a window and words its alert; :mod:`.config` is the frozen
configuration; :mod:`.stages` builds the monitoring path's stages from a worker's
settings, with the clock each caller hands them (the worker's wall clock, a backtest's
event time).

May import lines 1 to 6: every folder but :mod:`streams.report`, :mod:`streams.backtest`,
:mod:`streams.app` and :mod:`streams.cli`.
"""
