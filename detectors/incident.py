"""An incident: the open (or cooling down) alerts of one model and severity, paged as one.

:class:`~detectors.incidents.IncidentTracker` opens, grows and resolves incidents;
:class:`~detectors.notification.Notification` is what on-call reads of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from detectors.alert_signal import AlertSignal, Severity

__all__ = ["Incident"]


@dataclass
class Incident:
    """The open (or cooling down) incident of one model and severity."""

    fingerprint: str
    model: str
    severity: Severity
    episode_at: float
    state: Literal["firing", "resolved"] = "firing"
    notified: bool = False
    hold_until: float = float("-inf")
    resolved_at: float | None = None
    opener: AlertSignal | None = None
    members: tuple[AlertSignal, ...] = ()

    @property
    def dedup_key(self) -> str:
        """Stable key of this episode: the fingerprint and the opening time in ms."""
        return f"{self.fingerprint}:{round(self.episode_at * 1000)}"
