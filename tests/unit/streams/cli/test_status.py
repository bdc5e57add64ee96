"""``inferwatch status``: the folds of reports and alerts, and the printed lines (pure)."""

from __future__ import annotations

from streams.cli.status import Status, last_windows, open_incidents
from streams.wire.events import Alert, DetectorReport


def _report(model: str, variant: str, end: float, n: int = 100) -> DetectorReport:
    return DetectorReport(detector="latency_quantile", model=model, variant=variant,
                          segment="*", window_start=end - 10.0, window_end=end, n=n,
                          statistic=0.1, threshold=0.25, decision="ok")


def _alert(fingerprint: str, status: str, starts_at: float, summary: str = "s") -> Alert:
    return Alert(fingerprint=fingerprint, status=status, severity="page",  # type: ignore[arg-type]
                 labels={}, annotations={"summary": summary}, starts_at=starts_at,
                 ends_at=starts_at + 5.0 if status == "resolved" else None)


def test_the_last_window_is_the_latest_end_per_model_and_variant_whatever_the_order() -> None:
    reports = [_report("churn", "A", 130.0, 3), _report("churn", "A", 150.0, 5),
               _report("churn", "B", 120.0, 2), _report("churn", "A", 140.0, 4),
               _report("ranker", "A", 110.0, 1)]
    assert {k: r.n for k, r in last_windows(reports).items()} == {
        ("churn", "A"): 5, ("churn", "B"): 2, ("ranker", "A"): 1}
    assert last_windows([]) == {}


def test_open_incidents_are_those_whose_latest_state_fires_in_the_order_they_fired() -> None:
    alerts = [_alert("late", "firing", 30.0), _alert("early", "firing", 10.0),
              _alert("gone", "firing", 20.0), _alert("gone", "resolved", 20.0),
              _alert("back", "resolved", 5.0), _alert("back", "firing", 40.0)]
    assert [a.fingerprint for a in open_incidents(alerts)] == ["early", "late", "back"]
    assert open_incidents([_alert("x", "firing", 1.0), _alert("x", "resolved", 1.0)]) == []


def test_the_lines_sort_groups_and_windows_and_say_how_long_ago() -> None:
    status = Status(lag={"p.sink": {"p.alerts": 2, "p.predictions": 0},
                         "p.decide": {"p.summaries": 7}},
                    windows=last_windows([_report("ranker", "A", 150.0, 1004),
                                          _report("churn", "B", 100.0, 12)]),
                    open_alerts=[_alert("fp-a", "firing", 120.0, "churn/A drift")])
    lines = status.lines(now=160.0)
    assert lines[0] == "consumer lag (records not yet processed):"
    assert [ln.split() for ln in lines[1:4]] == [["p.decide", "p.summaries", "7"],
                                                 ["p.sink", "p.alerts", "2"],
                                                 ["p.sink", "p.predictions", "0"]]
    assert lines[4] == "last window closed:"
    assert lines[5] == "  churn/B              60.0 s ago (1970-01-01 00:01:40Z, 12 predictions)"
    assert lines[6] == "  ranker/A              10.0 s ago (1970-01-01 00:02:30Z, 1004 predictions)"
    assert lines[7:] == ["open incidents: 1",
                         "  1970-01-01T00:02:00Z FIRING   [page] churn/A drift |  | fp=fp-a"]


def test_an_empty_status_says_so_and_a_window_from_the_future_is_zero_seconds_ago() -> None:
    assert Status().lines(now=0.0) == [
        "consumer lag (records not yet processed):", "  no consumer groups yet",
        "last window closed:", "  none yet", "open incidents: 0"]
    ahead = Status(windows=last_windows([_report("churn", "A", 500.0)])).lines(now=400.0)
    assert "     0.0 s ago" in ahead[3]
