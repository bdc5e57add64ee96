"""The report's "what moved" names a categorical feature's category, its share and segment."""

from __future__ import annotations

from streams.report.queries import CategoryView
from streams.report.views import ReportData, what_moved


def test_what_moved_names_the_category_and_the_segment() -> None:
    view = CategoryView("shop", "A", "plan", "region=eu", "gold<b>", new=True, share=0.2013,
                        expected=0.0, psi=1.7)
    html = what_moved(ReportData(categories=[view]))
    assert "<b>plan</b> in segment <b>region=eu</b> of shop/A" in html
    assert "category <b>gold&lt;b&gt;</b> (new) in 20.1% of inputs (reference 0.0%)" in html
    assert "PSI up to 1.7" in html
    assert what_moved(ReportData()) == "<p>No input drift was flagged.</p>"
