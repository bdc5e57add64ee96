"""The monitor stage: partition summaries checked against numpy (manual clock, no Kafka)."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.quantile_sketch import QuantileSketch
from detectors.reference.profile import ReferenceProfile
from streams.monitoring.monitor_stage import MonitorStage
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.dead_letter import H_KIND, reason_of
from streams.wire.events import Latency, ModelOutput, MonitorSummary, Prediction
from streams.wire.topics import Topics

TOPICS = Topics("t.")
NAMES = ("a", "b", "c")
ACC = 0.01


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    rng = np.random.default_rng(42)
    X = np.c_[rng.normal(0, 1, 5000), rng.lognormal(0, 0.5, 5000), rng.poisson(3, 5000)]
    return ReferenceProfile.from_features("churn", "v1", NAMES, X)


def _predictions(seed: int, n: int, *, variant: str = "A", model: str = "churn",
                 t0: float = 100.0) -> list[Prediction]:
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(0.3, 1.2, n), rng.lognormal(0, 0.6, n), rng.poisson(3, n)]
    req_ts = t0 + np.sort(rng.uniform(0, 5, n))
    queue = rng.lognormal(-6, 0.5, n)
    infer = rng.lognormal(-4, 0.3, n)
    total = queue + infer + rng.uniform(0, 1e-3, n)
    regions = rng.choice(["eu", "us", "apac"], n)
    devices = rng.choice(["mobile", "desktop"], n)
    return [Prediction(request_id=f"{seed}-{i}", ts=float(req_ts[i] + total[i]), model=model,
                       variant=variant, model_version="v1",
                       output=ModelOutput(label=0, score=0.1, probabilities=[0.9, 0.1]),
                       latency=Latency(queue_s=float(queue[i]), inference_s=float(infer[i]),
                                       total_s=float(total[i])),
                       features=dict(zip(NAMES, map(float, X[i]), strict=True)),
                       segment={"region": str(regions[i]), "device": str(devices[i])})
            for i in range(n)]


def _records(preds: list[Prediction], partition: int, first_offset: int = 0) -> list[SourceRecord]:
    return [SourceRecord(TOPICS.predictions, partition, first_offset + i, p.request_id.encode(),
                         encode(p)) for i, p in enumerate(preds)]


def _summaries(outputs: list) -> list[MonitorSummary]:
    recs = [SourceRecord(o.topic, 0, i, o.key, o.value)
            for i, o in enumerate(outputs) if o.topic == TOPICS.summaries]
    dec = BatchDecoder(MonitorSummary, max_record_bytes=1 << 22).decode(recs)
    assert dec.rejected == []
    return dec.events


def _np_hist(ref: ReferenceProfile, preds: list[Prediction]) -> dict[str, list[int]]:
    out = {}
    for j, name in enumerate(ref.names):
        x = np.array([p.features[name] for p in preds])
        bins = np.r_[-np.inf, ref.edges[j], np.inf]
        # np.histogram's last bin is closed; nothing equals +inf here, so bins agree.
        out[name] = np.histogram(x, bins=bins)[0].tolist()
    return out


def _stage(ref: ReferenceProfile | None, clock: Clock, *, size: int = 10_000,
           interval: float = 60.0) -> MonitorStage:
    return MonitorStage(topics=TOPICS, references=lambda m: ref if m == "churn" else None,
                        summary_size=size, summary_interval_s=interval,
                        max_record_bytes=1 << 20, relative_accuracy=ACC, clock=clock)


def test_summary_per_partition_model_variant(reference: ReferenceProfile) -> None:
    clock = Clock()
    stage = _stage(reference, clock)
    groups = {(0, "churn", "A"): _predictions(1, 300),
              (0, "churn", "B"): _predictions(2, 200, variant="B"),
              (1, "churn", "A"): _predictions(3, 250),
              (2, "ranker", "A"): _predictions(4, 50, model="ranker")}
    for (part, _, _), preds in groups.items():
        stage.add(_records(preds, part, first_offset=1000 * part))
    outputs = stage.flush(force=True)
    assert outputs is not None
    sums = {(s.partition, s.model, s.variant): s for s in _summaries(outputs)}
    assert set(sums) == set(groups)
    assert all(o.key == o_model for o, o_model in
               zip(outputs, [s.model.encode() for s in _summaries(outputs)], strict=True))
    for key, preds in groups.items():
        s = sums[key]
        assert s.n == len(preds)
        offsets = [r.offset for r in _records(preds, key[0], 1000 * key[0])]
        assert (s.first_offset, s.last_offset) == (offsets[0], offsets[-1])
        req_ts = [p.ts - p.latency.total_s for p in preds]
        assert s.window_start == min(req_ts)
        assert s.window_end == max(req_ts)
        if key[1] == "churn":
            assert s.histograms == _np_hist(reference, preds)
        else:
            assert s.histograms == {} and s.segments == {}


def test_segment_histograms_equal_numpy(reference: ReferenceProfile) -> None:
    clock = Clock()
    stage = _stage(reference, clock)
    preds = _predictions(5, 600)
    stage.add(_records(preds, 0))
    outputs = stage.flush(force=True)
    assert outputs is not None
    [s] = _summaries(outputs)
    labels = sorted({f"{k}={v}" for p in preds for k, v in p.segment.items()})
    assert sorted(s.segments) == labels
    for label in labels:
        key, value = label.split("=")
        members = [p for p in preds if p.segment.get(key) == value]
        assert s.segments[label] == _np_hist(reference, members)
    # every prediction is in exactly one region: the region histograms add up to the total
    total = np.sum([s.segments[f"region={r}"]["a"] for r in ("eu", "us", "apac")], axis=0)
    assert total.tolist() == s.histograms["a"]


def test_latency_sketches_within_relative_accuracy(reference: ReferenceProfile) -> None:
    clock = Clock()
    stage = _stage(reference, clock)
    preds = _predictions(6, 2000)
    stage.add(_records(preds, 0))
    outputs = stage.flush(force=True)
    assert outputs is not None
    [s] = _summaries(outputs)
    assert set(s.latency) == {"queue", "inference", "total"}
    for part in ("queue", "inference", "total"):
        sketch = QuantileSketch.from_dict(s.latency[part])
        values = np.array([getattr(p.latency, f"{part}_s") for p in preds])
        assert sketch.count == len(values)
        assert sketch.sum == pytest.approx(values.sum(), rel=1e-12)
        for q in (0.1, 0.5, 0.9, 0.99):
            exact = float(np.quantile(values, q, method="lower"))
            assert abs(sketch.quantile(q) - exact) <= ACC * exact


def test_flush_on_summary_size(reference: ReferenceProfile) -> None:
    clock = Clock()
    stage = _stage(reference, clock, size=100, interval=60.0)
    preds = _predictions(7, 100)
    stage.add(_records(preds[:99], 0))
    assert stage.flush(force=False) is None
    stage.add(_records(preds[99:], 0, first_offset=99))
    outputs = stage.flush(force=False)
    assert outputs is not None
    [s] = _summaries(outputs)
    assert (s.n, s.first_offset, s.last_offset) == (100, 0, 99)
    assert stage.flush(force=False) is None


def test_flush_on_interval(reference: ReferenceProfile) -> None:
    clock = Clock(10.0)
    stage = _stage(reference, clock, size=10_000, interval=2.0)
    assert stage.wait_s() is None
    stage.add(_records(_predictions(8, 20), 0))
    clock.t = 11.0
    stage.add(_records(_predictions(9, 20), 1))
    assert stage.wait_s() == pytest.approx(1.0)
    clock.t = 11.999
    assert stage.flush(force=False) is None
    clock.t = 12.0
    outputs = stage.flush(force=False)
    assert outputs is not None
    assert sorted(s.partition for s in _summaries(outputs)) == [0, 1]


def test_bad_prediction_records_are_dead_lettered(reference: ReferenceProfile) -> None:
    clock = Clock()
    stage = _stage(reference, clock)
    good = _records(_predictions(10, 3), 0)
    bad = SourceRecord(TOPICS.predictions, 0, 3, b"x", b'{"request_id": "x"}')
    stage.add([*good, bad])
    outputs = stage.flush(force=False)  # rejections flush at once
    assert outputs is not None
    [s] = _summaries(outputs)
    assert s.n == 3
    [dead] = [reason_of(o.headers) for o in outputs if o.topic == TOPICS.dead_letter]
    assert dead[H_KIND] == "invalid"


def test_cost_is_summed_per_model_version_as_numpy_sums_it(reference: ReferenceProfile) -> None:
    from streams.wire.events import Cost

    preds = _predictions(7, 120)
    rng = np.random.default_rng(7)
    cpu = rng.uniform(1e-6, 1e-4, 120)
    for i, p in enumerate(preds):
        p.model_version = "v1" if i % 3 else "v2"
        p.cost = None if i % 10 == 0 else Cost(cpu_s=float(cpu[i]),
                                               energy_j=float(cpu[i]) * 40 if i % 2 else None)
    stage = _stage(reference, Clock())
    stage.add(_records(preds, 0))
    (summary,) = _summaries(stage.flush(force=True) or [])
    for version in ("v1", "v2"):
        mine = [i for i, p in enumerate(preds) if p.model_version == version and i % 10]
        sums = summary.cost[version]
        assert sums.n == len(mine)  # predictions without a cost are not counted
        assert sums.cpu_s == pytest.approx(float(np.sum(cpu[mine])), rel=1e-12)
        assert sums.energy_j == pytest.approx(float(np.sum(cpu[[i for i in mine if i % 2]])) * 40)
        assert sums.gpu_s is None
