"""The model-updates topic: versions published and aliases moved, experiments started and
decided, and :data:`ModelUpdate`, the tagged union of the three.

Each event of the topic names its kind in ``event`` (msgspec's tag), so a reader decodes a
record once, into the right type, without looking at its bytes first. A model version of an
earlier release carries no tag: :func:`streams.wire.codec.decode_model_update` reads it as
the untagged :class:`ModelVersionPublished` it is.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from streams.wire.events._base import Event, check_name


class ValidationCheck(msgspec.Struct, kw_only=True):
    """One check of a candidate against the champion: its figure, threshold and verdict."""

    check: str
    value: float
    threshold: float
    passed: bool


class _ModelUpdate(Event, kw_only=True, tag_field="event"):
    """Base of the model-updates topic's events: the ``event`` field names each one's kind."""


class ModelVersionPublished(_ModelUpdate, kw_only=True, tag="model_version_published"):
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


class ExperimentDecided(_ModelUpdate, kw_only=True, tag="experiment_decided"):
    """One look's decision of a champion/challenger experiment (on the model-updates topic).

    ``estimate`` is the challenger minus the champion in ``metric`` (an error rate, a
    share of slow or failed predictions), ``lower``/``upper`` its always-valid interval
    (infinite on a one-sided test's open side, null when not yet defined), ``p_value`` the
    always-valid p-value of ``test``; ``id`` is the same for the same look however often
    it is written, so the store keeps it once.
    """

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
            check_name(name, getattr(self, name))


class ExperimentStarted(_ModelUpdate, kw_only=True, tag="experiment_started"):
    """An operator started a champion/challenger experiment (``inferwatch experiment start``).

    The registry already holds it (the experiment, its split, and the ``challenger`` alias
    when ``challenger_version`` is set); this event on the model-updates topic tells the
    inference workers to read that model's split and bindings again.
    """

    experiment: str
    model: str
    champion: str
    challenger: str
    share: float
    challenger_version: str | None = None
    ts: float = 0.0

    def __post_init__(self) -> None:
        for name in ("experiment", "model", "champion", "challenger"):
            check_name(name, getattr(self, name))


ShadowAction = Literal["continue", "promote_challenger", "promote_champion", "reject"]


class ShadowDecided(_ModelUpdate, kw_only=True, tag="shadow_decided"):
    """One look's paired verdict on a shadow version (on the model-updates topic).

    ``estimate`` is the share of discordant pairs the shadow won (1/2: as good as the
    answers), ``lower``/``upper`` its confidence sequence, ``p_value`` the always-valid
    p-value; ``effect`` the shadow's accuracy minus the answers' on the labelled pairs.
    Before labels, ``disagreement`` (with its interval) is the share of shadowed requests
    whose labels differ, a bound on ``|effect|``. A final action (promote to challenger
    or to champion, reject) is applied by the inference workers to the registry; ``id``
    is the same for the same look however often it is written.
    """

    id: str
    model: str
    version: str
    answer_version: str
    action: ShadowAction
    test: str
    estimate: float
    lower: float
    upper: float
    p_value: float
    effect: float
    labelled: int
    discordant: int
    requests: int
    disagreement: float | None
    disagreement_lower: float
    disagreement_upper: float
    reason: str
    ts: float = 0.0

    def __post_init__(self) -> None:
        check_name("model", self.model)
        check_name("version", self.version)


ModelUpdate = ModelVersionPublished | ExperimentDecided | ExperimentStarted | ShadowDecided
"""Any event of the model-updates topic, told apart by its ``event`` tag."""
