"""The outcome join's confusion counts of a multi-class model, per (model, variant).

A classifier of more than two classes is known by its predictions: the length of their
class probabilities (or a label past 1, for a model that sends none). Each joined label of
such a model counts one (true, predicted) pair; the join's summary carries the window's
matrix (:class:`~detectors.confusion.ConfusionCounts`, row the true class), which adds
across partitions in the decision step, so each class's recall and precision follow
exactly. A binary classifier's summary carries none, as before.

Examples
--------
>>> tally = ClassConfusion()
>>> tally.observe("m", 3)
>>> for truth, predicted in [(0, 0), (2, 1), (2, 2)]:
...     tally.count("m", "A", predicted, truth)
>>> tally.take("m", "A")
[[1, 0, 0], [0, 0, 0], [0, 1, 1]]
>>> tally.take("m", "A") is None
True
"""

from __future__ import annotations

from detectors.confusion import ConfusionCounts


class ClassConfusion:
    """Confusion counts of the joined labels of multi-class models, until taken."""

    def __init__(self) -> None:
        self._classes: dict[str, int] = {}  # model -> its number of classes, as last seen
        self._counts: dict[tuple[str, str], ConfusionCounts] = {}

    def observe(self, model: str, n_classes: int) -> None:
        """Note how many classes ``model`` answers over (a prediction's probabilities)."""
        if n_classes > 2:
            self._classes[model] = n_classes

    def count(self, model: str, variant: str, predicted: int, truth: float) -> None:
        """Count one joined label of a multi-class model (a binary one's is left out)."""
        actual = round(truth)
        # a prediction restored from the join state may be the first this process sees
        k = max(self._classes.get(model, 2), predicted + 1, actual + 1)
        if k <= 2 or predicted < 0 or actual < 0:
            return
        cm = self._counts.get((model, variant))
        if cm is None or cm.k < k:
            grown = ConfusionCounts(k)
            if cm is not None:
                grown.counts[:cm.k, :cm.k] = cm.counts
            cm = self._counts[(model, variant)] = grown
        cm.counts[actual, predicted] += 1

    def take(self, model: str, variant: str) -> list[list[int]] | None:
        """The matrix of ``(model, variant)`` counted since last taken (None: none)."""
        cm = self._counts.pop((model, variant), None)
        return None if cm is None else cm.to_list()
