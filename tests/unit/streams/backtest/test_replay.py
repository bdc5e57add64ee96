"""Recorded traffic, the replay's settings, and how two runs' incidents are compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.backtest.episodes import Episode, compare, episodes
from streams.backtest.replay import EventClock
from streams.backtest.replay_settings import changes, read_file, worker_config
from streams.backtest.traffic import RecordedTraffic
from streams.errors import ConfigError
from streams.kafka.record_writer import partition_of
from streams.wire.events import Alert, Latency, ModelOutput, Outcome, Prediction
from streams.wire.topics import Topics


def _prediction(i: int, ts: float) -> Prediction:
    return Prediction(request_id=f"r{i}", ts=ts, model="churn", variant="A",
                      model_version="v1", output=ModelOutput(label=1, score=0.7),
                      latency=Latency(queue_s=0.0, inference_s=0.01, total_s=0.01),
                      features={"f1": float(i)})


def _alert(fp: str, status: str, start: float, end: float | None = None) -> Alert:
    return Alert(fingerprint=fp, status=status, severity="page", starts_at=start, ends_at=end,
                 labels={"model": "churn", "variant": "A", "detector": "feature_drift",
                         "feature": "f2", "segment": "*"}, annotations={})


def test_traffic_is_ordered_by_event_time_and_round_trips_through_jsonl(
        tmp_path: Path) -> None:
    topics = Topics()
    preds = [_prediction(i, ts) for i, ts in enumerate([3.0, 1.0, 2.0, 10.0])]
    outs = [Outcome(request_id="r1", ts=2.5, kind="label", value=1.0)]
    traffic = RecordedTraffic.from_events(preds, outs, topics)
    assert [ts for ts, _ in traffic.records] == [1.0, 2.0, 2.5, 3.0, 10.0]
    count = topics.partitions("predictions")
    assert all(r.partition == partition_of(r.key or b"", count) for _, r in traffic.records)
    path = tmp_path / "t.jsonl.gz"
    traffic.write_jsonl(path)
    back = RecordedTraffic.read_jsonl(path, topics)
    assert [(ts, r.topic, r.partition, r.value) for ts, r in back.records] == [
        (ts, r.topic, r.partition, r.value) for ts, r in traffic.records]
    assert back.predictions == 4 and len(back) == 5
    # batches: at most 2 records, and no more than 1 s of event time each
    spans = [[ts for ts, _ in group] for group in _batched(back, 2, 1.0)]
    assert spans == [[1.0, 2.0], [2.5, 3.0], [10.0]]


def _batched(traffic: RecordedTraffic, n: int, span: float) -> list[list[tuple[float, object]]]:
    times = iter(traffic.records)
    return [[next(times) for _ in batch]
            for _, batch in traffic.batches(max_records=n, max_span_s=span)]


def test_a_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"topic": "requests", "partition": 0, "value": {"ts": 1}}\n')
    with pytest.raises(ValueError, match=r"t.jsonl, line 1: topic must be one of"):
        RecordedTraffic.read_jsonl(path, Topics())


def test_the_event_clock_never_runs_backwards() -> None:
    clock = EventClock(5.0)
    clock.advance(4.0)
    assert clock() == 5.0
    clock.advance(6.5)
    assert clock() == 6.5


def test_episodes_pair_fire_and_resolve_and_a_refire_is_another() -> None:
    found = episodes([_alert("a", "firing", 10.0), _alert("a", "resolved", 10.0, 20.0),
                      _alert("a", "firing", 30.0), _alert("b", "firing", 12.0)])
    assert [(e.fingerprint, e.fired_at, e.resolved_at) for e in found] == [
        ("a", 10.0, 20.0), ("b", 12.0, None), ("a", 30.0, None)]
    assert found[0].identity == "churn/A feature_drift [feature=f2 segment=*]"
    assert episodes([_alert("a", "firing", 1.0)], frozenset({"schema"})) == []


def test_compare_lists_what_is_silenced_added_and_moved() -> None:
    def ep(fp: str, fired: float, resolved: float | None = None) -> Episode:
        return Episode(fp, "churn", "A", "feature_drift", "page", "", fired, resolved)

    before = [ep("a", 10.0, 20.0), ep("b", 12.0), ep("a", 40.0)]
    after = [ep("a", 10.5, 20.9), ep("c", 15.0), ep("a", 43.0)]
    diff = compare(before, after, tolerance_s=1.0)
    assert [(b.fired_at, a.fired_at) for b, a in diff.matched] == [(10.0, 10.5)]
    assert [(b.fired_at, a.fired_at) for b, a in diff.moved] == [(40.0, 43.0)]
    assert [e.fingerprint for e in diff.only_before] == ["b"]
    assert [e.fingerprint for e in diff.only_after] == ["c"]
    assert not diff.same
    # a resolve on one side only is a move, not a match
    assert compare([ep("a", 1.0, 5.0)], [ep("a", 1.0)], tolerance_s=1.0).moved
    assert compare(before, before, tolerance_s=0.0).same


def test_settings_changes_name_variables_and_a_rule_test_ignores_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert changes(["drift_min_psi=0.3", "INFERWATCH_MONITOR_FIRE_AFTER=3"]) == {
        "INFERWATCH_MONITOR_DRIFT_MIN_PSI": "0.3", "INFERWATCH_MONITOR_FIRE_AFTER": "3"}
    with pytest.raises(ConfigError, match="'no_such' names no setting"):
        changes(["no_such=1"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        changes(["drift_min_psi"])
    file = tmp_path / "stricter.env"
    file.write_text("# stricter drift\nexport drift_min_psi=0.4\n\nwindow_size=800\n")
    assert read_file(file) == {"INFERWATCH_MONITOR_DRIFT_MIN_PSI": "0.4",
                               "INFERWATCH_MONITOR_WINDOW_SIZE": "800"}
    monkeypatch.setenv("INFERWATCH_MONITOR_WINDOW_SIZE", "700")
    assert worker_config({}, inherit=True).monitor.window_size == 700
    assert worker_config({}, inherit=False).monitor.window_size == 1000
    assert worker_config(read_file(file), inherit=True).monitor.window_size == 800
    with pytest.raises(ConfigError, match="INFERWATCH_MONITOR_WINDOW_SIZE"):
        worker_config({"window_size": "3"}, inherit=False)
