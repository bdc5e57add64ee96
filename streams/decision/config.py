"""What the decision step is configured with: a frozen copy of the monitor settings.

Stages receive this dataclass, never the pydantic settings, so a unit test builds one
with the values it means and reads no environment.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from detectors.ab.experiment import ExperimentTest, Guardrail
from streams.experiments.spec import MODEL_ERROR, PRIMARY, SLOW, ExperimentSpec


@dataclass(frozen=True)
class DecisionConfig:
    """Windows, thresholds and hysteresis of the decision step (see ``MonitorSettings``)."""

    window_size: int = 1000
    window_max_s: float = 30.0
    min_window: int = 200
    drift_alpha: float = 0.001
    drift_min_psi: float = 0.1
    latency_quantile: float = 0.99
    latency_threshold_s: float = 0.25
    fire_after: int = 2
    resolve_after: int = 2
    retrain_after: int = 3
    retrain_cooldown_s: float = 3600.0
    retrain_min_new_labels: int = 0
    retrain_budget: int = 3
    retrain_budget_period_s: float = 86400.0
    slo_objective: float = 0.99
    slo_threshold_s: float = 0.2
    slo_period_days: float = 30.0
    slo_error_objective: float = 0.999
    concept_baseline_labelled: int = 1000
    concept_alpha: float = 0.001
    concept_min_increase: float = 0.05
    estimate_max_drop: float = 0.05
    estimate_z: float = 3.0
    embedding_sample: int = 128
    embedding_reference: int = 512
    embedding_permutations: int = 400
    embedding_alpha: float = 0.005
    quality_tolerance: float = 0.02
    quality_alpha: float = 0.001
    dashboard_url: str = "http://127.0.0.1:3000/d/inferwatch"
    experiments: str = ""
    ab_alpha: float = 0.05
    ab_tuning_n: float = 5000.0
    ab_horizon: int = 200_000
    ab_srm_level: float = 0.001
    ab_slow_margin: float = 0.01
    ab_error_margin: float = 0.005

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> DecisionConfig:
        """The config of a validated settings object (``MonitorSettings``), field by field.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> names = {f.name: getattr(DecisionConfig(), f.name) for f in fields(DecisionConfig)}
        >>> DecisionConfig.from_settings(SimpleNamespace(**names), fire_after=3).fire_after
        3
        """
        values = {f.name: overrides[f.name] if f.name in overrides else getattr(settings, f.name)
                  for f in fields(cls) if f.name in overrides or hasattr(settings, f.name)}
        return cls(**values)  # a field the settings lack (another group's) keeps its default


def new_test(spec: ExperimentSpec, config: DecisionConfig) -> ExperimentTest:
    """The test of one experiment, as the decision config sets it."""
    return ExperimentTest(
        PRIMARY, primary_binary=True, lower_is_better=True,
        guardrails=(Guardrail(SLOW, config.ab_slow_margin, binary=True),
                    Guardrail(MODEL_ERROR, config.ab_error_margin, binary=True)),
        alpha=config.ab_alpha, tuning_n=config.ab_tuning_n, horizon=config.ab_horizon,
        challenger_share=spec.share, srm_level=config.ab_srm_level)
