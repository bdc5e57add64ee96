"""A prediction carries a regression's value, and an outcome of kind ``value`` its truth:
versioned both ways, and a non-finite value is a dead letter naming the field."""

from __future__ import annotations

import json

import msgspec
import pytest

from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import Latency, ModelOutput, Outcome, Prediction
from tests.unit.streams.wire.test_event_upgrade import PREVIOUS, RECORDED


def _prediction(**output: object) -> Prediction:
    return Prediction(request_id="r1", ts=2.0, model="price", variant="A", model_version="v1",
                      output=ModelOutput(label=0, score=3.5, **output),  # type: ignore[arg-type]
                      latency=Latency(queue_s=0.0, inference_s=0.01, total_s=0.02))


def test_the_previous_releases_predictions_read_with_no_value() -> None:
    raw = next(r["json"] for r in RECORDED if r["type"] == "Prediction").encode()
    assert msgspec.json.decode(raw, type=Prediction).output.predicted is None


def test_a_classifiers_output_is_written_as_before() -> None:
    assert "value" not in json.loads(encode(_prediction()))["output"]


def test_the_previous_release_reads_a_regressions_prediction() -> None:
    raw = encode(_prediction(value=3.5))
    assert json.loads(raw)["output"]["value"] == 3.5
    old = msgspec.json.decode(raw, type=PREVIOUS.Prediction)
    assert old.output.score == 3.5 and not hasattr(old.output, "value")
    assert msgspec.json.decode(raw, type=Prediction).output.predicted == 3.5


def test_an_outcome_of_kind_value_round_trips() -> None:
    raw = encode(Outcome(request_id="r1", ts=3.0, kind="value", value=-2.25))
    assert msgspec.json.decode(raw, type=Outcome).value == -2.25


@pytest.mark.parametrize("value", ["1e999", "-1e999", "\"3\""])
def test_a_bad_value_is_a_dead_letter_naming_the_field(value: str) -> None:
    raw = encode(_prediction(value=1.0)).replace(b'"value":1.0', f'"value":{value}'.encode())
    out = BatchDecoder(Prediction, max_record_bytes=1 << 20).decode(
        [SourceRecord("predictions", 0, 1, b"k", raw)])
    assert out.events == []
    (rejected,) = out.rejected
    assert "value" in rejected.reason
