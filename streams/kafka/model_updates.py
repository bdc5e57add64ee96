"""Writing one operator's event to the model-updates topic (experiment start and stop,
a shadow started)."""

from __future__ import annotations

from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings
from streams.wire.codec import encode
from streams.wire.events import ModelUpdate
from streams.wire.topics import Topics


async def publish(settings: KafkaSettings, event: ModelUpdate) -> None:
    """Write ``event`` to the model-updates topic, keyed by its model."""
    producer = kafka_clients.producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(Topics(settings.topic_prefix).model_updates,
                                     encode(event), key=event.model.encode())
    finally:
        await producer.stop()
