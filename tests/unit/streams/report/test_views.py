"""The report's chart sections: what each shows for no data and for some, escaped."""

from __future__ import annotations

import re

import pytest

from streams.report.queries import DriftView, EmbeddingView, Incident, LatencyView
from streams.report.svg_chart import Mark
from streams.report.views import (
    SECTIONS,
    ReportData,
    drift_section,
    embedding_section,
    incident_section,
    latency_section,
    what_moved,
)

EVIL = "<img src=x onerror=alert(1)>"


def drift(**kw: object) -> DriftView:
    args: dict = dict(model="churn", variant="A", feature="f2", segment="region=eu",
                      threshold=0.1, psi=[(100.0, 0.05), (160.0, 0.48), (220.0, 0.3)],
                      top_psi=[(100.0, 0.07), (160.0, 0.5), (220.0, 0.31)],
                      marks=[Mark(150.0, "firing", "fired"), Mark(230.0, "resolved", "ok")],
                      bins=["<0.1", "0.1-0.5", ">0.5"], reference=[30.0, 40.0, 30.0],
                      current=[10.0, 30.0, 60.0], n_current=1000, version="v3")
    args.update(kw)
    return DriftView(**args)


def latency(**kw: object) -> LatencyView:
    args: dict = dict(model="churn", variant="B", step_s=60,
                      points=[(0.0, 0.010, 0.100, 0.200), (60.0, 0.020, 0.300, 0.400)],
                      alert_threshold_s=0.25, budget=[(0.0, 1.0), (60.0, 0.75)], marks=[])
    args.update(kw)
    return LatencyView(**args)


def incident(n: int, starts_at: float, ends_at: float | None, summary: str = "drift") -> Incident:
    return Incident(fingerprint=f"fp{n}", model="churn", detector="feature_drift", segment="*",
                    severity="page", summary=summary, starts_at=starts_at, ends_at=ends_at)


def legend(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<span class='key ([^']*)'>([^<]*)</span>", html)


def test_every_section_but_what_moved_is_empty_without_data() -> None:
    empty = ReportData(slo_threshold_s=0.25, slo_objective=0.99)
    assert [section(empty) for section in SECTIONS] == [
        "<p>No input drift was flagged.</p>", "", "", "", ""]
    assert list(SECTIONS) == [what_moved, drift_section, latency_section, embedding_section,
                              incident_section]


def test_what_moved_names_each_flagged_feature_with_its_peak_psi() -> None:
    html = what_moved(ReportData(drift=[drift(), drift(feature=EVIL, psi=[], segment="*")]))
    assert html == (
        "<h2>What moved</h2><ul class='moved'>"
        "<li><b>f2</b> in segment <b>region=eu</b> of churn/A: PSI up to 0.48 "
        "(threshold 0.1)</li>"
        "<li><b>&lt;img src=x onerror=alert(1)&gt;</b> in segment <b>*</b> of churn/A: "
        "PSI up to 0 (threshold 0.1)</li></ul>")


def test_drift_section_draws_histograms_and_psi_with_their_legends() -> None:
    html = drift_section(ReportData(drift=[drift()]))
    assert html.startswith("<h2>Input drift</h2><h3>churn/A · f2 in region=eu</h3>")
    assert html.count("<figure>") == 2 and html.count("<svg") == 2
    assert legend(html) == [
        ("ref", "reference (model version v3)"), ("cur", "window of 1000 rows"),
        ("s0", "PSI of f2 in region=eu"), ("s2", "largest PSI in the window"),
        ("thr", "threshold 0.1"), ("firing", "alert firing"), ("resolved", "alert resolved")]
    assert html.count('class="mark bar ref"') == 3 and html.count('class="mark bar cur"') == 3


def test_drift_without_a_reference_profile_says_so_and_still_draws_psi() -> None:
    html = drift_section(ReportData(drift=[drift(bins=[], reference=[], current=[], marks=[])]))
    assert "<p>No reference profile was found for this model version" in html
    assert html.count("<svg") == 1 and "mark bar" not in html
    assert [cls for cls, _ in legend(html)] == ["s0", "s2", "thr"]


@pytest.mark.parametrize(("alert_s", "thresholds"), [
    (0.25, [("thr", "SLO threshold 250 ms")]),  # the same line once
    (0.5, [("thr", "SLO threshold 250 ms"), ("thr", "alert threshold 500 ms")]),
    (None, [("thr", "SLO threshold 250 ms")]),
])
def test_latency_section_draws_quantiles_in_ms_with_each_threshold_once(
        alert_s: float | None, thresholds: list[tuple[str, str]]) -> None:
    html = latency_section(ReportData(latency=[latency(alert_threshold_s=alert_s, budget=[])],
                                      slo_threshold_s=0.25))
    assert html.startswith("<h2>Latency and SLO</h2><h3>churn/B</h3>")
    assert "<figcaption>churn/B: latency per 60 s</figcaption>" in html
    assert legend(html) == [("s0", "p50"), ("s1", "p99"), ("s2", "p99.9"), *thresholds]
    assert html.count("<svg") == 1  # no budget, no budget chart
    # p99.9 of 200 and 400 ms on an axis from 0 to 400 ms (500 with the alert line at
    # 500 ms), from the plot frame's left (x 58) to its right (466), bottom (y 206) up 192
    top = max(400.0, (alert_s or 0.0) * 1000)
    y200, y400 = 206 - 200 / top * 192, 206 - 400 / top * 192
    assert (f'<polyline class="mark line s2" points="58.0,{y200:.1f} 466.0,{y400:.1f}">'
            "<title>p99.9</title>") in html


def test_latency_section_adds_the_error_budget_with_its_objective() -> None:
    with_objective = latency_section(ReportData(latency=[latency()], slo_objective=0.999))
    assert with_objective.count("<svg") == 2
    assert ("<figcaption>churn/B: latency SLO error budget remaining (objective 0.999)"
            "</figcaption>") in with_objective
    assert ("s0", "error budget remaining") in legend(with_objective)
    assert ("thr", "exhausted") in legend(with_objective)
    without = latency_section(ReportData(latency=[latency()]))
    assert "error budget remaining</figcaption>" in without


def test_embedding_section_draws_the_novel_share_per_model() -> None:
    views = [EmbeddingView("churn", "A", [(0.0, 0.1), (60.0, 0.4)], []),
             EmbeddingView(EVIL, "B", [(0.0, 0.2)], [Mark(30.0, "firing", "fired")])]
    html = embedding_section(ReportData(embedding=views))
    assert html.startswith("<h2>Embedding drift</h2><h3>churn/A</h3>")
    assert "<h3>&lt;img src=x onerror=alert(1)&gt;/B</h3>" in html and EVIL not in html
    assert html.count("<svg") == 2
    assert legend(html) == [("s1", "novel share"), ("s1", "novel share"),
                            ("firing", "alert firing")]


def test_incidents_are_drawn_and_listed_an_open_one_running_to_the_end() -> None:
    data = ReportData(incidents=[incident(1, 100.0, 200.0), incident(2, 150.0, None, EVIL)],
                      retrains=[(300.0, "churn", "drift", "r1")])
    html = incident_section(data)
    assert html.startswith("<h2>Incidents</h2><div class='charts'><figure>")
    assert 'class="mark span page open"' in html and 'class="mark span page"' in html
    assert html.count('class="mark moment retrain"') == 1
    assert "<title>retrain churn: drift</title>" in html
    rows = re.findall(r"<tr><td>(#\d)</td><td>([^<]*)</td><td>page</td><td>(\w+)</td></tr>",
                      html)
    assert rows == [("#1", "drift", "resolved"),
                    ("#2", "&lt;img src=x onerror=alert(1)&gt;", "open")]
    assert EVIL not in html


def test_the_open_incident_span_ends_at_the_latest_moment_known() -> None:
    only_open = incident_section(ReportData(incidents=[incident(1, 100.0, None)],
                                            retrains=[(400.0, "churn", "drift", "r1")]))
    span = re.search(r'<rect class="mark span page open" x="([\d.]+)" y="[\d.]+" '
                     r'width="([\d.]+)"', only_open)
    assert span is not None
    # the frame runs from 100 (the start) to 400 (the retrain): the span fills it
    assert (float(span[1]), float(span[2])) == (58.0, 408.0)


def test_retrains_alone_make_a_timeline_without_a_table() -> None:
    html = incident_section(ReportData(retrains=[(10.0, "m", "r", "id")]))
    assert "<svg" in html and "<table>" not in html
