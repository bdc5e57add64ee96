"""Wire schemas of every event inferwatch reads or writes.

Each event is a ``msgspec.Struct`` with a ``schema_version`` field fixed to the version
this code speaks; decoding validates types, the version and the values (finite numbers,
known enums) in one pass, without per-event pydantic. Timestamps are seconds since the
epoch (float, UTC). Field names are the JSON keys.

Events are untracked by the cyclic garbage collector (``gc=False``): they hold only
strings, numbers and containers of them, so they can never be part of a reference cycle,
and a decoded batch no longer wakes the collector to walk every struct (a third of the
decoding cost of a Prediction).
"""

from __future__ import annotations

import math
from typing import Final, Literal

import msgspec

SCHEMA_VERSION: Final = 1

OutcomeKind = Literal["label", "conversion", "feedback"]
Decision = Literal["drift", "ok", "breach", "insufficient"]
AlertStatus = Literal["firing", "resolved"]
Severity = Literal["page", "ticket", "info"]


def _require_finite(name: str, values: dict[str, float] | list[float]) -> None:
    items = values.items() if isinstance(values, dict) else enumerate(values)
    for key, value in items:
        if not math.isfinite(value):
            raise ValueError(f"{name}[{key!r}] must be a finite number, got {value!r}")


def _check_name(field: str, name: str, *, empty: bool = False) -> None:
    # model and variant names key topics, state and metrics: printable, so that no name
    # can pass for another in a key (the decision state's own keys begin with NUL)
    if not name.isprintable() or not (name or empty):
        raise ValueError(f"{field} must be a non-empty printable name, got {name!r}"
                         if not empty else f"{field} must be printable, got {name!r}")


def _check_embedding(embedding: list[float] | None) -> None:
    if embedding is None:
        return
    if not embedding:
        raise ValueError("embedding must not be empty (leave it out instead)")
    if not math.isfinite(sum(embedding)):
        _require_finite("embedding", embedding)


class Event(msgspec.Struct, kw_only=True, forbid_unknown_fields=False, gc=False):
    """Base of every event: carries the schema version the producer spoke."""

    schema_version: Literal[1] = SCHEMA_VERSION


class InferenceRequest(Event, kw_only=True):
    """A request to score one example; ``unit_id`` is the A/B unit (user, session)."""

    id: str
    ts: float
    model: str
    features: dict[str, float]
    unit_id: str = ""
    text: str | None = None
    segment: dict[str, str] = {}
    embedding: list[float] | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("id must not be empty")
        _check_name("model", self.model)
        # one sum per event; the detailed walk runs only when something is not finite
        if not math.isfinite(sum(self.features.values())):
            _require_finite("features", self.features)
        _check_embedding(self.embedding)


class Latency(msgspec.Struct, kw_only=True, gc=False):
    """Latency parts of one prediction, in seconds; ``ttft_s`` (time to first token) for
    generative models that stream."""

    queue_s: float
    inference_s: float
    total_s: float
    ttft_s: float | None = None


class ModelOutput(msgspec.Struct, kw_only=True, gc=False):
    """What the model answered: a label, its score and the class probabilities."""

    label: int
    score: float
    probabilities: list[float] = []


class Prediction(Event, kw_only=True):
    """One model answer to one request, published by an inference agent or an outside server.

    ``error`` is set when the model failed on the request (the output then holds label -1):
    the request is answered, not lost, and the failure counts against the error-rate SLO.
    ``embedding`` is the input's embedding (an LLM prompt's, a text's) when the input is
    not a feature vector: its drift is watched through it.
    """

    request_id: str
    ts: float
    model: str
    variant: str
    model_version: str
    output: ModelOutput
    latency: Latency
    batch_size: int = 1
    device: str = "external"
    features: dict[str, float] = {}
    segment: dict[str, str] = {}
    unit_id: str = ""
    error: str | None = None
    embedding: list[float] | None = None

    def __post_init__(self) -> None:
        _check_name("model", self.model)
        _check_name("variant", self.variant, empty=True)
        lat = self.latency
        if not math.isfinite(sum(self.features.values()) + lat.queue_s + lat.inference_s
                             + lat.total_s):
            _require_finite("features", self.features)
            _require_finite("latency", [lat.queue_s, lat.inference_s, lat.total_s])
        _check_embedding(self.embedding)


class Outcome(Event, kw_only=True):
    """What really happened for a request (a label, a conversion, feedback), often late."""

    request_id: str
    ts: float
    kind: OutcomeKind
    value: float

    def __post_init__(self) -> None:
        _require_finite("value", [self.value])


class DetectorReport(Event, kw_only=True):
    """One detector's verdict over one window of one model (and variant, segment)."""

    detector: str
    model: str
    variant: str
    segment: str
    window_start: float
    window_end: float
    n: int
    statistic: float
    threshold: float
    decision: Decision
    p_value: float | None = None
    evidence: dict[str, float | str] = {}
    ts: float = 0.0


class Alert(Event, kw_only=True):
    """An alert's state change; ``fingerprint`` is stable for (model, detector, segment)."""

    fingerprint: str
    status: AlertStatus
    severity: Severity
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None = None
    evidence: dict[str, float | str] = {}


class RetrainRequested(Event, kw_only=True):
    """Evidence-backed request to retrain a model; ``id`` derives from the evidence."""

    id: str
    model: str
    reason: str
    evidence: dict[str, float | str]
    data_from: float
    data_to: float
    requested_at: float


class RetrainDecided(Event, kw_only=True):
    """The retrain policy's decision on a sustained drift: requested (``retrain_id`` names
    the request), or suppressed, with the reason (cooldown, budget, too few new labels)."""

    model: str
    status: Literal["requested", "suppressed"]
    reason: str
    incident_start: float
    ts: float
    retrain_id: str = ""


class ValidationCheck(msgspec.Struct, kw_only=True):
    """One check of a candidate against the champion: its figure, threshold and verdict."""

    check: str
    value: float
    threshold: float
    passed: bool


class ModelVersionPublished(Event, kw_only=True):
    """A model version is available (or promoted, or rolled back) with its traffic split.

    A version a retrain made names its request (``retrain_id``), the version it was
    trained from (``parent``), the data range, its content hash, the device it trained on,
    and validation's verdict (``passed``, ``reason``, ``checks``, ``metrics``). An alias
    change names the ``alias`` moved and the version it named before (``previous``).
    """

    model: str
    version: str
    artifact: str
    action: Literal["published", "promoted", "rolled_back"] = "published"
    traffic_split: dict[str, float] = {}
    ts: float = 0.0
    retrain_id: str = ""
    parent: str = ""
    alias: str = ""
    previous: str = ""
    content_hash: str = ""
    device: str = ""
    data_from: float | None = None
    data_to: float | None = None
    passed: bool | None = None
    reason: str = ""
    metrics: dict[str, float] = {}
    checks: list[ValidationCheck] = []


ExperimentAction = Literal["continue", "promote", "rollback", "inconclusive"]


class ExperimentDecided(Event, kw_only=True):
    """One look's decision of a champion/challenger experiment (on the model-updates topic).

    ``estimate`` is the challenger minus the champion in ``metric`` (an error rate, a
    share of slow or failed predictions), ``lower``/``upper`` its always-valid interval
    (infinite on a one-sided test's open side, null when not yet defined), ``p_value`` the
    always-valid p-value of ``test``; ``id`` is the same for the same look however often
    it is written, so the store keeps it once.
    """

    event: Literal["experiment_decided"] = "experiment_decided"
    id: str
    experiment: str
    model: str
    champion: str
    challenger: str
    action: ExperimentAction
    metric: str
    test: str
    estimate: float | None
    lower: float | None
    upper: float | None
    p_value: float
    n_champion: int
    n_challenger: int
    srm_p_value: float
    reason: str
    ts: float = 0.0

    def __post_init__(self) -> None:
        for name in ("experiment", "model", "champion", "challenger"):
            _check_name(name, getattr(self, name))


class ExperimentStarted(Event, kw_only=True):
    """An operator started a champion/challenger experiment (``inferwatch experiment start``).

    The registry already holds it (the experiment, its split, and the ``challenger`` alias
    when ``challenger_version`` is set); this event on the model-updates topic tells the
    inference workers to read that model's split and bindings again.
    """

    event: Literal["experiment_started"] = "experiment_started"
    experiment: str
    model: str
    champion: str
    challenger: str
    share: float
    challenger_version: str | None = None
    ts: float = 0.0

    def __post_init__(self) -> None:
        for name in ("experiment", "model", "champion", "challenger"):
            _check_name(name, getattr(self, name))


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
    Accuracy estimation: of the ``estimated`` predictions (those of a model with a
    performance reference), the sum of each one's calibrated chance of being right
    (``confidence_sum``) and of its variance ``c (1 - c)`` (``confidence_var``).
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
    estimated: int = 0
    confidence_sum: float = 0.0
    confidence_var: float = 0.0
