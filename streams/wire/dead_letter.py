"""Dead letters: a rejected record, kept whole, with the reason in its headers.

The dead-letter record's value is the original bytes and its key the original key, so
nothing is lost and a fixed record can be replayed to its source topic.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.wire.codec import Rejected

#: Header names on every dead letter.
H_TOPIC = "inferwatch.source.topic"
H_PARTITION = "inferwatch.source.partition"
H_OFFSET = "inferwatch.source.offset"
H_KIND = "inferwatch.error.kind"
H_ERROR = "inferwatch.error"

_MAX_REASON = 1000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record ready to produce to the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def dead_letter(rejected: Rejected) -> DeadLetter:
    """The dead letter for one rejected record."""
    rec = rejected.record
    return DeadLetter(
        key=rec.key,
        value=rec.value,
        headers=[
            (H_TOPIC, rec.topic.encode()),
            (H_PARTITION, str(rec.partition).encode()),
            (H_OFFSET, str(rec.offset).encode()),
            (H_KIND, rejected.kind.encode()),
            (H_ERROR, rejected.reason[:_MAX_REASON].encode("utf-8", "replace")),
        ],
    )


def reason_of(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    """The inferwatch headers of a dead letter, decoded."""
    return {k: v.decode("utf-8", "replace") for k, v in headers if k.startswith("inferwatch.")}
