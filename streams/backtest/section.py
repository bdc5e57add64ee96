"""A backtest's findings as text lines and as a section of the HTML report.

Each incident is shown with its time, identity, severity and evidence; a comparison lists
what both runs have, then what moved, what only the first has (silenced by the second)
and what only the second has (added by it). Two replays side by side are one comparison
whose columns are named for their settings.

Examples
--------
>>> e = Episode("fp", "churn", "A", "feature_drift", "page", "feature=f2", 0.0, None,
...             {"psi": 0.4})
>>> print("\\n".join(lines(compare([e], [], tolerance_s=1.0), "live", "replay")))
live: 1 incident(s), replay: 0; 0 the same, 0 moved, 1 only in live, 0 only in replay
  only in live (silenced in replay):
    1970-01-01 00:00:00.0 -> open  page  churn/A feature_drift [feature=f2]  psi=0.4
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from streams.backtest.episodes import Difference, Episode, compare

__all__ = ["Episode", "compare", "html_section", "lines", "row"]


def stamp(ts: float | None) -> str:
    """An event time as UTC to the tenth of a second ('open' for none)."""
    if ts is None:
        return "open"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-5]


def row(e: Episode) -> str:
    """One incident on one line: fired, resolved, severity, identity, evidence."""
    evidence = ", ".join(f"{k}={v}" for k, v in list(e.evidence.items())[:6]
                         if k not in ("feature", "segment"))
    return (f"{stamp(e.fired_at)} -> {stamp(e.resolved_at)}  {e.severity}  "
            f"{e.identity}  {evidence}").rstrip()


def lines(diff: Difference, before: str, after: str) -> list[str]:
    """The comparison as text: a count line, then each group of incidents."""
    n_before = len(diff.matched) + len(diff.moved) + len(diff.only_before)
    n_after = len(diff.matched) + len(diff.moved) + len(diff.only_after)
    out = [f"{before}: {n_before} incident(s), {after}: {n_after}; {len(diff.matched)} the "
           f"same, {len(diff.moved)} moved, {len(diff.only_before)} only in {before}, "
           f"{len(diff.only_after)} only in {after}"]
    groups: Sequence[tuple[str, list[str]]] = (
        ("in both", [row(b) for b, _ in diff.matched]),
        (f"moved by more than {diff.tolerance_s:.1f} s ({before}, then {after})",
         [x for b, a in diff.moved for x in (row(b), row(a))]),
        (f"only in {before} (silenced in {after})", [row(e) for e in diff.only_before]),
        (f"only in {after} (added by it)", [row(e) for e in diff.only_after]))
    for title, rows in groups:
        if rows:
            out.append(f"  {title}:")
            out.extend(f"    {r}" for r in rows)
    return out


def html_section(title: str, diff: Difference, before: str, after: str) -> str:
    """The comparison as a section of the HTML report (every value escaped)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in (
        "", "fired", "resolved", "severity", "identity", "evidence"))
    body = []
    for label, group in (("in both", [b for b, _ in diff.matched]),
                         (f"moved: {before}", [b for b, _ in diff.moved]),
                         (f"moved: {after}", [a for _, a in diff.moved]),
                         (f"only in {before}", diff.only_before),
                         (f"only in {after}", diff.only_after)):
        for e in group:
            evidence = "<br>".join(f"<code>{html.escape(str(k))}</code> = {html.escape(str(v))}"
                                   for k, v in e.evidence.items())
            cells = (label, stamp(e.fired_at), stamp(e.resolved_at), e.severity, e.identity)
            body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                        + f"<td>{evidence}</td></tr>")
    summary = html.escape(lines(diff, before, after)[0])
    table = f"<table><tr>{head}</tr>{''.join(body)}</table>" if body else "<p>None.</p>"
    return (f"<section><h2>{html.escape(title)}</h2><p>{summary}</p>"
            f"<div class='table-wrap'>{table}</div></section>\n")
