"""When to ask again for a retrain that could not train for want of labels.

A retrain request that finds fewer than ``min_examples`` labelled examples within its
wait trains nothing. The decision step will not ask again for that incident (its policy
served it) nor within its cooldown, so the request would be lost. :class:`LabelRetry`
keeps it waiting instead and says when to ask again, on evidence and never as a storm:

- a waiting request is checked at ``first_check_s`` after it failed, then at twice the
  previous gap each time (the count of labels reads the stored predictions and outcomes,
  so it is not done on every loop);
- it is asked again only when a check counts at least ``min_examples`` labelled examples
  over its data range (the same count that judged it short);
- it is asked again at most ``max_retries`` times, and given up ``give_up_s`` after its
  first failure.

The state is a plain dict (:meth:`snapshot`, :meth:`restore`), so a restarted worker
keeps waiting where the last one was.

Examples
--------
>>> retry = LabelRetry(min_examples=100, first_check_s=10, max_retries=2, give_up_s=1000)
>>> retry.wait("rt-1", "churn", data_from=0.0, now=0.0)
>>> retry.due(5.0), [w.retrain_id for w in retry.due(10.0)]
([], ['rt-1'])
>>> retry.checked("rt-1", labelled=40, now=10.0) is None  # too few yet: next check at 30
True
>>> retry.due(29.0), retry.checked("rt-1", labelled=120, now=30.0).attempt
([], 1)
>>> retry.due(1e9)  # asked again: it waits no more until that request fails too
[]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from retrain.trainer_contract import TrainingFailed

__all__ = ["LabelRetry", "NotEnoughLabels", "Waiting"]


class NotEnoughLabels(TrainingFailed):
    """A retrain that trained nothing: too few labelled examples arrived within its wait."""

    def __init__(self, labelled: int, needed: int, wait_s: float) -> None:
        super().__init__(f"not trained: {labelled} of {needed} labels within {wait_s:.0f} s")
        self.labelled = labelled
        self.needed = needed


@dataclass(frozen=True)
class Waiting:
    """A request waiting for labels: when it first failed, its next check, its asks so far.

    ``attempt`` is the number of times it was asked again (0 while the first request is
    the only one); ``gap_s`` is the wait before ``next_check``, which is None once it was
    asked again (it waits for that request's outcome, not for a check; None, not infinity,
    so the state survives JSON).
    """

    retrain_id: str
    model: str
    data_from: float
    failed_at: float
    next_check: float | None
    gap_s: float
    attempt: int = 0


class LabelRetry:
    """Requests short of labels, and when each is worth asking again (module docstring).

    Parameters
    ----------
    min_examples
        Labelled examples a retrain needs (the retrain worker's ``min_examples``).
    first_check_s
        The wait before a short request's first check; each later gap doubles.
    max_retries
        At most this many asks again per request (0: never ask again).
    give_up_s
        A request still short this long after its first failure is dropped.
    """

    def __init__(self, min_examples: int, *, first_check_s: float = 60.0, max_retries: int = 3,
                 give_up_s: float = 86400.0) -> None:
        if min_examples < 1:
            raise ValueError(f"min_examples must be >= 1, got {min_examples!r}")
        if first_check_s <= 0 or give_up_s <= 0:
            raise ValueError(f"first_check_s and give_up_s must be > 0, got {first_check_s!r}, "
                             f"{give_up_s!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries!r}")
        self.min_examples = min_examples
        self.first_check_s = first_check_s
        self.max_retries = max_retries
        self.give_up_s = give_up_s
        self._waiting: dict[str, Waiting] = {}

    def wait(self, retrain_id: str, model: str, *, data_from: float, now: float) -> None:
        """Request ``retrain_id`` trained nothing for want of labels: keep it waiting (a
        request asked again that falls short again keeps its first failure's clock)."""
        before = self._waiting.get(retrain_id)
        attempt = 0 if before is None else before.attempt
        failed_at = now if before is None else before.failed_at
        if attempt >= self.max_retries:  # asked again as often as allowed: given up
            self._waiting.pop(retrain_id, None)
            return
        self._waiting[retrain_id] = Waiting(retrain_id, model, data_from, failed_at,
                                            now + self.first_check_s, self.first_check_s,
                                            attempt)

    def due(self, now: float) -> list[Waiting]:
        """The waiting requests whose check is due (dropping those waited for too long)."""
        for rid in [r for r, w in self._waiting.items() if now - w.failed_at > self.give_up_s]:
            del self._waiting[rid]
        return [w for w in self._waiting.values()
                if w.next_check is not None and w.next_check <= now]

    def checked(self, retrain_id: str, *, labelled: int, now: float) -> Waiting | None:
        """A due check counted ``labelled`` examples: the request to ask again (its
        ``attempt`` counted), or None while too few (the next gap doubles)."""
        w = self._waiting[retrain_id]
        if labelled < self.min_examples:
            self._waiting[retrain_id] = replace(w, next_check=now + 2 * w.gap_s,
                                                gap_s=2 * w.gap_s)
            return None
        asked = replace(w, attempt=w.attempt + 1, next_check=None, gap_s=0.0)
        self._waiting[retrain_id] = asked  # kept (not due) so a new failure counts on
        return asked

    def done(self, retrain_id: str) -> None:
        """Request ``retrain_id`` trained (or failed otherwise): it waits no more."""
        self._waiting.pop(retrain_id, None)

    def waiting(self) -> list[Waiting]:
        return list(self._waiting.values())

    def snapshot(self) -> dict[str, Any]:
        return {rid: asdict(w) for rid, w in self._waiting.items()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._waiting = {rid: Waiting(**w) for rid, w in snapshot.items()}
