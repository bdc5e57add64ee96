"""What a pure stage is: records in, output records out; no Kafka client in sight.

The batch loops (:mod:`streams.kafka.batch_loop`) carry records through a :class:`Stage` and
write its :class:`Output` records transactionally; stages and their unit tests import
only this module, not aiokafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from streams.wire.codec import RawRecord, Rejected
from streams.wire.dead_letter import dead_letter


class Output(NamedTuple):
    """One record to produce (a tuple: a frozen dataclass cost ~1 µs more per record)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None = None


def dead_letter_outputs(topic: str, rejected: Iterable[Rejected]) -> list[Output]:
    """The dead letters of ``rejected`` records, as outputs to ``topic``."""
    return [Output(topic, dl.key, dl.value, dl.headers) for dl in map(dead_letter, rejected)]


class Stage(Protocol):
    """Pure processing between a consumer and a producer.

    ``flush`` returns the outputs of *every* record added since the last flush, or None
    when it is not yet time (a micro-batch still filling); ``force`` asks for a flush now.
    """

    def add(self, records: Sequence[RawRecord]) -> None: ...

    def wait_s(self) -> float | None: ...

    def flush(self, *, force: bool) -> list[Output] | None: ...
