"""The traffic: inference requests, their predictions, and the outcomes joined to them."""

from __future__ import annotations

import math
from typing import Final

import msgspec

from streams.wire.events._base import (
    Event,
    OutcomeKind,
    check_embedding,
    check_name,
    require_finite,
)

#: the longest category value an event may carry: a category is a short label; a longer
#: one is a mistake (or free text, which belongs in ``text``)
MAX_CATEGORY_CHARS: Final = 256


def check_categories(categorical: dict[str, str]) -> None:
    """Categorical inputs: non-empty printable names, printable values of at most
    :data:`MAX_CATEGORY_CHARS` characters (they key summaries, reports and alert labels)."""
    for name, value in categorical.items():
        if not name or not name.isprintable():
            raise ValueError(f"categorical names must be non-empty and printable, got {name!r}")
        if not value.isprintable() or len(value) > MAX_CATEGORY_CHARS:
            raise ValueError(f"categorical[{name!r}] must be a printable value of at most "
                             f"{MAX_CATEGORY_CHARS} characters, got {value[:40]!r} "
                             f"({len(value)} characters)")


class InferenceRequest(Event, kw_only=True):
    """A request to score one example; ``unit_id`` is the A/B unit (user, session).

    ``features`` are the numeric inputs, ``categorical`` the categorical ones (name ->
    category, printable, as the model's spec names them) and ``text`` the text input.
    ``categorical`` is new in this release and optional: a previous release's request
    reads with none, and a previous release ignores it (unknown fields are ignored).
    """

    id: str
    ts: float
    model: str
    features: dict[str, float]
    unit_id: str = ""
    text: str | None = None
    segment: dict[str, str] = {}
    embedding: list[float] | None = None
    categorical: dict[str, str] = {}

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("id must not be empty")
        check_name("model", self.model)
        # one sum per event; the detailed walk runs only when something is not finite
        if not math.isfinite(sum(self.features.values())):
            require_finite("features", self.features)
        if self.categorical:
            check_categories(self.categorical)
        check_embedding(self.embedding)


class Latency(msgspec.Struct, kw_only=True, gc=False):
    """Latency parts of one prediction, in seconds; ``ttft_s`` (time to first token) for
    generative models that stream."""

    queue_s: float
    inference_s: float
    total_s: float
    ttft_s: float | None = None


class Cost(msgspec.Struct, kw_only=True, gc=False, omit_defaults=True):
    """One prediction's share of its batch's forward pass (the batch's figures over its
    rows), from the serving process's own accounting (:mod:`inference.cost_meter`):
    CPU seconds, GPU seconds on a GPU, joules where the hardware reports energy. A figure
    the host cannot give is left out of the JSON (a few bytes less per prediction)."""

    cpu_s: float
    gpu_s: float | None = None
    energy_j: float | None = None

    def __post_init__(self) -> None:
        parts = [self.cpu_s, self.gpu_s or 0.0, self.energy_j or 0.0]
        if not math.isfinite(sum(parts)) or min(parts) < 0:
            raise ValueError(f"cost figures must be finite and >= 0, got {parts}")


class ModelOutput(msgspec.Struct, kw_only=True, gc=False):
    """What the model answered: a label, its score and the class probabilities.

    A regression answers a ``value`` (its label is 0 and its score the value, so that
    prediction drift watches the values). ``value`` is new in this release and optional:
    a previous release's output reads with none, and a previous release ignores it.
    Unset (a classifier's), it is left out of the encoding, so a classifier's output is
    written byte for byte as the previous release wrote it; :attr:`predicted` reads it.
    """

    label: int
    score: float
    probabilities: list[float] = []
    value: float | msgspec.UnsetType = msgspec.UNSET

    @property
    def predicted(self) -> float | None:
        """The regression's value; None for a classifier."""
        return None if self.value is msgspec.UNSET else self.value


class Prediction(Event, kw_only=True):
    """One model answer to one request, published by an inference agent or an outside server.

    ``error`` is set when the model failed on the request (the output then holds label -1):
    the request is answered, not lost, and the failure counts against the error-rate SLO.
    ``embedding`` is the input's embedding (an LLM prompt's, a text's) when the input is
    not a feature vector: its drift is watched through it. ``categorical`` is the request's
    categorical inputs as sent (a category outside the vocabulary included, even where
    the spec's default stood in for it), for category drift and data quality. The
    request's text is not carried: its embedding is its monitored form, and the text
    itself (often personal) stays out of the predictions topic and every table.
    ``cost`` is what the prediction used of the serving process (absent from outside
    servers).
    """

    request_id: str
    ts: float
    model: str
    variant: str
    model_version: str
    output: ModelOutput
    latency: Latency
    cost: Cost | None = None
    batch_size: int = 1
    device: str = "external"
    features: dict[str, float] = {}
    segment: dict[str, str] = {}
    unit_id: str = ""
    error: str | None = None
    embedding: list[float] | None = None
    categorical: dict[str, str] = {}

    def __post_init__(self) -> None:
        check_name("model", self.model)
        check_name("variant", self.variant, empty=True)
        if self.categorical:
            check_categories(self.categorical)
        lat = self.latency
        if not math.isfinite(sum(self.features.values()) + lat.queue_s + lat.inference_s
                             + lat.total_s):
            require_finite("features", self.features)
            require_finite("latency", [lat.queue_s, lat.inference_s, lat.total_s])
        if self.output.predicted is not None:
            require_finite("output.value", [self.output.predicted])
        check_embedding(self.embedding)


class ShadowPrediction(Prediction, kw_only=True):
    """A shadow version's output for a request another version answered (the
    shadow-predictions topic), with that answer's label (-1: the answer was an error),
    so that one label judges both on the request: the paired verdict needs nothing else.
    A reader of predictions reads it as the :class:`Prediction` it extends."""

    answer_label: int = -1
    answer_version: str = ""


class Outcome(Event, kw_only=True):
    """What really happened for a request (a label, a regression's true ``value``, a
    conversion, feedback), often late."""

    request_id: str
    ts: float
    kind: OutcomeKind
    value: float

    def __post_init__(self) -> None:
        require_finite("value", [self.value])
