"""What the decision step remembers of one model, and how the decision-state topic keys it.

Keys of the compacted decision-state topic:

- ``model``: the model's :class:`ModelState` (alert hysteresis and open incidents, retrain
  policy, concept baselines, open windows), rewritten by every batch that changes it;
- ``REFERENCE_KEY + model``: its learnt embedding reference, written only when it changes;
- ``SLO_KEY + model + NUL + variant + NUL + part``: its SLO burn counts
  (:mod:`streams.decision.slo_tracker`).

Model names cannot hold a NUL (the codec refuses them), so no model passes for the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from detectors.ab.experiment import ExperimentTest
from detectors.error_rate import ErrorRateShift
from retrain.policy import RetrainPolicy
from streams.decision.alert_book import AlertBook
from streams.decision.aligned_counts import AlignedCounts
from streams.decision.config import DecisionConfig, new_test
from streams.decision.slo_tracker import SLO_KEY
from streams.decision.window import DecisionWindow, pack_rows, unpack_packed
from streams.experiments.spec import (
    ExperimentSpec,
    StartedLookup,
    no_started,
    parse_experiments,
)
from streams.monitoring.unit_sighting import UnitTally

#: decision-state key prefix of a model's embedding reference (the rest is the model)
REFERENCE_KEY = b"\x00embedding-reference\x00"


class ModelState:
    """One model's decision state, snapshot and restored as one."""

    def __init__(self, model: str, config: DecisionConfig,
                 started: StartedLookup = no_started) -> None:
        self.model = model
        self.config = config
        self.started = started
        self.alerts = AlertBook(config.fire_after, config.resolve_after)
        self.retrain = RetrainPolicy(config.retrain_after, config.retrain_cooldown_s,
                                     min_new_labels=config.retrain_min_new_labels,
                                     budget=config.retrain_budget,
                                     budget_period_s=config.retrain_budget_period_s)
        self.concept: dict[str, ErrorRateShift] = {}  # by variant
        self.windows: dict[str, DecisionWindow] = {}  # the open window of each variant
        # the input embeddings (projected) of the model's first windows: what later windows
        # are tested against, for models fed by text or prompts rather than features
        self.embedding_reference: np.ndarray | None = None
        # the model's champion/challenger experiment (streams.decision.experiment), its
        # name, and its final action once decided
        self.experiment: ExperimentTest | None = None
        self.experiment_name: str | None = None
        self.experiment_final: str | None = None
        # when it was decided (request time), and whether the challenger was served a
        # request after a rollback took effect (since the champion's last look)
        self.experiment_final_at: float | None = None
        self.experiment_served_after = False
        self.experiment_counts = AlignedCounts(2)  # new units per arm, for the SRM test
        self.experiment_units = UnitTally()  # units counted (not persisted: recounted)

    def concept_detector(self, variant: str) -> ErrorRateShift:
        det = self.concept.get(variant)
        if det is None:
            c = self.config
            det = self.concept[variant] = ErrorRateShift(
                c.concept_baseline_labelled, c.concept_alpha, c.concept_min_increase)
        return det

    def experiment_spec(self) -> ExperimentSpec | None:
        """The model's experiment: one an operator started, else the config's, if any."""
        return self.started(self.model) or next((s for s in parse_experiments(
            self.config.experiments)
                     if s.model == self.model), None)

    def experiment_test(self, spec: ExperimentSpec) -> ExperimentTest:
        """The test of ``spec`` (a fresh one when the experiment is new or renamed)."""
        if self.experiment is None or self.experiment_name != spec.name:
            self.experiment = new_test(spec, self.config)
            self.experiment_name, self.experiment_final = spec.name, None
            self.experiment_final_at, self.experiment_served_after = None, False
            self.experiment_counts = AlignedCounts(2)
            self.experiment_units = UnitTally()
        return self.experiment

    def snapshot(self) -> dict[str, Any]:
        return {
            "model": self.model, "alerts": self.alerts.snapshot(),
            "retrain": self.retrain.snapshot(),
            "concept": {v: d.snapshot() for v, d in self.concept.items()},
            "windows": [w.snapshot() for w in self.windows.values()],
            "experiment": None if self.experiment is None else {
                "name": self.experiment_name, "final": self.experiment_final,
                "final_at": self.experiment_final_at,
                "served_after": self.experiment_served_after,
                "test": self.experiment.snapshot(), "counts": self.experiment_counts.snapshot()},
        }

    def reference_record(self) -> bytes | None:
        """The embedding reference, as the decision-state topic keeps it apart."""
        if self.embedding_reference is None:
            return None
        return msgspec.json.encode({"model": self.model,
                                    "embedding_reference": pack_rows(self.embedding_reference)})

    def restore(self, snap: dict[str, Any]) -> None:
        """Take a snapshot of this model's state; KeyError if it holds none.

        A state saved before incidents kept their identity (``rule`` and ``slo_rule``
        instead of ``alerts``) restores with no alert open: such an alert's resolve then
        carries the detector's own identity, without its feature and segment.
        """
        if snap["model"] != self.model:
            raise ValueError(f"snapshot is of model {snap['model']!r}, not {self.model!r}")
        if "alerts" in snap:
            self.alerts.restore(snap["alerts"])
        self.retrain.restore(snap["retrain"])
        for variant, det in snap["concept"].items():
            self.concept_detector(variant).restore(det)
        for w in snap["windows"]:
            win = DecisionWindow.from_snapshot(w)
            self.windows[win.variant] = win
        saved = snap.get("experiment")
        spec = self.experiment_spec()
        if saved and spec is not None and saved["name"] == spec.name:
            self.experiment_test(spec).restore(saved["test"])
            self.experiment_final = saved["final"]
            self.experiment_final_at = saved.get("final_at")
            self.experiment_served_after = bool(saved.get("served_after", False))
            self.experiment_counts.restore(saved["counts"])
        if snap.get("embedding_reference"):  # written inside the state before it had a key
            self.embedding_reference = unpack_packed(snap["embedding_reference"])

    def restore_reference(self, raw: bytes) -> None:
        """Take the embedding reference of a :meth:`reference_record`."""
        self.embedding_reference = unpack_packed(msgspec.json.decode(raw)["embedding_reference"])


@dataclass
class SavedModels:
    """The decision-state records of a topic, split by kind and keyed by model (bytes)."""

    states: dict[bytes, bytes] = field(default_factory=dict)
    references: dict[bytes, bytes] = field(default_factory=dict)
    slo: dict[bytes, dict[bytes, bytes]] = field(default_factory=lambda: defaultdict(dict))

    @classmethod
    def split(cls, saved: Mapping[bytes, bytes]) -> SavedModels:
        out = cls()
        for key, raw in saved.items():
            if key.startswith(REFERENCE_KEY):
                out.references[key[len(REFERENCE_KEY):]] = raw
            elif key.startswith(SLO_KEY):
                model, _, rest = key[len(SLO_KEY):].partition(b"\x00")
                out.slo[model][rest] = raw
            elif not key.startswith(b"\x00"):
                out.states[key] = raw
        return out
