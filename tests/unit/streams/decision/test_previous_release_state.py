"""The previous release's decision state still reads, and decides as that release did.

``decision_state.json`` holds the state records the release before this one wrote mid-
incident (a drift fired, a retrain asked for, a window half seen) and every record it
produced afterwards; it is made by ``tests/fixtures/previous_release/
record_decision_state.py`` in that release's checkout. This release adopts the records
and, fed the same summaries, must produce the same records, byte for byte.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from detectors.reference.profile import ReferenceProfile
from tests.fixtures.previous_release.record_decision_state import before, later
from tests.unit.streams.decision import test_stage as t

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "previous_release"


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def test_the_previous_releases_decision_state_resumes_and_decides_the_same() -> None:
    recorded = json.loads((FIXTURE / "decision_state.json").read_text())
    saved = {_bytes(k): _bytes(v) for k, v in recorded["saved"].items()}
    rng = np.random.default_rng(2024)
    reference = ReferenceProfile.from_features("churn", "v1", t.NAMES,
                                               rng.normal(size=(20_000, 3)))
    feed = t.Feed(reference, 7)
    before(t, feed)  # the summaries the release had seen: the feed moves past them
    clock = t.Clock(recorded["clock"])
    stage = t._stage(reference, clock)
    assert stage.adopt(saved, owns=lambda model: True) == ["churn"]
    assert stage.records("churn") == saved
    after = [[o.topic.removeprefix("t."), o.key, o.value]
             for records in later(t, feed) for o in t._run(stage, clock, records)["raw"]]
    expected = [[role, _bytes(key), _bytes(value)] for role, key, value in recorded["after"]]
    assert [r[0] for r in after] == [r[0] for r in expected]
    assert after == expected
    assert {"alerts", "retrain", "detector-reports"} <= {r[0] for r in after}
