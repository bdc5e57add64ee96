"""``inferwatch simulate``: produce realistic traffic with scheduled incidents.

The options become a scenario in :mod:`streams.simulation.scenarios` (by their names);
this module declares them and reports what was sent.
"""

from __future__ import annotations

import argparse
import asyncio

from streams.cli.command import Subparsers, add_command, reach
from streams.errors import ConfigError
from streams.settings import KafkaSettings


def add_to(sub: Subparsers) -> None:
    """Add ``simulate`` and its options."""
    s = add_command(sub, "simulate", _simulate,
                    help="produce realistic traffic with incidents",
                    description="Produce requests (and outside predictions and outcomes) "
                                "with a scheduled drift and latency regression.",
                    example="inferwatch simulate --count 20000 --rate 500 --drift-at 8000 "
                            "--drift-segment region=eu")
    _traffic_options(s)
    _experiment_options(s)


def _traffic_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--count", type=int, default=10000, help="requests to send")
    s.add_argument("--rate", type=float, default=0.0, help="requests per second (0: flat out)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--run-id", default="sim", help="prefix of request ids")
    s.add_argument("--drift-at", type=int, help="request index where the drift starts")
    s.add_argument("--drift-feature", default="f2")
    s.add_argument("--drift-shift", type=float, default=1.5, help="shift in feature std units")
    s.add_argument("--drift-scale", type=float, default=1.0,
                   help="spread multiplier of the drifting feature (1: unchanged)")
    # the presets of streams.simulation.scenarios, written out: importing the simulator
    # here would slow the start of every command
    s.add_argument("--scenario", choices=("retraining",),
                   help="a preset: 'retraining' drifts f7 (x3 spread) from a third of "
                        "--count, so the served model's accuracy drops, with half the "
                        "requests labelled (--outcome-share and --drift-at override)")
    s.add_argument("--drift-segment", help="only this segment drifts, e.g. region=eu")
    s.add_argument("--external-share", type=float, default=0.0,
                   help="share of traffic served by the outside model 'ranker'")
    s.add_argument("--latency-from", type=int, help="index where ranker's latency regresses")
    s.add_argument("--latency-to", type=int, help="index where it recovers")
    s.add_argument("--outcome-share", type=float, default=0.0, help="share labelled later")
    s.add_argument("--concept-drift-at", type=int,
                   help="request index from which the true labels change (concept drift)")
    s.add_argument("--concept-flip", type=float, default=0.3,
                   help="share of labels flipped after --concept-drift-at")
    s.add_argument("--llm-share", type=float, default=0.0,
                   help="share of traffic that is prompts to the outside LLM 'assistant' "
                        "(published with each prompt's embedding)")
    s.add_argument("--topic-shift-at", type=int,
                   help="request index from which a new topic takes a share of the prompts")
    s.add_argument("--topic-share", type=float, default=0.4,
                   help="share of prompts about the new topic after --topic-shift-at")
    s.add_argument("--malformed-share", type=float, default=0.0,
                   help="share of requests sent malformed (not JSON): dead letters")
    s.add_argument("--missing-feature", help="a feature left out of --missing-share of "
                   "the requests and outside predictions")
    s.add_argument("--missing-share", type=float, default=0.0)


def _experiment_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--challenger-share", type=float, default=0.0,
                   help="the ranker runs an experiment: variant B's share of its units")
    s.add_argument("--challenger-lift", type=float, default=0.0,
                   help="B's true lift: it mispredicts (1 - this) times as often as A")
    s.add_argument("--challenger-latency", type=float, default=0.0,
                   help="seconds B answers slower than A")
    s.add_argument("--experiment", default="ranker-exp",
                   help="the experiment's name, the salt of its sticky assignment")


def _simulate(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    from streams.simulation.scenarios import scenario_of
    from streams.simulation.simulator import simulate
    from streams.telemetry.progress import ProgressBar
    try:
        scenario = scenario_of(vars(args))
    except ValueError as exc:
        raise ConfigError(f"simulate: {exc}") from None
    reach(kafka)
    bar = ProgressBar(scenario.count, "simulate", unit=" req")
    try:
        result = asyncio.run(simulate(kafka, scenario, progress=bar.update))
    finally:
        bar.close()
    print(f"sent {result.requests} requests ({result.malformed} more malformed), "
          f"{result.external_predictions} outside "
          f"predictions, {result.llm_predictions} assistant answers, {result.outcomes} "
          f"outcomes in {result.seconds:.1f}s")
    return 0
