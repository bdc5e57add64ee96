"""What the retrain worker says about retrains that published nothing, and their retries.

A failed request gives one ``RetrainDecided`` (status ``failed``, the reason) on
``retrain-decisions`` and one ticket on ``alerts`` (:mod:`.retrain_ticket`); the champion
is untouched. A later retrain of the model that passes validation resolves the model's
open tickets. A request that failed for want of labels waits (:mod:`retrain.label_retry`):
when a due check counts enough labelled examples it is asked again, as the same request
(its id) on the ``retrain`` topic, with a ``RetrainDecided`` (``requested``) that says so.
The open tickets and the waiting requests are kept in the model store
(:class:`~retrain.failure_ledger.FailureLedger`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from aiokafka import AIOKafkaProducer

from retrain.failure_ledger import FailureLedger
from retrain.label_retry import Waiting
from retrain.retrain_job import RetrainResult
from streams.retraining.retrain_ticket import retrain_failed_alert, retrain_recovered_alert
from streams.wire.codec import encode
from streams.wire.events import RetrainDecided, RetrainRequested
from streams.wire.topics import Topics

log = logging.getLogger(__name__)

__all__ = ["FailedRetrains"]

#: the labelled examples a waiting request would train on now
LabelCount = Callable[[Waiting], Awaitable[int]]


class FailedRetrains:
    """Publish failures, their tickets' resolves, and the retries of requests short of labels."""

    def __init__(self, topics: Topics, ledger: FailureLedger,
                 clock: Callable[[], float]) -> None:
        self.topics = topics
        self.ledger = ledger
        self.clock = clock

    async def failed(self, producer: AIOKafkaProducer, req: RetrainRequested, reason: str, *,
                     waits_for_labels: bool = False) -> None:
        """Request ``req`` published nothing, for ``reason``: say so, and open its ticket."""
        now = self.clock()
        log.error("retrain %s of %s failed: %s; the champion is untouched", req.id, req.model,
                  reason)
        at = self.ledger.failed(req.model, req.id, reason, now=now,
                                waits_for_labels=waits_for_labels, data_from=req.data_from)
        await self._decided(producer, req.model, "failed", reason, req.data_from, req.id)
        ticket = retrain_failed_alert(req.model, req.id, reason, at=at)
        await producer.send_and_wait(self.topics.alerts, encode(ticket),
                                     key=ticket.fingerprint.encode())

    async def trained(self, producer: AIOKafkaProducer, result: RetrainResult) -> None:
        """A retrain published a version: one that passed resolves the model's tickets."""
        if not result.passed:
            self.ledger.trained(result.retrain_id)
            return
        for retrain_id, at in self.ledger.passed(result.model, result.retrain_id):
            ticket = retrain_recovered_alert(result.model, retrain_id, at=at,
                                             version=result.version, now=self.clock())
            await producer.send_and_wait(self.topics.alerts, encode(ticket),
                                         key=ticket.fingerprint.encode())
            log.info("retrain %s of %s: ticket resolved by %s", retrain_id, result.model,
                     result.version)

    async def ask_again(self, producer: AIOKafkaProducer, count: LabelCount) -> None:
        """Check the requests whose check is due; ask again those that have their labels."""
        retry = self.ledger.retry
        for waiting in retry.due(self.clock()):
            try:
                labelled = await count(waiting)
            except (ValueError, FileNotFoundError) as exc:  # its model is gone, or changed
                log.error("retrain %s of %s: labels not counted (%s); not asked again",
                          waiting.retrain_id, waiting.model, exc)
                self.ledger.trained(waiting.retrain_id)
                continue
            asked = retry.checked(waiting.retrain_id, labelled=labelled, now=self.clock())
            self.ledger.save()
            if asked is None:
                log.info("retrain %s of %s: %d labelled examples, %d needed; next check in "
                         "%.0f s", waiting.retrain_id, waiting.model, labelled,
                         retry.min_examples, 2 * waiting.gap_s)
                continue
            now = self.clock()
            reason = (f"asked again ({asked.attempt} of {retry.max_retries}): {labelled} "
                      f"labelled examples now, {retry.min_examples} needed")
            log.warning("retrain %s of %s %s", asked.retrain_id, asked.model, reason)
            await self._decided(producer, asked.model, "requested", reason, asked.data_from,
                                asked.retrain_id)
            request = RetrainRequested(
                id=asked.retrain_id, model=asked.model, reason=reason,
                evidence={"retry": float(asked.attempt), "labelled": float(labelled)},
                data_from=asked.data_from, data_to=now, requested_at=now)
            await producer.send_and_wait(self.topics.retrain, encode(request),
                                         key=asked.model.encode())

    async def _decided(self, producer: AIOKafkaProducer, model: str,
                       status: Literal["requested", "failed"],
                       reason: str, incident_start: float, retrain_id: str) -> None:
        decided = RetrainDecided(model=model, status=status, reason=reason,
                                 incident_start=incident_start, ts=self.clock(),
                                 retrain_id=retrain_id)
        await producer.send_and_wait(self.topics.retrain_decisions, encode(decided),
                                     key=model.encode())
