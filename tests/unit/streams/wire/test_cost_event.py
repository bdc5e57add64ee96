"""A prediction's cost on the wire: absent figures left out, bad figures refused."""

from __future__ import annotations

import msgspec
import pytest

from streams.wire.events import Cost, Latency, ModelOutput, Prediction


def _prediction(cost: Cost | None) -> Prediction:
    return Prediction(request_id="r", ts=1.0, model="m", variant="A", model_version="v1",
                      output=ModelOutput(label=1, score=0.5),
                      latency=Latency(queue_s=0.1, inference_s=0.1, total_s=0.2), cost=cost)


def test_a_cost_round_trips_and_leaves_out_what_the_host_cannot_give() -> None:
    raw = msgspec.json.encode(_prediction(Cost(cpu_s=2.5e-6, energy_j=0.01)))
    assert b'"cost":{"cpu_s":2.5e-6,"energy_j":0.01}' in raw
    back = msgspec.json.decode(raw, type=Prediction)
    assert back.cost == Cost(cpu_s=2.5e-6, gpu_s=None, energy_j=0.01)
    # an outside server's prediction has none, and older events decode the same
    assert msgspec.json.decode(msgspec.json.encode(_prediction(None)), type=Prediction
                               ).cost is None


@pytest.mark.parametrize(("bad", "why"), [
    ('{"cpu_s":-1.0}', r"cost figures must be finite and >= 0, got \[-1.0, 0.0, 0.0\]"),
    ('{"cpu_s":1.0,"gpu_s":1e999}', r"out of range - at `\$.cost.gpu_s`")])
def test_a_negative_or_infinite_cost_is_refused_naming_it(bad: str, why: str) -> None:
    raw = msgspec.json.encode(_prediction(None)).replace(b'"cost":null',
                                                         b'"cost":' + bad.encode())
    with pytest.raises(msgspec.ValidationError, match=why):
        msgspec.json.decode(raw, type=Prediction)
