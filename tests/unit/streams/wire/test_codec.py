"""Decoding of raw records into events, encoding, and dead letters (Kafka-free)."""

from __future__ import annotations

import json

import msgspec
import pytest

from streams.wire import events as ev
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.dead_letter import (
    H_ERROR,
    H_KIND,
    H_OFFSET,
    H_PARTITION,
    H_TOPIC,
    dead_letter,
    reason_of,
)

MAX = 2048


def _req(i: int, **extra: object) -> dict[str, object]:
    doc: dict[str, object] = {"id": f"r{i}", "ts": 100.0 + i, "model": "churn",
                              "features": {"f0": float(i), "f1": 0.5}}
    doc.update(extra)
    return doc


def _rec(offset: int, value: bytes | None, key: bytes | None = b"k") -> SourceRecord:
    return SourceRecord("inferwatch.requests", 3, offset, key, value)


def _decode_one(value: bytes | None) -> tuple[list[ev.InferenceRequest], list]:
    out = BatchDecoder(ev.InferenceRequest, max_record_bytes=MAX).decode([_rec(0, value)])
    return out.events, out.rejected


def test_valid_events_decode_with_their_values() -> None:
    evs, rej = _decode_one(json.dumps(_req(1, segment={"region": "eu"}, unit_id="u1")).encode())
    assert rej == []
    assert len(evs) == 1
    e = evs[0]
    assert (e.id, e.ts, e.model, e.unit_id) == ("r1", 101.0, "churn", "u1")
    assert e.features == {"f0": 1.0, "f1": 0.5}
    assert e.segment == {"region": "eu"}
    assert e.schema_version == 1


@pytest.mark.parametrize(("value", "kind", "words"), [
    (b'{"id": "r1", "ts": 1.0, ', "malformed", ["truncated"]),
    (b"not json at all", "malformed", ["malformed"]),
    (b'{"id": "r1", "ts": 1.0, "model": "m", "features": {"f0": NaN}}', "malformed",
     ["malformed"]),
    (json.dumps(_req(1, schema_version=2)).encode(), "schema_version", ["schema_version", "2"]),
    (b'{"id": "r1", "ts": 1.0, "model": "m", "features": {"f0": 1e999}}', "invalid",
     ["features", "range"]),
    (b'{"id": "r1", "ts": 1.0, "model": "m", "features": {"f0": "high"}}', "invalid",
     ["features", "float", "str"]),
    (b'{"ts": 1.0, "model": "m", "features": {"f0": 1.0}}', "invalid", ["missing", "id"]),
    (b'{"id": "", "ts": 1.0, "model": "m", "features": {"f0": 1.0}}', "invalid", ["id"]),
    (b'{"id": "r1", "ts": 1.0, "model": "m", "features": {}, "segment": {"a": 1}}', "invalid",
     ["segment"]),
    (b'{"id": "r1", "ts": 1.0, "model": "m", "features": {}, "embedding": [0.1, 1e999]}',
     "invalid", ["embedding[1]", "range"]),
    (b'{"id": "r1", "ts": 1.0, "model": "m", "features": {}, "embedding": []}', "invalid",
     ["embedding", "empty"]),
    (b'{"id": "r1", "ts": 1.0, "model": "", "features": {}}', "invalid", ["model", "empty"]),
    (b'{"id": "r1", "ts": 1.0, "model": "\\u0000slo\\u0000m", "features": {}}', "invalid",
     ["model", "printable", "\\x00slo"]),
], ids=["truncated", "not-json", "nan-literal", "schema-v2", "1e999", "string-feature",
        "missing-id", "empty-id", "int-segment", "inf-embedding", "empty-embedding",
        "empty-model", "nul-in-model"])
def test_bad_records_are_rejected_with_kind_and_reason(value: bytes, kind: str,
                                                       words: list[str]) -> None:
    evs, rej = _decode_one(value)
    assert evs == []
    assert len(rej) == 1
    assert rej[0].kind == kind
    for word in words:
        assert word.lower() in rej[0].reason.lower()
    assert rej[0].record.value == value


def test_none_value_is_rejected_as_empty() -> None:
    evs, rej = _decode_one(None)
    assert evs == []
    assert [(r.kind, r.reason) for r in rej] == [("empty", "record has no value")]


def test_zero_length_value_is_rejected_as_empty() -> None:
    # A zero-length value carries no event either; "Input data was truncated" does not
    # tell the reader that the record was empty.
    evs, rej = _decode_one(b"")
    assert evs == []
    assert [r.kind for r in rej] == ["empty"]
    assert "no value" in rej[0].reason


def test_oversized_record_is_rejected_naming_its_size_and_the_limit() -> None:
    doc = _req(1, text="x" * 5000)
    value = json.dumps(doc).encode()
    evs, rej = _decode_one(value)
    assert evs == []
    assert rej[0].kind == "too_large"
    assert str(len(value)) in rej[0].reason
    assert f"max_record_bytes={MAX}" in rej[0].reason


def test_record_of_exactly_the_limit_is_accepted() -> None:
    base = json.dumps(_req(1, text="")).encode()
    value = json.dumps(_req(1, text="x" * (MAX - len(base)))).encode()
    assert len(value) == MAX
    evs, rej = _decode_one(value)
    assert rej == [] and len(evs) == 1


def test_order_of_valid_events_is_kept_and_bad_ones_do_not_stop_the_batch() -> None:
    records = []
    for i in range(12):
        value = b"{oops" if i % 4 == 1 else json.dumps(_req(i)).encode()
        records.append(_rec(100 + i, value))
    out = BatchDecoder(ev.InferenceRequest, max_record_bytes=MAX).decode(records)
    good = [i for i in range(12) if i % 4 != 1]
    assert [e.id for e in out.events] == [f"r{i}" for i in good]
    assert [s.offset for s in out.sources] == [100 + i for i in good]
    assert [r.record.offset for r in out.rejected] == [101, 105, 109]


def _every_event() -> list[ev.Event]:
    lat = ev.Latency(queue_s=0.001, inference_s=0.002, total_s=0.004)
    return [
        ev.InferenceRequest(id="r1", ts=1.5, model="churn", features={"f0": 1.0, "f1": -2.5},
                            unit_id="u1", text="hi", segment={"region": "eu"}),
        ev.Prediction(request_id="r1", ts=2.0, model="churn", variant="B", model_version="v2",
                      output=ev.ModelOutput(label=1, score=0.75, probabilities=[0.25, 0.75]),
                      latency=lat, batch_size=8, device="cuda", features={"f0": 1.0},
                      segment={"device": "mobile"}, unit_id="u1"),
        ev.ShadowPrediction(request_id="r1", ts=2.1, model="churn", variant="shadow",
                            model_version="v3", output=ev.ModelOutput(label=0, score=0.4),
                            latency=lat, answer_label=1, answer_version="v2"),
        ev.ShadowPairs(model="churn", version="v3", answer_version="v2", requests=10,
                       disagreements=3, labelled=6, shadow_wins=2, champion_wins=1,
                       window_start=1.0, window_end=2.0),
        ev.ShadowDecided(id="s1", model="churn", version="v3", answer_version="v2",
                         action="reject", test="beta-binomial-discordant-pairs",
                         estimate=0.2, lower=0.05, upper=0.45, p_value=0.01, effect=-0.03,
                         labelled=400, discordant=30, requests=900, disagreement=0.08,
                         disagreement_lower=0.05, disagreement_upper=0.12,
                         reason="worse", ts=9.0),
        ev.Outcome(request_id="r1", ts=3.0, kind="conversion", value=1.0),
        ev.DetectorReport(detector="feature_drift", model="churn", variant="A", segment="*",
                          window_start=1.0, window_end=2.0, n=100, statistic=0.3,
                          threshold=0.1, decision="drift", p_value=1e-9,
                          evidence={"feature": "f2", "psi": 0.3}, ts=5.0),
        ev.Alert(fingerprint="abc", status="resolved", severity="ticket",
                 labels={"model": "churn"}, annotations={"summary": "s"}, starts_at=1.0,
                 ends_at=9.0, evidence={"x": 1.0}),
        ev.RetrainRequested(id="rt-1", model="churn", reason="drift", evidence={"f": "f2"},
                            data_from=1.0, data_to=2.0, requested_at=3.0),
        ev.ModelVersionPublished(model="churn", version="v3", artifact="/m/v3",
                                 action="promoted", traffic_split={"A": 0.9, "B": 0.1}, ts=4.0),
        ev.ExperimentDecided(id="e1", experiment="churn-v2", model="churn", champion="A",
                             challenger="B", action="rollback", metric="slow",
                             test="mixture-sprt-one-sided", estimate=0.04, lower=0.02,
                             upper=None, p_value=0.01, n_champion=900, n_challenger=880,
                             srm_p_value=1.0, reason="guardrail", ts=5.0),
        ev.ExperimentStarted(experiment="live", model="churn", champion="A", challenger="B",
                             share=0.1, challenger_version="v2", ts=6.0),
        ev.RetrainDecided(model="churn", status="suppressed", reason="cooldown",
                          incident_start=1.0, ts=7.0),
        ev.MonitorSummary(model="churn", variant="A", partition=2, first_offset=10,
                          last_offset=19, window_start=1.0, window_end=2.0, n=10,
                          histograms={"f0": [1, 2, 7]}, latency={"total": {"v": 1}},
                          segments={"region=eu": {"f0": [0, 1, 2]}}),
    ]


def test_every_event_type_is_covered() -> None:
    declared = {c for c in vars(ev).values()
                if isinstance(c, type) and issubclass(c, ev.Event) and c is not ev.Event}
    assert declared == {type(e) for e in _every_event()}


@pytest.mark.parametrize("event", _every_event(), ids=lambda e: type(e).__name__)
def test_encode_round_trips(event: ev.Event) -> None:
    raw = encode(event)
    assert json.loads(raw)["schema_version"] == 1
    out = BatchDecoder(type(event), max_record_bytes=MAX).decode([_rec(0, raw)])
    assert out.rejected == []
    assert out.events == [event]
    assert msgspec.json.decode(raw, type=type(event)) == event


# -- dead letters --------------------------------------------------------------------------
def test_dead_letter_keeps_bytes_and_names_the_source_in_headers() -> None:
    value = b'{"id": "r1", "ts": 1.0, "model": "m", "features": {"f0": "high"}}'
    rec = SourceRecord("inferwatch.requests", 4, 12345, b"key-1", value)
    rej = BatchDecoder(ev.InferenceRequest, max_record_bytes=MAX).decode([rec]).rejected[0]
    dl = dead_letter(rej)
    assert dl.key == b"key-1"
    assert dl.value == value
    headers = dict(dl.headers)
    assert headers[H_TOPIC] == b"inferwatch.requests"
    assert headers[H_PARTITION] == b"4"
    assert headers[H_OFFSET] == b"12345"
    assert headers[H_KIND] == b"invalid"
    assert headers[H_ERROR] == rej.reason.encode()
    assert all(isinstance(v, bytes) for _, v in dl.headers)


def test_reason_of_decodes_inferwatch_headers_only() -> None:
    rec = SourceRecord("t", 0, 7, None, None)
    rej = BatchDecoder(ev.Outcome, max_record_bytes=MAX).decode([rec]).rejected[0]
    dl = dead_letter(rej)
    assert dl.key is None and dl.value is None
    got = reason_of([*dl.headers, ("traceparent", b"00-abc")])
    assert got == {H_TOPIC: "t", H_PARTITION: "0", H_OFFSET: "7", H_KIND: "empty",
                   H_ERROR: "record has no value"}
    assert reason_of(tuple(dl.headers)) == got


def test_dead_letter_error_header_is_bounded_and_valid_utf8() -> None:
    from streams.wire.codec import Rejected
    rej = Rejected(SourceRecord("t", 1, 2, b"k", b"v"), "invalid", "é" * 5000)
    dl = dead_letter(rej)
    err = dict(dl.headers)[H_ERROR]
    assert err.decode("utf-8") == "é" * 1000


@pytest.mark.parametrize(("model", "variant", "words"), [
    ("", "A", ["model", "non-empty"]), ("churn\n", "A", ["model", "printable"]),
    ("churn", "A\x00", ["variant", "printable"])])
def test_a_prediction_names_a_printable_model_and_variant(model: str, variant: str,
                                                          words: list[str]) -> None:
    with pytest.raises(ValueError) as err:
        ev.Prediction(request_id="r1", ts=2.0, model=model, variant=variant,
                      model_version="v1", output=ev.ModelOutput(label=1, score=0.5),
                      latency=ev.Latency(queue_s=0.0, inference_s=0.0, total_s=0.0))
    assert all(word in str(err.value) for word in words)
    # an empty variant is allowed: an outside server may not split traffic
    ev.Prediction(request_id="r1", ts=2.0, model="churn", variant="", model_version="v1",
                  output=ev.ModelOutput(label=1, score=0.5),
                  latency=ev.Latency(queue_s=0.0, inference_s=0.0, total_s=0.0))


def test_an_experiment_decision_refuses_an_unprintable_name() -> None:
    raw = (b'{"id":"e","experiment":"a\\u0000b","model":"m","champion":"A","challenger":"B",'
           b'"action":"continue","metric":"x","test":"t","estimate":null,"lower":null,'
           b'"upper":null,"p_value":1.0,"n_champion":0,"n_challenger":0,"srm_p_value":1.0,'
           b'"reason":"r"}')
    out = BatchDecoder(ev.ExperimentDecided, max_record_bytes=MAX).decode([_rec(0, raw)])
    assert out.events == [] and "experiment must be a non-empty printable name" in \
        out.rejected[0].reason


def test_the_model_updates_topic_decodes_once_into_the_kind_its_tag_names() -> None:
    """One tagged union for the topic: each event comes back as its own type, a model
    version of the previous release (no tag) as a model version, an unknown kind as a
    rejected record with the reason, never as a guess."""
    kinds = [e for e in _every_event() if isinstance(
        e, ev.ModelVersionPublished | ev.ExperimentDecided | ev.ExperimentStarted)]
    untagged = msgspec.json.encode({k: v for k, v in msgspec.to_builtins(kinds[0]).items()
                                    if k != "event"})
    unknown = json.dumps({"event": "model_retired", "model": "churn"}).encode()
    records = [_rec(i, encode(e)) for i, e in enumerate(kinds)]
    records += [_rec(10, untagged), _rec(11, unknown), _rec(12, b"not json")]
    out = BatchDecoder(ev.ModelUpdate, max_record_bytes=MAX).decode(records)
    assert out.events == [*kinds, kinds[0]]
    assert [type(e) for e in out.events] == [*map(type, kinds), ev.ModelVersionPublished]
    assert b'"event":"model_version_published"' in encode(kinds[0])
    assert [(r.record.offset, r.kind) for r in out.rejected] == [(11, "invalid"),
                                                                (12, "malformed")]
    assert "model_retired" in out.rejected[0].reason
