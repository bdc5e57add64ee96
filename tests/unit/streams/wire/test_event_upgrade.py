"""Upgrade safety of the wire schemas, with events recorded from the previous release.

``tests/fixtures/previous_release/events.jsonl`` holds one event of each kind as the
release before migrations (main at a5be2a6) encoded it (``record_events.py`` says how),
and ``previous_events.py`` is that release's ``streams/wire/events.py``. This release must
decode every recorded event to the same values, and (the schema allows it while the
version stays 1: changes are additive, new fields optional, unknown fields ignored)
what this release writes must decode in the previous release's classes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from streams.wire import events
from streams.wire.codec import BatchDecoder, SourceRecord, encode

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "previous_release"
RECORDED = [json.loads(line) for line in (FIXTURES / "events.jsonl").read_text().splitlines()]


def _previous_release() -> ModuleType:
    name = "inferwatch_previous_release_events"
    spec = importlib.util.spec_from_file_location(name, FIXTURES / "previous_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # msgspec resolves the postponed annotations through sys.modules
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


PREVIOUS = _previous_release()


def _ids(recorded: dict[str, str]) -> str:
    return recorded["type"]


def _builtins(event: Any) -> dict[str, Any]:
    return dict(msgspec.to_builtins(event))


def test_every_event_kind_is_recorded() -> None:
    kinds = {name for name, cls in vars(PREVIOUS).items()
             if isinstance(cls, type) and issubclass(cls, PREVIOUS.Event)
             and cls is not PREVIOUS.Event}
    assert {r["type"] for r in RECORDED} == kinds


@pytest.mark.parametrize("recorded", RECORDED, ids=_ids)
def test_this_release_reads_what_the_previous_one_wrote(recorded: dict[str, str]) -> None:
    kind = getattr(events, recorded["type"])
    raw = recorded["json"].encode()
    out = BatchDecoder(kind, max_record_bytes=1 << 20).decode(
        [SourceRecord("t", 0, 1, b"k", raw)])
    assert out.rejected == []
    (event,) = out.events
    old = json.loads(raw)
    new = _builtins(event)
    # every field the previous release wrote reads back unchanged; new fields are optional
    assert {k: new[k] for k in old} == old
    assert event.schema_version == old["schema_version"] == 1


@pytest.mark.parametrize("recorded", RECORDED, ids=_ids)
def test_the_previous_release_reads_what_this_one_writes(recorded: dict[str, str]) -> None:
    kind = getattr(events, recorded["type"])
    written = encode(msgspec.json.decode(recorded["json"].encode(), type=kind))
    old_kind = getattr(PREVIOUS, recorded["type"])
    read = msgspec.json.decode(written, type=old_kind)
    assert _builtins(read) == json.loads(recorded["json"])


def test_a_newer_schema_version_is_dead_lettered_with_the_reason() -> None:
    """A breaking change bumps schema_version; an older worker then refuses it, loudly."""
    newer = dict(json.loads(RECORDED[0]["json"]), schema_version=2)
    out = BatchDecoder(events.InferenceRequest, max_record_bytes=1 << 20).decode(
        [SourceRecord("t", 0, 1, b"k", json.dumps(newer).encode())])
    assert out.events == []
    (rejected,) = out.rejected
    assert rejected.kind == "schema_version" and "schema_version" in rejected.reason


def test_the_previous_releases_model_version_reads_through_the_topics_union() -> None:
    """The previous release wrote model versions without the ``event`` tag; the
    model-updates topic's union still reads them as model versions, field for field."""
    [recorded] = [r for r in RECORDED if r["type"] == "ModelVersionPublished"]
    raw = recorded["json"].encode()
    assert b'"event"' not in raw
    out = BatchDecoder(events.ModelUpdate, max_record_bytes=1 << 20).decode(
        [SourceRecord("t", 0, 1, b"k", raw)])
    assert out.rejected == []
    (event,) = out.events
    assert isinstance(event, events.ModelVersionPublished)
    old = json.loads(raw)
    assert {k: _builtins(event)[k] for k in old} == old
