"""``inferwatch topics``: create every topic that does not exist yet."""

from __future__ import annotations

import argparse
import asyncio

from streams.cli.command import Subparsers, add_command, reach
from streams.settings import KafkaSettings


def add_to(sub: Subparsers) -> None:
    """Add ``topics``."""
    add_command(sub, "topics", _topics, help="create every topic that does not exist",
                description="Create inferwatch's topics with their partition counts.",
                example="INFERWATCH_KAFKA_TOPIC_PREFIX=staging. inferwatch topics")


def _topics(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    from streams.kafka.clients import create_topics
    reach(kafka)
    created = asyncio.run(create_topics(kafka))
    print(f"created {len(created)} topics: {', '.join(created) or '-'}")
    return 0
