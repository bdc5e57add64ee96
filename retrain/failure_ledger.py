"""The retrains that failed and are not made good yet, kept beside the models.

A retrain that publishes nothing (too few labels, a trainer that raised or ran past its
deadline, a candidate that failed the checks) opens a ticket; the ticket stays open until
a later retrain of the same model publishes a version that passes validation. Requests
short of labels also wait to be asked again (:class:`~retrain.label_retry.LabelRetry`).
Both outlive a worker: :class:`FailureLedger` keeps them in one JSON file under the model
store's root, rewritten atomically on every change, so a restarted retrain worker
resolves the tickets and asks again where the last one stopped.

Examples
--------
>>> import pathlib, tempfile
>>> from retrain.label_retry import LabelRetry
>>> path = pathlib.Path(tempfile.mkdtemp()) / FailureLedger.FILE
>>> ledger = FailureLedger(path, LabelRetry(min_examples=100))
>>> ledger.failed("churn", "rt-1", "not trained: 3 of 100 labels within 60 s", now=5.0,
...               waits_for_labels=True, data_from=0.0)
5.0
>>> ledger.failed("churn", "rt-1", "not trained: 8 of 100 labels within 60 s", now=90.0)
5.0
>>> [w.retrain_id for w in FailureLedger(path, LabelRetry(100)).retry.waiting()]
[]
>>> FailureLedger(path, LabelRetry(100)).passed("churn", "rt-2")
[('rt-1', 5.0)]
>>> FailureLedger(path, LabelRetry(100)).passed("churn", "rt-3")
[]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from retrain.label_retry import LabelRetry

__all__ = ["FailureLedger"]


class FailureLedger:
    """Open failure tickets per model, and the requests waiting for labels (a JSON file).

    Parameters
    ----------
    path
        The file (created on the first failure).
    retry
        The retry policy of requests short of labels; its state is restored from the file.
    """

    FILE: ClassVar[str] = ".retrain-failures.json"

    def __init__(self, path: Path, retry: LabelRetry) -> None:
        self.path = Path(path)
        self.retry = retry
        saved = json.loads(self.path.read_text()) if self.path.is_file() else {}
        #: model -> retrain id -> {"at": when its ticket started, "reason": the latest}
        self.open: dict[str, dict[str, dict[str, float | str]]] = saved.get("open", {})
        self.retry.restore(saved.get("waiting", {}))

    def failed(self, model: str, retrain_id: str, reason: str, *, now: float,
               waits_for_labels: bool = False, data_from: float = 0.0) -> float:
        """Request ``retrain_id`` failed for ``reason``: its ticket is open (the start of
        the ticket returned: the request's first failure); it waits for labels if so."""
        tickets = self.open.setdefault(model, {})
        at = float(tickets.get(retrain_id, {}).get("at", now))
        tickets[retrain_id] = {"at": at, "reason": reason}
        if waits_for_labels:
            self.retry.wait(retrain_id, model, data_from=data_from, now=now)
        else:
            self.retry.done(retrain_id)
        self.save()
        return at

    def passed(self, model: str, retrain_id: str) -> list[tuple[str, float]]:
        """Request ``retrain_id`` published a version that passed validation: the model's
        open tickets (retrain id, start), which it resolves, now closed."""
        closed = [(rid, float(t["at"])) for rid, t in self.open.pop(model, {}).items()]
        self.retry.done(retrain_id)
        self.save()
        return closed

    def trained(self, retrain_id: str) -> None:
        """Request ``retrain_id`` trained (its candidate failed validation): it waits for
        labels no more; the model's tickets stay open."""
        self.retry.done(retrain_id)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"open": self.open, "waiting": self.retry.snapshot()},
                                  sort_keys=True))
        tmp.replace(self.path)
