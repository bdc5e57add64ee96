"""Every topic inferwatch reads or writes, named in one place.

Names carry a configurable prefix (``INFERWATCH_KAFKA_TOPIC_PREFIX``) so several
deployments can share a cluster. High-rate topics are keyed by request id and spread
over many partitions; low-rate topics are keyed by model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    """A topic's role, partition count and Kafka configs."""

    role: str
    partitions: int
    configs: tuple[tuple[str, str], ...] = ()


#: Large enough for a 5 MB record to be refused by *us* (dead-lettered with a reason),
#: not by the broker.
_BIG = (("max.message.bytes", str(16 * 1024 * 1024)),)

ROLES: tuple[TopicSpec, ...] = (
    TopicSpec("requests", 6, _BIG),
    TopicSpec("predictions", 6, _BIG),
    # a shadow version's outputs: a topic of their own, so that every reader of the
    # predictions topic keeps counting exactly one answer per request; keyed by request id
    # with as many partitions as the predictions, so the join sees both on one partition
    TopicSpec("shadow-predictions", 6, _BIG),
    TopicSpec("outcomes", 6),
    TopicSpec("monitor-summaries", 3),
    # the join's counts of each shadow against the answers, keyed by model like the
    # summaries, for the decision step's paired verdict
    TopicSpec("shadow-pairs", 3),
    TopicSpec("detector-reports", 3),
    TopicSpec("alerts", 1),
    TopicSpec("retrain", 1),
    # every retrain policy decision, requested or suppressed, with its reason
    TopicSpec("retrain-decisions", 1),
    TopicSpec("model-updates", 1),
    TopicSpec("dead-letter", 3, _BIG),
    TopicSpec("decision-state", 1, (("cleanup.policy", "compact"),)),
    # the outcome join's waiting predictions and labels, keyed by request id like the
    # topics it joins and with as many partitions, so partition i holds partition i's
    TopicSpec("join-state", 6, (("cleanup.policy", "compact"),)),
)


_ROLE_NAMES = frozenset(spec.role for spec in ROLES)


@dataclass(frozen=True)
class Topics:
    """Topic names for one deployment, built from the prefix."""

    prefix: str = "inferwatch."
    dead_letter_retention_ms: int | None = None
    """``retention.ms`` of the dead-letter topic; None: the broker's default."""

    def name(self, role: str) -> str:
        """The full topic name of ``role`` (one of :data:`ROLES`)."""
        if role not in _ROLE_NAMES:
            raise ValueError(f"unknown topic role {role!r}; valid: {[s.role for s in ROLES]}")
        return f"{self.prefix}{role}"

    @property
    def requests(self) -> str:
        return self.name("requests")

    @property
    def predictions(self) -> str:
        return self.name("predictions")

    @property
    def shadow_predictions(self) -> str:
        return self.name("shadow-predictions")

    @property
    def outcomes(self) -> str:
        return self.name("outcomes")

    @property
    def summaries(self) -> str:
        return self.name("monitor-summaries")

    @property
    def shadow_pairs(self) -> str:
        return self.name("shadow-pairs")

    @property
    def reports(self) -> str:
        return self.name("detector-reports")

    @property
    def alerts(self) -> str:
        return self.name("alerts")

    @property
    def retrain(self) -> str:
        return self.name("retrain")

    @property
    def retrain_decisions(self) -> str:
        return self.name("retrain-decisions")

    @property
    def model_updates(self) -> str:
        return self.name("model-updates")

    @property
    def dead_letter(self) -> str:
        return self.name("dead-letter")

    @property
    def decision_state(self) -> str:
        return self.name("decision-state")

    @property
    def join_state(self) -> str:
        return self.name("join-state")

    def partitions(self, role: str) -> int:
        """The partition count of ``role``'s topic."""
        return next(spec.partitions for spec in ROLES if spec.role == role)

    def specs(self) -> list[tuple[str, TopicSpec]]:
        """(name, spec) for every topic, in creation order."""
        return [(self.name(spec.role), self._configured(spec)) for spec in ROLES]

    def _configured(self, spec: TopicSpec) -> TopicSpec:
        if spec.role != "dead-letter" or self.dead_letter_retention_ms is None:
            return spec
        retention = (("retention.ms", str(self.dead_letter_retention_ms)),)
        return TopicSpec(spec.role, spec.partitions, spec.configs + retention)
