"""The monitors' per-partition, per-window mergeable summary."""

from __future__ import annotations

import msgspec

from streams.wire.events._base import Event


class CostSums(msgspec.Struct, kw_only=True, gc=False):
    """The summed cost shares (:class:`~streams.wire.events.Cost`) of ``n`` predictions of
    one model version: sums merge by adding; per 1,000 predictions is ``1000 * sum / n``."""

    n: int
    cpu_s: float
    gpu_s: float | None = None
    energy_j: float | None = None


class MonitorSummary(Event, kw_only=True):
    """One partition's mergeable summary of one window of predictions of one model.

    ``histograms`` holds counts per reference bin for each feature (``segments`` the same
    per segment label); ``outputs`` counts the model's scores over the bins of its
    output reference; ``latency`` holds serialised quantile sketches per latency part;
    ``slo_good`` counts the predictions whose total latency met the latency SLO and
    ``errors`` the predictions that carry a model error. Summaries of the outcome join
    carry ``labelled`` predictions joined to their true label, ``label_errors`` of them
    mispredicted, and ``n = 0``. Of the ``embedded`` predictions that carried an input
    embedding, a bottom-k sample (by ``embedding_keys``, hashes of the request ids in
    ``embedding_ids``) is kept, projected to ``embedding_dim`` dimensions, as
    little-endian float32 rows in ``embeddings``. ``unit_keys``: hashes of the units this
    partition saw first in this window (:mod:`streams.monitoring.unit_sighting`), for the SRM test.
    Data quality: of the ``checked`` predictions (those of a model with a reference
    profile), per reference feature, how many lacked it (``missing``), held a non-finite
    value (``nonfinite``) or a value outside the reference's range (``out_of_range``), and
    per feature name the reference does not know, how many carried it (``unknown``, the
    most frequent names only); features with no count are left out.
    Categorical inputs (of a model with a category profile): ``categories`` counts each
    categorical feature's values over the profile's bins (its vocabulary, then unseen and
    missing), ``category_segments`` the same per segment label, and ``unseen_categories``
    per feature the values outside the vocabulary (the most frequent only), so that an
    alert can name a new category; ``checked`` counts these predictions too.
    Accuracy estimation: of the ``estimated`` predictions (those of a model with a
    performance reference), the sum of each one's calibrated chance of being right
    (``confidence_sum``) and of its variance ``c (1 - c)`` (``confidence_var``);
    ``segment_confidence`` the same three per segment label (``[estimated, sum, var]``), so
    that the cause ranking can weigh a segment by its own estimated accuracy.
    Regression (the join's summaries of a model that answers values): ``valued``
    predictions joined to their true value, the sums of their absolute errors
    (``abs_error_sum``), squared errors (``squared_error_sum``) and signed errors,
    predicted minus true (``error_sum``, the bias); sums, so that partitions add.
    Multi-class (the join's summaries of a model of more than two classes): ``confusion``,
    the joined labels' confusion matrix (row: the true class, column: the predicted);
    left out of the encoding for any other model, as a previous release wrote it.
    The decision step merges these.
    """

    model: str
    variant: str
    partition: int
    first_offset: int
    last_offset: int
    window_start: float
    window_end: float
    n: int
    histograms: dict[str, list[int]]
    latency: dict[str, dict[str, object]]
    segments: dict[str, dict[str, list[int]]] = {}
    outputs: dict[str, list[int]] = {}
    slo_good: int | None = None
    errors: int = 0
    labelled: int = 0
    label_errors: int = 0
    embedded: int = 0
    embedding_keys: list[int] = []
    embedding_ids: list[str] = []
    embedding_dim: int = 0
    embeddings: bytes = b""
    unit_keys: list[int] = []
    checked: int = 0
    missing: dict[str, int] = {}
    nonfinite: dict[str, int] = {}
    out_of_range: dict[str, int] = {}
    unknown: dict[str, int] = {}
    categories: dict[str, list[int]] = {}
    category_segments: dict[str, dict[str, list[int]]] = {}
    unseen_categories: dict[str, dict[str, int]] = {}
    estimated: int = 0
    confidence_sum: float = 0.0
    confidence_var: float = 0.0
    segment_confidence: dict[str, list[float]] = {}
    cost: dict[str, CostSums] = {}
    valued: int = 0
    abs_error_sum: float = 0.0
    squared_error_sum: float = 0.0
    error_sum: float = 0.0
    confusion: list[list[int]] | msgspec.UnsetType = msgspec.UNSET


class ShadowPairs(Event, kw_only=True):
    """One join partition's counts of a shadow version against the answers, since its last.

    Of the ``requests`` the shadow scored (whose answer was no error), the two predicted
    labels differed on ``disagreements``; of the ``labelled`` ones, the shadow alone was
    right on ``shadow_wins`` and the answer alone on ``champion_wins`` (the discordant
    pairs). Keyed by model on the shadow-pairs topic; the decision step adds them up
    (:class:`detectors.ab.paired.DiscordantPairs`).
    """

    model: str
    version: str
    answer_version: str
    requests: int
    disagreements: int
    labelled: int
    shadow_wins: int
    champion_wins: int
    window_start: float
    window_end: float

    def __post_init__(self) -> None:
        for name in ("requests", "disagreements", "labelled", "shadow_wins", "champion_wins"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
