"""The embedding-drift adapter: a window's input embeddings against the model's reference.

The reference is ``<model_dir>/<model>/embedding_reference.npy`` when given, else the
embeddings of the model's first windows, learnt into the decision state (those windows
are not tested). A window of another dimension is drift by definition (another embedder).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from detectors.embedding_drift import embedding_shift, farthest
from streams.decision.config import DecisionConfig
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict, window_report
from streams.decision.window import DecisionWindow

#: fewest embeddings in a window that sets a reference or is tested
MIN_EMBEDDINGS = 32
#: request ids of a drifted window's most unusual inputs named in its evidence
EXAMPLES = 3


class EmbeddingDrift:
    """MMD and novelty tests of the window's embeddings (Bonferroni, each at alpha / 2)."""

    detector = "embedding_drift"

    def __init__(self, config: DecisionConfig,
                 given: Callable[[str], np.ndarray | None] | None = None,
                 on_reference: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.given = given
        self.on_reference = on_reference  # told when a model's learnt reference grows

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]:
        if len(win.embeddings) < MIN_EMBEDDINGS:
            return []
        c = self.config
        given = self.given(win.model) if self.given else None
        ref = state.embedding_reference if given is None else given
        if ref is None or (given is None and len(ref) < c.embedding_reference
                           and ref.shape[1] == win.embeddings.shape[1]):
            # still learning the reference: whole windows' samples, untested
            grown = win.embeddings if ref is None else np.concatenate((ref, win.embeddings))
            state.embedding_reference = grown[: c.embedding_reference].copy()
            if self.on_reference is not None:
                self.on_reference(win.model)
            return []
        drifted, p_value, mmd2, evidence = self._test(win, ref)
        evidence["embedded"] = float(win.embedded)
        evidence["reference"] = "first windows" if given is None else "file"
        report = window_report(
            self.detector, win, n=win.embedded, statistic=mmd2 if np.isfinite(mmd2) else -1.0,
            threshold=c.embedding_alpha, p_value=p_value, fired=drifted, change="drift",
            evidence=evidence)
        return [Verdict.of(report)]

    def _test(self, win: DecisionWindow, ref: np.ndarray) -> tuple[bool, float, float, Evidence]:
        if ref.shape[1] != win.embeddings.shape[1]:  # another embedder: drift by definition
            return True, 0.0, float("inf"), {"reference_dim": float(ref.shape[1]),
                                              "window_dim": float(win.embeddings.shape[1])}
        c = self.config
        # seeded by the window's own sample: another seed per window, the same on replay
        shift = embedding_shift(ref, win.embeddings, alpha=c.embedding_alpha,
                                n_permutations=c.embedding_permutations,
                                seed=int(win.embedding_keys[0]) % 2**32)
        evidence: Evidence = {"novel_share": round(shift.novel_share, 4),
                              "mmd2": float(f"{shift.statistic:.4g}"),
                              "p_value": float(f"{shift.p_value:.3g}"),
                              "mmd_p": float(f"{shift.mmd_p_value:.3g}"),
                              "novelty_p": float(f"{shift.novelty_p_value:.3g}"),
                              "mean_shift": round(shift.mean_shift, 4),
                              "n_window": float(shift.n_window),
                              "n_reference": float(shift.n_reference)}
        if shift.drifted and win.embedding_ids:  # the requests to read first
            evidence["examples"] = ", ".join(
                win.embedding_ids[i] for i in farthest(ref, win.embeddings, EXAMPLES))
        return shift.drifted, shift.p_value, shift.statistic, evidence

    @staticmethod
    def describe(evidence: Evidence) -> str:
        if "window_dim" in evidence:
            return (f"input embeddings changed dimension: {float(evidence['reference_dim']):g}"
                    f" -> {float(evidence['window_dim']):g} (another embedding model?)")
        if "novel_share" not in evidence:
            return "input embedding drift"
        return (f"input embedding drift: {float(evidence['novel_share']):.0%} of inputs unlike "
                f"the reference (MMD² {evidence['mmd2']}, p={evidence['p_value']})")
