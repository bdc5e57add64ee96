"""One subcommand of ``inferwatch``: its parser, with a worked example, and its handler.

Each command module calls :func:`add_command` for its subcommands; :mod:`streams.cli.main`
calls the handler the parsed arguments carry, with the Kafka settings every command loads
first (a bad ``INFERWATCH_KAFKA_*`` stops any command at start).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from streams.settings import KafkaSettings

#: what runs a parsed subcommand; its exit status
Handler = Callable[[argparse.Namespace, KafkaSettings], int]
#: the object ``add_subparsers`` returns (argparse keeps its class private)
Subparsers = Any


class ExampleFormatter(argparse.HelpFormatter):
    """Wraps the description as usual; prints the example as written (one command)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return text
        return super()._fill_text(text, width, indent)


def add_command(sub: Subparsers, name: str, handler: Handler, *, help: str,
                description: str, example: str) -> argparse.ArgumentParser:
    """Add the subcommand ``name``: its one-line ``help``, its ``description`` and a
    worked ``example`` that ends its ``--help``; parsing it selects ``handler``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description, epilog=f"example:\n  {example}",
        formatter_class=ExampleFormatter)
    parser.set_defaults(handler=handler)
    return parser


def reach(kafka: KafkaSettings) -> None:
    """Connect once before a command uses Kafka: one clear line (refused credentials,
    untrusted certificate, no broker), not a retry loop or a traceback from a client."""
    from streams.kafka.clients import check_access
    asyncio.run(check_access(kafka))
