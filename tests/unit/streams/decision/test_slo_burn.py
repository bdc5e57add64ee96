"""The latency SLO's burn rate, judged per decision window from partition summaries."""

from __future__ import annotations

from streams.decision.config import DecisionConfig
from streams.decision.slo_tracker import ERROR_BURN, SLO_BURN, SLO_KEY
from streams.decision.stage import DecisionStage
from streams.wire.codec import BatchDecoder, SourceRecord, encode
from streams.wire.events import Alert, DetectorReport, MonitorSummary
from streams.wire.topics import Topics

TOPICS = Topics("t.")


def _summary(minute: int, good: int, n: int = 1000) -> SourceRecord:
    s = MonitorSummary(model="m", variant="A", partition=0, first_offset=minute,
                       last_offset=minute, window_start=60.0 * minute,
                       window_end=60.0 * minute + 59, n=n, histograms={}, latency={},
                       slo_good=good)
    return SourceRecord(TOPICS.summaries, 0, minute, b"m", encode(s))


def _decode(outputs: list, topic: str, event: type) -> list:  # type: ignore[type-arg]
    dec = BatchDecoder(event, max_record_bytes=1 << 20)
    return dec.decode([SourceRecord(o.topic, 0, 0, o.key, o.value)
                       for o in outputs if o.topic == topic]).events


def test_fast_burn_pages_at_the_workbook_minute_and_resolves_after() -> None:
    """99% SLO, budget 1%. After 6 good hours, every request is slow (burn 100x).

    The 1 h window's burn after m bad minutes is 100 * m / 60 >= 14.4 from m = 9 on, and
    the 5 min window burns 100x at once: the page comes with the 9th bad minute. When
    requests are good again, the 5 min window drops under 14.4 once at most 14.4% of its
    5 buckets are bad, i.e. with the 5th good minute: resolved there. The ticket (1x over
    3 days and 6 hours) fires first, with the 4th bad minute (4 of 364 minutes bad is
    1.1% > 1%, 3 of 363 is 0.83%), and stays firing: 12 bad minutes stay in both windows.
    """
    now = [0.0]
    stage = DecisionStage(topics=TOPICS, references=lambda m: None,
                          config=DecisionConfig(window_size=1000, min_window=200),
                          max_record_bytes=1 << 20, clock=lambda: now[0])
    events: list[tuple[int, str, str]] = []
    plan = [1000] * 360 + [0] * 12 + [1000] * 6  # good per minute, of 1000
    for minute, good in enumerate(plan):
        now[0] = 60.0 * minute + 59
        stage.add([_summary(minute, good)])
        out = stage.flush(force=False) or []
        events += [(minute - 360, a.status, a.severity) for a in _decode(out, TOPICS.alerts, Alert)
                   if a.labels["detector"] == SLO_BURN]
        reports = [r for r in _decode(out, TOPICS.reports, DetectorReport)
                   if r.detector == SLO_BURN]
        assert len(reports) == 1
    assert events == [(3, "firing", "ticket"), (8, "firing", "page"),
                      (12 + 4, "resolved", "page")]
    last = reports[0]
    assert last.evidence["budget_remaining"] < 1.0  # 12 of 378 minutes were bad
    expected = 1 - (12 * 1000) / (0.01 * 378 * 1000)
    assert abs(float(last.evidence["budget_remaining"]) - expected) < 1e-6


def test_a_burst_of_model_errors_pages_on_the_error_budget() -> None:
    """99.9% without error: budget 0.1%. After six hours of clean traffic, 5% of requests
    fail: a window full of it burns 50x. The 1 h window reaches 14.4x after
    14.4 * 60 / 50 = 17.3 bad minutes (the 5 min one at once), the 6 h rule needs
    6 * 360 / 50 = 43.2: the page comes with the 18th bad minute (index 17)."""
    now = [0.0]
    stage = DecisionStage(topics=TOPICS, references=lambda m: None,
                          config=DecisionConfig(window_size=1000, min_window=200),
                          max_record_bytes=1 << 20, clock=lambda: now[0])
    pages = []
    for minute in range(360 + 25):
        now[0] = 60.0 * minute + 59
        bad = 50 if minute >= 360 else 0
        s = MonitorSummary(model="m", variant="A", partition=0, first_offset=minute,
                           last_offset=minute, window_start=60.0 * minute,
                           window_end=60.0 * minute + 59, n=1000, histograms={},
                           latency={}, errors=bad)
        stage.add([SourceRecord(TOPICS.summaries, 0, minute, b"m", encode(s))])
        out = stage.flush(force=False) or []
        pages += [(minute - 360, a.status) for a in _decode(out, TOPICS.alerts, Alert)
                  if a.labels["detector"] == ERROR_BURN and a.severity == "page"]
    assert pages == [(17, "firing")]


def test_budget_remaining_is_reported_to_the_metrics_callback() -> None:
    seen: dict[tuple[str, str, str], float] = {}
    stage = DecisionStage(topics=TOPICS, references=lambda m: None,
                          config=DecisionConfig(window_size=1000, min_window=200),
                          max_record_bytes=1 << 20, clock=lambda: 119.0,
                          on_budget=lambda m, v, slo, left: seen.__setitem__((m, v, slo), left))
    stage.add([_summary(0, 1000), _summary(1, 980)])  # 20 of 2000 slow: 1% = the whole budget
    stage.flush(force=False)
    assert seen[("m", "A", "p99 < 200 ms")] == 0.0
    assert seen[("m", "A", "errors < 0.1%")] == 1.0


def _run_with_restarts(plan: list[int], restarts: set[int]) -> tuple[
        list[tuple[int, str, str]], list[list[dict[str, float | str]]], dict[bytes, bytes]]:
    """Feed one summary a minute; at each minute of ``restarts`` a new decider adopts the
    model from the state topic as the old one wrote it (latest value per key, tombstones
    deleting). Returns the SLO pages and tickets, each minute's SLO evidence, the topic."""
    now = [0.0]

    def stage() -> DecisionStage:
        return DecisionStage(topics=TOPICS, references=lambda m: None,
                             config=DecisionConfig(window_size=1000, min_window=200),
                             max_record_bytes=1 << 20, clock=lambda: now[0])

    decide, topic = stage(), {}
    events: list[tuple[int, str, str]] = []
    evidence = []
    for minute, good in enumerate(plan):
        if minute in restarts:
            decide = stage()
            assert decide.adopt(topic, owns=lambda model: True) == ["m"]
        now[0] = 60.0 * minute + 59
        decide.add([_summary(minute, good)])
        out = decide.flush(force=False) or []
        for o in out:
            if o.topic == TOPICS.decision_state:
                if o.value is None:
                    topic.pop(o.key, None)
                else:
                    topic[o.key] = o.value
        events += [(minute - 360, a.status, a.severity) for a in _decode(out, TOPICS.alerts, Alert)
                   if a.labels["detector"] == SLO_BURN]
        evidence.append([r.evidence for r in _decode(out, TOPICS.reports, DetectorReport)
                         if r.detector in (SLO_BURN, ERROR_BURN)])
    return events, evidence, topic


def test_a_restarted_decider_resumes_its_burn_windows() -> None:
    """The page of the first test fires at bad minute 8, the decider restarts at bad
    minute 10 and again when the requests are good again. With empty windows the new
    decider could judge nothing: its first window would resolve the page and the ticket
    (a false "resolved") and page again five minutes later (two pages, one incident).
    Restored, it judges as if it had never stopped: the same alerts at the same minutes,
    the same burn rates and budget in every report."""
    plan = [1000] * 360 + [0] * 20 + [1000] * 10 + [1000, 990] * 200
    straight, straight_evidence, _ = _run_with_restarts(plan, set())
    # the ticket clears when the outage's 20 minutes leave the 6 h short window
    assert straight == [(3, "firing", "ticket"), (8, "firing", "page"),
                        (24, "resolved", "page"), (6 * 60 + 18, "resolved", "ticket")]
    restarted, restarted_evidence, topic = _run_with_restarts(
        plan, {360 + 10, 360 + 22, 360 + 400, 360 + 401})
    assert restarted == straight
    assert restarted_evidence == straight_evidence
    # what the topic keeps per variant: the hourly buckets and the last 7 hours' minutes
    slo_parts = sorted(k.rpartition(b"\x00")[2] for k in topic if k.startswith(SLO_KEY))
    newest = (len(plan) - 1) * 60 // 3600
    assert slo_parts == sorted([b"hours"] + [b"%d" % h for h in range(newest - 6, newest + 1)])
