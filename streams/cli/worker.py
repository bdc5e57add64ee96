"""``inferwatch worker`` and ``inferwatch retrain-worker``: serve roles until stopped.

The worker's config is :class:`streams.app.WorkerConfig`: the Kafka settings the command
loaded, and every other settings object it holds, each loaded from the environment (so a
component added to it needs nothing here).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
from dataclasses import fields
from typing import TYPE_CHECKING, get_type_hints

from pydantic_settings import BaseSettings

from streams.cli.command import Subparsers, add_command, reach
from streams.errors import ConfigError
from streams.settings import KafkaSettings, load

if TYPE_CHECKING:
    from streams.app import WorkerConfig


def add_to(sub: Subparsers) -> None:
    """Add ``worker`` and ``retrain-worker``."""
    w = add_command(
        sub, "worker", _worker, help="run a stream worker (inference, monitors, sink)",
        description="Run a worker: creates missing topics, then serves the roles given until "
                    "SIGTERM or Ctrl-C.",
        example="INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:9092 inferwatch worker --roles "
                "inference,monitor,join,decide,sink,route")
    w.add_argument("--roles", default="inference,monitor,join,decide,sink,route,health",
                   help="comma-separated roles to run (default: all)")
    add_command(
        sub, "retrain-worker", _retrain_worker,
        help="retrain, validate and roll out on retrain requests",
        description="Run the retrain worker (the worker's 'retrain' role): each retrain "
                    "request once, a warm-started candidate validated against the champion "
                    "on the most recent labels, then published and, if it passed, made "
                    "champion.",
        example="INFERWATCH_RETRAIN_MARGIN=0.02 INFERWATCH_RETRAIN_MIN_EXAMPLES=2000 "
                "inferwatch retrain-worker")


def worker_config(kafka: KafkaSettings, roles: tuple[str, ...]) -> WorkerConfig:
    """The config of a worker serving ``roles``: ``kafka``, and each other settings field
    of :class:`~streams.app.WorkerConfig` loaded from the environment, in field order."""
    from streams.app import WorkerConfig
    hints = get_type_hints(WorkerConfig)
    loaded = {f.name: load(hints[f.name]) for f in fields(WorkerConfig)
              if f.name != "kafka" and _is_settings(hints[f.name])}
    return WorkerConfig(kafka=kafka, roles=roles, **loaded)


def _is_settings(hint: object) -> bool:
    return isinstance(hint, type) and issubclass(hint, BaseSettings)


def _worker(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    return serve(kafka, args.roles)


def _retrain_worker(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    return serve(kafka, "retrain")


def serve(kafka: KafkaSettings, roles_text: str) -> int:
    """Serve the comma-separated ``roles_text`` until SIGTERM or Ctrl-C."""
    from streams.app import ROLES, create_app
    roles = tuple(r.strip() for r in roles_text.split(",") if r.strip())
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise ConfigError(f"--roles: unknown {unknown}; valid roles are {list(ROLES)}")
    cfg = worker_config(kafka, roles)
    from streams.kafka.clients import create_topics
    reach(kafka)
    asyncio.run(create_topics(kafka))
    import faust
    app = create_app(cfg)
    # what is built so far (modules, models, the app) lives as long as the worker: out of
    # the collector's generations, a full collection walks only what the loops allocate
    gc.collect()
    gc.freeze()
    faust.Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
    return 0
