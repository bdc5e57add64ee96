"""The sample-ratio test counts units, not predictions.

Units are assigned 50/50 (or 52/48) by a seeded draw, each sends a heavy-tailed number of
requests (geometric, mean 50) spread over two partitions and a few looks; the monitor's
summaries carry the units each partition saw first (as :class:`UnitSighting` makes them),
and a real :class:`DecisionStage` judges them. The prediction counts of the same stream are
fed to a :class:`SequentialSRM` beside it: the old test, which a healthy split fails.
"""

from __future__ import annotations

import msgspec
import numpy as np

from detectors.ab.experiment import SRM_TEST
from detectors.ab.srm import SequentialSRM
from streams.decision.config import DecisionConfig
from streams.decision.stage import DecisionStage
from streams.monitoring.monitor_stage import MonitorStage
from streams.monitoring.unit_sighting import UnitSighting, UnitTally, unit_key
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import ExperimentDecided, Latency, ModelOutput, MonitorSummary, Prediction
from streams.wire.topics import Topics

TOPICS = Topics("t.")
ROUNDS, NEW_UNITS, MEAN_REQUESTS = 300, 100, 50


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _run(share_b: float, seed: int) -> tuple[list[ExperimentDecided], SequentialSRM,
                                               np.ndarray, np.ndarray]:
    """Feed the stream; the decisions, the prediction-count SRM, the units per arm, and
    the units per arm the stage's SRM counted."""
    rng = np.random.default_rng(seed)
    clock = Clock()
    config = DecisionConfig(window_size=400, min_window=10, window_max_s=1e9,
                            experiments="x=churn:A:B:0.5")
    stage = DecisionStage(topics=TOPICS, references=lambda m: None, config=config,
                          max_record_bytes=1 << 22, clock=clock)
    sighting = UnitSighting()
    by_predictions = SequentialSRM([0.5, 0.5])
    # every unit: the round it arrives, its arm, its requests, each in one of 4 rounds
    total = ROUNDS * NEW_UNITS
    arms = (rng.random(total) < share_b).astype(int)
    units = np.bincount(arms, minlength=2).astype(float)
    requests = rng.geometric(1.0 / MEAN_REQUESTS, total)
    unit_of = np.repeat(np.arange(total), requests)
    when = unit_of // NEW_UNITS + rng.integers(0, 4, unit_of.size)
    unit_of = unit_of[np.argsort(when, kind="stable")]
    bounds = np.searchsorted(np.sort(when), np.arange(ROUNDS + 1))
    names = [f"u{i}" for i in range(total)]
    outputs, offset = [], 0
    for r in range(ROUNDS):
        now = unit_of[bounds[r]:bounds[r + 1]]
        by_arm = [[names[i] for i in now[arms[now] == arm]] for arm in (0, 1)]
        records, counts = [], np.zeros(2)
        for arm, variant in enumerate("AB"):
            ids = by_arm[arm]
            counts[arm] = len(ids)
            for partition in (0, 1):  # a unit's requests reach both partitions
                part = ids[partition::2]
                s = MonitorSummary(
                    model="churn", variant=variant, partition=partition, first_offset=offset,
                    last_offset=offset, window_start=clock.t, window_end=clock.t + 1.0,
                    n=len(part), histograms={}, latency={}, slo_good=len(part), errors=0,
                    unit_keys=sighting.first_seen(partition, "churn", variant, part))
                records.append(SourceRecord(TOPICS.summaries, 0, offset, b"churn", encode(s)))
                offset += 1
        by_predictions.update(counts)
        clock.t += 1.0
        stage.add(records)
        outputs.extend(stage.flush(force=False) or [])
    decisions = [msgspec.json.decode(o.value or b"", type=ExperimentDecided) for o in outputs
                 if o.topic == TOPICS.model_updates]
    test = stage._state("churn").experiment
    assert test is not None
    return decisions, by_predictions, units, test.srm.counts


def test_a_healthy_split_of_heavy_users_is_flagged_by_predictions_but_not_by_units() -> None:
    decisions, by_predictions, units, counted = _run(0.5, seed=7)
    assert len(decisions) > 100  # the test looked after every challenger window
    # predictions per arm are overdispersed by heavy users: the old test pages falsely
    assert by_predictions.mismatch
    # units per arm are a fair binomial: never flagged at any look
    assert all(d.test != SRM_TEST and d.srm_p_value > 0.001 for d in decisions)
    final = decisions[-1].srm_p_value
    assert final > 0.01
    # nothing counted twice: the SRM holds each unit once (the last looks' units are
    # still held by the time alignment, and a few drew all their requests later)
    assert np.all(counted <= units) and np.all(counted >= 0.97 * units)


def test_a_52_48_unit_split_is_still_flagged() -> None:
    decisions, _, units, _ = _run(0.48, seed=8)
    assert units[1] / units.sum() < 0.49
    flagged = [d for d in decisions if d.test == SRM_TEST]
    assert flagged and flagged[-1].srm_p_value <= 0.001 and flagged[-1].action == "continue"


def test_the_monitor_sends_each_units_first_sighting_per_partition() -> None:
    clock = Clock()
    stage = MonitorStage(topics=TOPICS, references=lambda m: None, summary_size=100,
                         summary_interval_s=60.0, max_record_bytes=1 << 20, clock=clock)
    units = ["u1", "u2", "u1", "", "u3", "u2"]
    preds = [Prediction(request_id=f"r{i}", ts=10.0 + i, model="churn", variant="A",
                        model_version="v1", unit_id=u,
                        output=ModelOutput(label=0, score=0.1, probabilities=[0.9, 0.1]),
                        latency=Latency(queue_s=0.0, inference_s=0.01, total_s=0.01))
             for i, u in enumerate(units)]

    def summaries(partition: int, batch: list[Prediction], first: int) -> list[MonitorSummary]:
        stage.add([SourceRecord(TOPICS.predictions, partition, first + i, p.request_id.encode(),
                                encode(p)) for i, p in enumerate(batch)])
        out = [SourceRecord(o.topic, 0, i, o.key, o.value)
               for i, o in enumerate(stage.flush(force=True) or [])]
        return BatchDecoder(MonitorSummary, max_record_bytes=1 << 20).decode(out).events

    [s] = summaries(0, preds[:4], 0)
    assert s.unit_keys == sorted(map(unit_key, ["u1", "u2"]))  # "" is no unit
    [s] = summaries(0, preds[4:], 4)
    assert s.unit_keys == [unit_key("u3")]  # u2 was seen in this partition already
    [s] = summaries(1, preds[4:], 0)
    assert s.unit_keys == sorted(map(unit_key, ["u2", "u3"]))  # a partition of its own


def test_sampling_keeps_the_units_whose_hash_is_under_the_rate() -> None:
    ids = [f"user-{i}" for i in range(20_000)]
    kept = UnitSighting(rate=0.25).first_seen(0, "m", "A", ids)
    expected = sorted(unit_key(u) for u in ids if unit_key(u) < 2 ** 62)
    assert kept == expected and abs(len(kept) / len(ids) - 0.25) < 0.02


def test_full_sets_start_again_and_count_returning_units_once_more() -> None:
    sighting = UnitSighting(cap=3)
    assert len(sighting.first_seen(0, "m", "A", ["a", "b", "c"])) == 3
    assert sighting.first_seen(0, "m", "A", ["c", "d"]) == [unit_key("d")]  # full: cleared
    assert sighting.first_seen(0, "m", "A", ["d", "a"]) == [unit_key("a")]  # a once more
    tally = UnitTally(cap=3)
    assert tally.new_units([1, 2, 3]) == 3 and tally.new_units([3, 4]) == 1  # full: cleared
    assert tally.new_units([4, 1]) == 1  # 4 counted after the clear, 1 again
