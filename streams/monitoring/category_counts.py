"""A window's categorical inputs counted over the reference's bins, globally and per segment.

The monitor stage's share of category drift and categorical data quality: per categorical
feature of the model's :class:`~detectors.reference.categories.CategoryProfile`, how many
predictions carried each vocabulary member, a value outside it (``<unseen>``) or none
(``<missing>``), and which unseen values came most (so that an alert can name a new
category). Counts add, so the decision step merges partitions' counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from detectors.reference.categories import CategoryProfile
from streams.wire.events import Prediction

__all__ = ["MAX_UNSEEN", "category_counts", "segment_members"]

#: most unseen values a summary names per feature (the most frequent): a producer sending
#: ever new values cannot grow a summary without bound
MAX_UNSEEN = 16


def segment_members(preds: Sequence[Prediction]) -> dict[str, np.ndarray]:
    """Segment label (``key=value``) -> the indices of the predictions in it, sorted by label."""
    members: dict[str, list[int]] = {}
    for i, p in enumerate(preds):
        for k, v in p.segment.items():
            members.setdefault(f"{k}={v}", []).append(i)
    return {label: np.array(members[label], dtype=np.intp) for label in sorted(members)}


def category_counts(profile: CategoryProfile, preds: Sequence[Prediction]) -> dict[str, Any]:
    """The MonitorSummary fields of ``preds``' categorical inputs against ``profile``.

    Examples
    --------
    >>> from streams.wire.events import Latency, ModelOutput
    >>> prof = CategoryProfile.from_columns({"plan": ["free", "pro"]}, {"plan": ["free", "pro"]})
    >>> def pred(plan, region):
    ...     return Prediction(request_id="r", ts=1.0, model="m", variant="A", model_version="v1",
    ...                       output=ModelOutput(label=0, score=0.1), segment={"region": region},
    ...                       latency=Latency(queue_s=0, inference_s=0, total_s=0),
    ...                       categorical={} if plan is None else {"plan": plan})
    >>> out = category_counts(prof, [pred("pro", "eu"), pred("gold", "eu"), pred(None, "us")])
    >>> out["categories"], out["category_segments"], out["unseen_categories"]
    ({'plan': [0, 1, 1, 1]}, {'region=eu': {'plan': [0, 1, 1, 0]}, \
'region=us': {'plan': [0, 0, 0, 1]}}, {'plan': {'gold': 1}})
    """
    names = profile.names
    values = [p.categorical for p in preds]
    codes = np.empty((len(preds), len(names)), dtype=np.intp)
    unseen: dict[str, dict[str, int]] = {}
    for j, name in enumerate(names):
        vocab = profile.vocabularies[name]
        index = {category: i for i, category in enumerate(vocab)}
        outside, missing = len(vocab), len(vocab) + 1
        column = [v.get(name) for v in values]
        codes[:, j] = [missing if c is None else index.get(c, outside) for c in column]
        if (codes[:, j] == outside).any():
            new = Counter(c for c in column if c is not None and c not in index)
            unseen[name] = dict(new.most_common(MAX_UNSEEN))
    sizes = [len(vocab) + 2 for vocab in profile.vocabularies.values()]

    def counted(rows: np.ndarray) -> dict[str, list[int]]:
        return {name: np.bincount(rows[:, j], minlength=sizes[j]).tolist()
                for j, name in enumerate(names)}

    return {"categories": counted(codes),
            "category_segments": {label: counted(codes[idx])
                                  for label, idx in segment_members(preds).items()},
            "unseen_categories": unseen}
