"""Requests and predictions carry categorical inputs: versioned, and hostile input rejected.

The field is new in this release. The previous release's recorded events
(``tests/fixtures/previous_release``) read with no categories, and the previous release's
structs read this release's events, the categories ignored (msgspec ignores unknown
fields). Bad categorical values go to the dead letters with a reason naming the field.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import InferenceRequest, Latency, ModelOutput, Prediction
from tests.unit.streams.wire.test_event_upgrade import PREVIOUS, RECORDED


def _recorded(kind: str) -> bytes:
    return next(r["json"] for r in RECORDED if r["type"] == kind).encode()


def _decode(kind: type, raw: bytes, max_record_bytes: int = 1 << 20) -> object:
    out = BatchDecoder(kind, max_record_bytes=max_record_bytes).decode(
        [SourceRecord("requests", 0, 5, b"k", raw)])
    return out


@pytest.mark.parametrize("kind", [InferenceRequest, Prediction])
def test_the_previous_releases_events_read_with_no_categories(kind: type) -> None:
    out = _decode(kind, _recorded(kind.__name__))
    assert out.rejected == []  # type: ignore[attr-defined]
    (event,) = out.events  # type: ignore[attr-defined]
    assert event.categorical == {}


def _new_request() -> InferenceRequest:
    return InferenceRequest(id="r1", ts=1.0, model="churn", features={"f0": 1.0},
                            categorical={"plan": "pro", "country": "FR"}, text="hello")


def _new_prediction() -> Prediction:
    return Prediction(request_id="r1", ts=2.0, model="churn", variant="A", model_version="v1",
                      output=ModelOutput(label=1, score=0.7, probabilities=[0.3, 0.7]),
                      latency=Latency(queue_s=0.0, inference_s=0.01, total_s=0.02),
                      features={"f0": 1.0}, categorical={"plan": "gold"})


@pytest.mark.parametrize("make", [_new_request, _new_prediction], ids=["request", "prediction"])
def test_the_previous_release_reads_this_releases_events(make: object) -> None:
    event = make()  # type: ignore[operator]
    raw = encode(event)
    assert json.loads(raw)["categorical"]  # the new field is written
    old = msgspec.json.decode(raw, type=getattr(PREVIOUS, type(event).__name__))
    assert not hasattr(old, "categorical")
    mine = msgspec.to_builtins(event)
    assert {k: mine[k] for k in msgspec.to_builtins(old)} == msgspec.to_builtins(old)


def test_categories_round_trip() -> None:
    raw = encode(_new_request())
    assert msgspec.json.decode(raw, type=InferenceRequest).categorical == {
        "plan": "pro", "country": "FR"}


def _request_json(**fields: object) -> bytes:
    base: dict[str, object] = {"id": "r1", "ts": 1.0, "model": "churn", "features": {}}
    return json.dumps({**base, **fields}).encode()


@pytest.mark.parametrize(("categorical", "words"), [
    ({"plan": 3}, "categorical"),
    ({"plan": None}, "categorical"),
    ({"plan": ["pro"]}, "categorical"),
    ({"pl\x00an": "pro"}, "categorical names"),
    ({"": "pro"}, "categorical names"),
    ({"plan": "pro\nadmin"}, "categorical['plan']"),
    ({"plan": "x" * 300}, "at most 256"),
])
def test_hostile_categories_are_dead_letters_with_a_reason(categorical: object,
                                                            words: str) -> None:
    for kind in (InferenceRequest, Prediction):
        raw = _request_json(categorical=categorical) if kind is InferenceRequest else \
            json.dumps({**msgspec.to_builtins(_new_prediction()),
                        "categorical": categorical}).encode()
        out = _decode(kind, raw)
        assert out.events == []  # type: ignore[attr-defined]
        (rejected,) = out.rejected  # type: ignore[attr-defined]
        assert rejected.kind == "invalid"
        assert words in rejected.reason


def test_a_huge_category_map_is_too_large() -> None:
    raw = _request_json(categorical={f"c{i}": "v" for i in range(20_000)})
    out = _decode(InferenceRequest, raw, max_record_bytes=64 * 1024)
    (rejected,) = out.rejected  # type: ignore[attr-defined]
    assert rejected.kind == "too_large" and str(len(raw)) in rejected.reason
