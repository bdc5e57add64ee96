"""The decision step: merged monitor summaries judged per window, one module per idea.

:mod:`.stage` wires it; :mod:`.state` is what it remembers and how it is keyed;
:mod:`.alert_book` gives each incident one identity from firing to resolve; one adapter
module per detector (:mod:`.feature_drift`, :mod:`.prediction_drift`,
:mod:`.embedding_drift`, :mod:`.concept_drift`, :mod:`.latency`, :mod:`.slo_burn`)
judges a window and words its alert; :mod:`.config` is the frozen configuration.
"""
