"""The report's SVG charts: geometry against its closed form, ticks, and hostile text.

The plot area runs from x = LEFT to W - RIGHT and from y = H - BOTTOM (the low end of
the values) up to TOP; a value v lands at LEFT + (v - lo) / (hi - lo) * (W - LEFT - RIGHT)
across and H - BOTTOM - (v - lo) / (hi - lo) * (H - TOP - BOTTOM) up, where the y range is
the first and last of the nice ticks. The charts are parsed as XML, so a label that broke
out of its text or attribute would show as an element or attribute of its own.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from streams.report.svg_chart import (
    BOTTOM,
    LEFT,
    RIGHT,
    TOP,
    Axis,
    H,
    Lane,
    Mark,
    Series,
    Threshold,
    W,
    histogram_pair,
    line_chart,
    nice_ticks,
    timeline,
)

NS = "{http://www.w3.org/2000/svg}"
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM
HOSTILE = '<script>alert("x")</script>" onload="alert(1)'


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def elements(svg: str, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [e for e in parse(svg).iter(NS + tag)
            if cls is None or cls in (e.get("class") or "").split()]


def texts(svg: str, cls: str) -> list[tuple[float, float, str]]:
    return [(float(e.get("x", "nan")), float(e.get("y", "nan")), e.text or "")
            for e in elements(svg, "text", cls)]


def at_x(v: float, lo: float, hi: float) -> float:
    return LEFT + (v - lo) / (hi - lo) * PLOT_W


def at_y(v: float, lo: float, hi: float) -> float:
    return H - BOTTOM - (v - lo) / (hi - lo) * PLOT_H


@pytest.mark.parametrize(("lo", "hi", "ticks"), [
    (0.0, 10.0, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]),
    (3.0, 97.0, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]),
    (-7.0, 7.0, [-10.0, -5.0, 0.0, 5.0, 10.0]),
    (0.0, 0.0, [-1.0, -0.5, 0.0, 0.5, 1.0]),  # no range: one either side
    (0.0012, 0.0049, [0.001, 0.002, 0.003, 0.004, 0.005]),
])
def test_nice_ticks_by_hand(lo: float, hi: float, ticks: list[float]) -> None:
    assert nice_ticks(lo, hi) == ticks


def test_nice_ticks_are_the_finest_1_2_5_step_that_covers_the_range_in_five() -> None:
    rng = np.random.default_rng(19)
    for _ in range(2000):
        lo = float(rng.normal(0, 10.0 ** rng.integers(-3, 6)))
        hi = lo + float(rng.exponential(10.0 ** rng.integers(-3, 6)))
        ticks = nice_ticks(lo, hi)
        step = (ticks[-1] - ticks[0]) / (len(ticks) - 1)
        power = 10.0 ** math.floor(math.log10(step) + 1e-6)
        mantissa = round(step / power, 3)  # ticks are rounded to 12 decimals
        assert mantissa in (1.0, 2.0, 5.0), (lo, hi, ticks)
        finer = {1.0: 0.5, 2.0: 1.0, 5.0: 2.0}[mantissa] * power  # the one before in 1-2-5
        assert 5 * finer < hi - lo <= 5 * step * (1 + 1e-9), (lo, hi, ticks)
        assert np.allclose(np.diff(ticks), step, rtol=1e-5, atol=0)
        # the ticks cover the range, with no tick to spare at either end
        assert ticks[0] <= lo < ticks[0] + step, (lo, hi, ticks)
        assert ticks[-2] < hi <= ticks[-1] + 1e-9 * step, (lo, hi, ticks)


def test_a_line_lands_where_the_closed_form_puts_it() -> None:
    svg = line_chart("c", [Series("s", [(0.0, 0.0), (50.0, 5.0), (100.0, 10.0)])],
                     x=Axis("x", "s"), y=Axis("y", "ms"))
    ((line,),) = [elements(svg, "polyline", "mark")]
    expected = [(at_x(x, 0, 100), at_y(y, 0, 10)) for x, y in ((0, 0), (50, 5), (100, 10))]
    assert expected == [(58.0, 206.0), (262.0, 110.0), (466.0, 14.0)]  # by hand, too
    assert line.get("points") == " ".join(f"{a:.1f},{b:.1f}" for a, b in expected)
    dots = [(float(c.get("cx", "")), float(c.get("cy", ""))) for c in elements(svg, "circle")]
    assert dots == expected
    # y ticks: 0, 2, .., 10 at their height (text baseline 4 below); x ticks: 0, 20, .., 100
    assert texts(svg, "tick")[:6] == [(LEFT - 4, round(at_y(t, 0, 10) + 4, 1), f"{t:g}")
                                      for t in range(0, 11, 2)]
    assert texts(svg, "tick")[6:] == [(round(at_x(t, 0, 100), 1), H - BOTTOM + 15, f"{t:g}")
                                      for t in range(0, 101, 20)]
    assert [e.text for e in elements(svg, "text", "axis-title")] == ["x (s)", "y (ms)"]


def test_the_y_range_takes_thresholds_and_y_min_and_drops_what_is_not_finite() -> None:
    svg = line_chart("c", [Series("s", [(0.0, math.nan), (1.0, 20.0), (2.0, 30.0)])],
                     x=Axis("x", ""), y=Axis("y", ""), thresholds=[Threshold(45.0, "SLO")],
                     y_min=None)
    lo, hi = 20.0, 45.0  # nice_ticks(20, 45): 20, 25, .., 45
    (line,) = elements(svg, "polyline")
    assert line.get("points") == (f"{at_x(1, 0, 2):.1f},{at_y(20, lo, hi):.1f} "
                                  f"{at_x(2, 0, 2):.1f},{at_y(30, lo, hi):.1f}")
    (threshold,) = elements(svg, "line", "threshold")
    assert float(threshold.get("y1", "")) == pytest.approx(at_y(45, lo, hi), abs=0.05)
    # with the default y_min=0 the axis starts at zero
    svg0 = line_chart("c", [Series("s", [(0.0, 20.0), (2.0, 30.0)])], x=Axis("x", ""),
                      y=Axis("y", ""))
    assert texts(svg0, "tick")[0][2] == "0"


def test_many_points_draw_a_line_without_dots_and_no_data_draws_no_mark() -> None:
    many = Series("s", [(float(i), float(i % 7)) for i in range(81)])
    svg = line_chart("c", [many], x=Axis("x", ""), y=Axis("y", ""))
    assert len(elements(svg, "polyline", "mark")) == 1 and not elements(svg, "circle")
    empty = line_chart("c", [Series("s", [])], x=Axis("x", ""), y=Axis("y", ""))
    assert 'class="mark' not in empty and parse(empty).tag == NS + "svg"


def test_a_time_axis_ticks_whole_minutes_in_utc_inside_the_frame() -> None:
    start = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # on the hour
    svg = line_chart("c", [Series("s", [(start, 1.0), (start + 300, 2.0)])],
                     x=Axis("time", "UTC", time=True), y=Axis("y", ""),
                     marks=[Mark(start + 150, "firing", "fired")])
    x_ticks = [(x, label) for x, y, label in texts(svg, "tick") if y == H - BOTTOM + 15]
    # 300 s in steps of 60; a label at 300 s would stick out of the frame, so it is left out
    assert x_ticks == [
        (round(at_x(start + s, start, start + 300), 1),
         dt.datetime.fromtimestamp(start + s, dt.UTC).strftime("%H:%M:%S"))
        for s in (0, 60, 120, 180, 240)]
    assert x_ticks[1][1].endswith(":01:00")  # whole minutes past the hour
    (moment,) = elements(svg, "g", "moment")
    assert moment.get("class") == "mark moment firing"
    assert float(moment[0].get("x1", "")) == at_x(start + 150, start, start + 300)


def test_histogram_bars_are_shares_of_the_top_tick() -> None:
    svg = histogram_pair("h", ["a", "b"], [10.0, 35.0], [20.0, -5.0], x=Axis("f", "bin"))
    top, slot = 40.0, PLOT_W / 2  # nice_ticks(0, 35)[-1]
    bars = [(e.get("class"), float(e.get("x", "")), float(e.get("y", "")),
             float(e.get("height", ""))) for e in elements(svg, "rect", "bar")]
    expected = []
    for i, (ref, cur) in enumerate(((10.0, 20.0), (35.0, -5.0))):
        for j, (value, cls) in enumerate(((ref, "ref"), (cur, "cur"))):
            height = max(0.0, value) / top * PLOT_H  # a negative share draws nothing
            expected.append((f"mark bar {cls}", round(LEFT + i * slot + slot * (0.1 + 0.4 * j), 1),
                             round(H - BOTTOM - height, 1), round(height, 1)))
    assert bars == expected
    assert expected[0] == ("mark bar ref", 78.4, 158.0, 48.0)  # by hand
    assert [label for _, _, label in texts(svg, "bin")] == ["a", "b"]


def test_histogram_of_many_bins_has_no_bin_labels_and_mismatches_are_refused() -> None:
    bins = [f"b{i}" for i in range(13)]
    svg = histogram_pair("h", bins, [1.0] * 13, [2.0] * 13, x=Axis("f", "bin"))
    assert not texts(svg, "bin") and len(elements(svg, "rect", "bar")) == 26
    with pytest.raises(ValueError, match="2 bins but 2 reference and 1 current values"):
        histogram_pair("h", ["a", "b"], [1.0, 2.0], [1.0], x=Axis("f", "bin"))


def test_timeline_lanes_share_the_height_and_spans_keep_a_visible_width() -> None:
    lanes = [Lane("#1", [(0.0, 50.0, "page")], [Mark(0.0, "firing", "fired")]),
             Lane("a-very-long-lane-name", [(100.0, 100.0, "page open")])]
    svg = timeline("t", lanes, x=Axis("time", ""))
    row = PLOT_H / 2
    spans = [(e.get("class"), float(e.get("x", "")), float(e.get("y", "")),
              float(e.get("width", ""))) for e in elements(svg, "rect", "span")]
    assert spans == [("mark span page", LEFT, round(TOP + row * 0.2, 1),
                      round(at_x(50, 0, 100) - LEFT, 1)),
                     ("mark span page open", at_x(100, 0, 100), round(TOP + row * 1.2, 1), 2.0)]
    names = [(e.text, e[0].text) for e in elements(svg, "text", "lane")]
    assert names == [("#1", "#1"), ("a-very-l…", "a-very-long-lane-name")]
    (moment,) = elements(svg, "path", "moment")
    assert moment.get("d", "").startswith(f"M{LEFT:.1f},{TOP + row / 2 - 9:.1f} ")


def test_hostile_text_stays_text_in_every_chart() -> None:
    axis = Axis(HOSTILE, HOSTILE)
    charts = [
        line_chart(HOSTILE, [Series(HOSTILE, [(0.0, 1.0), (1.0, 2.0)], style=HOSTILE)],
                   x=axis, y=axis, thresholds=[Threshold(1.5, HOSTILE)],
                   marks=[Mark(0.5, HOSTILE, HOSTILE)]),
        histogram_pair(HOSTILE, [HOSTILE], [1.0], [2.0], x=axis, y=axis),
        timeline(HOSTILE, [Lane(HOSTILE, [(0.0, 1.0, HOSTILE)], [Mark(0.5, HOSTILE, HOSTILE)])],
                 x=axis),
    ]
    for svg in charts:
        root = parse(svg)  # well-formed: nothing broke out of a text or an attribute
        tags = {e.tag.removeprefix(NS) for e in root.iter()}
        assert "script" not in tags
        assert not any("onload" in e.attrib for e in root.iter())
        assert root.get("aria-label") == HOSTILE  # kept whole, as text
        assert any(e.text and HOSTILE in e.text for e in root.iter(NS + "title"))
