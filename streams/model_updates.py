"""Writing one operator's event to the model-updates topic (experiment start and stop)."""

from __future__ import annotations

from streams import kafka_clients
from streams.codec import encode
from streams.events import ExperimentDecided, ExperimentStarted
from streams.settings import KafkaSettings
from streams.topics import Topics


async def publish(settings: KafkaSettings, event: ExperimentDecided | ExperimentStarted) -> None:
    """Write ``event`` to the model-updates topic, keyed by its model."""
    producer = kafka_clients.producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(Topics(settings.topic_prefix).model_updates,
                                     encode(event), key=event.model.encode())
    finally:
        await producer.stop()
