"""What every detector adapter of the decision step is: it judges a merged window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from detectors.reference.profile import ReferenceProfile
from streams.decision.state import ModelState
from streams.decision.verdict import Evidence, Verdict
from streams.decision.window import DecisionWindow

#: a model's reference profile by model name (None: the model has none), what the binned
#: and data-quality adapters compare a window against
ReferenceLookup = Callable[[str], ReferenceProfile | None]


class Judge(Protocol):
    """One detector, adapted to decision windows.

    ``judge`` returns the window's verdicts (none when the detector has nothing to say);
    ``describe`` words an alert's summary from its evidence.
    """

    detector: str

    def judge(self, win: DecisionWindow, state: ModelState) -> list[Verdict]: ...

    def describe(self, evidence: Evidence) -> str: ...
