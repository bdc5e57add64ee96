"""aiokafka clients configured for inferwatch's guarantees.

aiokafka defaults to acks=1 without idempotence and to auto-commit; every client here
sets what losing nothing needs: idempotent (or transactional) producers with acks=all,
manual commits, read_committed consumers, and fetch sizes that admit the records we
dead-letter for being too large.
"""

from __future__ import annotations

import contextlib

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import TopicAlreadyExistsError

from streams.settings import KafkaSettings
from streams.topics import Topics

_FETCH_BYTES = 32 * 1024 * 1024


def consumer(settings: KafkaSettings, group_id: str, *topics: str) -> AIOKafkaConsumer:
    """A manual-commit, read_committed consumer of ``topics`` in ``group_id``."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap,
        group_id=group_id,
        # names the worker in the group's member ids (and kafka-consumer-groups.sh); the
        # range assignor hands partitions out in member-id order
        client_id=f"{group_id}-{settings.worker_id}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=_FETCH_BYTES,
        fetch_max_bytes=_FETCH_BYTES,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(settings.session_timeout_ms // 4, 500),
        max_poll_interval_ms=600_000,
        # range assignment gives one member the same partition of every topic it reads:
        # predictions and outcomes keyed by request id meet in the same join
        partition_assignment_strategy=(RangePartitionAssignor,),
    )


def producer(settings: KafkaSettings, transactional_id: str | None = None) -> AIOKafkaProducer:
    """An idempotent acks=all producer; transactional when ``transactional_id`` is given."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        acks="all",
        enable_idempotence=True,
        transactional_id=transactional_id,
        max_request_size=_FETCH_BYTES // 2,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        compression_type=None,
    )


async def create_topics(settings: KafkaSettings) -> list[str]:
    """Create every inferwatch topic that does not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(name, spec.partitions, settings.replication_factor,
                     topic_configs=dict(spec.configs))
            for name, spec in Topics(settings.topic_prefix, settings.dead_letter_retention_ms
                                     ).specs() if name not in existing
        ]
        if new:
            # a concurrent worker may create it first; that is the wanted state
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        return [t.name for t in new]
    finally:
        await admin.close()
