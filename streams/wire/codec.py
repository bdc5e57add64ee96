"""Decoding of raw Kafka records into validated events, a batch at a time.

Records arrive as bytes; a record that is too large, is not JSON, speaks another
schema version or carries invalid values becomes a :class:`Rejected` with the reason,
and the batch goes on. Encoding uses msgspec, which writes compact JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from streams.wire.events import Event, ModelUpdate, ModelVersionPublished

E = TypeVar("E", bound=Event)

_encoder = msgspec.json.Encoder()


class RawRecord(Protocol):
    """What the stages read of a Kafka record; aiokafka's ConsumerRecord is one."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """Where a record came from, and its raw bytes (a RawRecord built by hand)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be decoded, with the reason kind and text."""

    record: RawRecord
    kind: str
    reason: str


@dataclass(slots=True)
class Decoded(Generic[E]):
    """Decoded events with their source records, and the rejected records."""

    events: list[E]
    sources: list[RawRecord]
    rejected: list[Rejected]


class BatchDecoder(Generic[E]):
    """Decode batches of raw records into events of one type (or of a topic's tagged union:
    :data:`~streams.wire.events.ModelUpdate`).

    >>> from streams.wire.events import Outcome
    >>> dec = BatchDecoder(Outcome, max_record_bytes=1024)
    >>> ok = SourceRecord("t", 0, 7, b"r1", b'{"request_id": "r1", "ts": 1.0, '
    ...                   b'"kind": "label", "value": 1}')
    >>> bad = SourceRecord("t", 0, 8, b"r2", b'{"request_id": "r2"')
    >>> out = dec.decode([ok, bad])
    >>> [e.request_id for e in out.events], [r.kind for r in out.rejected]
    (['r1'], ['malformed'])
    """

    def __init__(self, event_type: type[E], *, max_record_bytes: int) -> None:
        self.event_type = event_type
        self.max_record_bytes = max_record_bytes
        self._decode: Callable[[bytes], E] = decoder_for(event_type)

    def decode(self, records: Sequence[RawRecord]) -> Decoded[E]:
        """Decode ``records`` in order; invalid ones are rejected, never dropped."""
        out: Decoded[E] = Decoded([], [], [])
        for rec in records:
            value = rec.value
            if not value:
                out.rejected.append(Rejected(rec, "empty", "record has no value"))
                continue
            if len(value) > self.max_record_bytes:
                out.rejected.append(Rejected(
                    rec, "too_large",
                    f"record of {len(value)} bytes exceeds max_record_bytes="
                    f"{self.max_record_bytes}"))
                continue
            try:
                event = self._decode(value)
            except msgspec.ValidationError as exc:
                out.rejected.append(Rejected(rec, _validation_kind(str(exc)), str(exc)))
                continue
            except msgspec.DecodeError as exc:
                out.rejected.append(Rejected(rec, "malformed", str(exc)))
                continue
            out.events.append(event)
            out.sources.append(rec)
        return out


_model_update = msgspec.json.Decoder(ModelUpdate)
_model_version = msgspec.json.Decoder(ModelVersionPublished)
_UNTAGGED = "Object missing required field `event`"


def decode_model_update(raw: bytes) -> ModelUpdate:
    """One record of the model-updates topic, decoded once into the type its tag names.

    A model version written by an earlier release carries no ``event`` tag; it is read as
    the :class:`~streams.wire.events.ModelVersionPublished` it is. Raises
    ``msgspec.DecodeError`` (not JSON) or ``msgspec.ValidationError`` (an unknown tag or
    invalid values), as any decode does.

    >>> from streams.wire.events import ExperimentStarted
    >>> e = ExperimentStarted(experiment="x", model="m", champion="A", challenger="B",
    ...                       share=0.1)
    >>> type(decode_model_update(encode(e))).__name__
    'ExperimentStarted'
    >>> decode_model_update(b'{"model": "m", "version": "v1", "artifact": "/a"}').version
    'v1'
    """
    try:
        return _model_update.decode(raw)
    except msgspec.ValidationError as exc:
        if str(exc) != _UNTAGGED:
            raise
        return _model_version.decode(raw)


def decoder_for(event_type: Any) -> Callable[[bytes], Any]:
    """The function that decodes one record into ``event_type``, or into the type its tag
    names where ``event_type`` is a topic's tagged union."""
    if event_type == ModelUpdate:
        return decode_model_update
    return msgspec.json.Decoder(event_type).decode


def _validation_kind(message: str) -> str:
    return "schema_version" if "schema_version" in message else "invalid"


def encode(event: Event) -> bytes:
    """The event as compact JSON bytes."""
    return _encoder.encode(event)

