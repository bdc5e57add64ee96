"""The ``inferwatch`` command: run a worker, create topics, train, simulate, inspect.

Settings come from ``INFERWATCH_*`` environment variables (see ``docs/ARCHITECTURE.md``);
a bad one stops the command at start with a message naming it. Each command module adds
its subcommands to the parser (in the order ``--help`` lists them) and holds their handlers;
this module parses, sets up logging and turns the errors an operator can fix into a line
and an exit status.
"""

from __future__ import annotations

import argparse
import logging
import sys

from streams.cli import (
    alerts,
    backtest,
    doctor,
    experiment,
    grafana,
    models,
    report,
    simulate,
    status,
    summary,
    topics,
    train,
    worker,
)
from streams.cli.command import Handler
from streams.errors import ConfigError, KafkaAccessError
from streams.settings import KafkaSettings, load

#: the command modules, in the order of ``inferwatch --help``
COMMANDS = (worker, topics, train, simulate, alerts, report, grafana, doctor, status,
            experiment, models, summary, backtest)
#: the commands that run until stopped, and log their life; the others speak only through
#: their output
_SERVING = ("worker", "retrain-worker")
#: the commands whose lines say what failed, once: the Kafka client's logs would repeat it
_QUIET_KAFKA = ("doctor", "status")


def parser() -> argparse.ArgumentParser:
    """The ``inferwatch`` parser, with every command module's subcommands."""
    p = argparse.ArgumentParser(
        prog="inferwatch",
        description="Watch ML models in production on Kafka: inference, drift, latency, "
                    "alerts, retrain events, metrics in ClickHouse. Settings come from "
                    "INFERWATCH_* environment variables.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_to(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names (default: the process's arguments); its exit status."""
    args = parser().parse_args(argv)
    level = logging.INFO if args.command in _SERVING else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command in _QUIET_KAFKA:
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        handler: Handler = args.handler
        return handler(args, load(KafkaSettings))
    except ConfigError as exc:
        print(f"inferwatch: {exc}", file=sys.stderr)
        return 2
    except KafkaAccessError as exc:
        print(f"inferwatch: {exc}", file=sys.stderr)
        return 75 if exc.retriable else 2  # EX_TEMPFAIL: the broker may come back
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
