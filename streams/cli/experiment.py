"""``inferwatch experiment``: each experiment's latest look, read from Kafka; start, stop.

The decision step writes every look of an experiment to the model-updates topic
(:class:`~streams.wire.events.ExperimentDecided`); ``status`` folds them to the latest per
experiment, or its final decision (promote, rollback, inconclusive) once there is one, and
prints the arms' samples, the estimate (challenger minus champion), its always-valid
interval and p-value, and the sample-ratio test's p-value. The fold is pure; :func:`gather`
reads. ``start`` and ``stop`` run the lifecycle of :mod:`streams.experiments` with the
publisher of :mod:`streams.kafka.model_updates` (:func:`start_on_kafka`, :func:`stop_on_kafka`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from streams.cli.command import Subparsers, add_command, reach
from streams.errors import ConfigError
from streams.experiments.spec import ExperimentSpec
from streams.report.utc_time import utc_stamp
from streams.settings import InferenceSettings, KafkaSettings, MonitorSettings, load
from streams.wire.events import ExperimentDecided, ModelUpdate
from streams.wire.topics import Topics

if TYPE_CHECKING:
    from inference.registry import ModelStore


def add_to(sub: Subparsers) -> None:
    """Add ``experiment`` with its actions."""
    x = add_command(
        sub, "experiment", _experiment,
        help="champion/challenger experiments: their status",
        description="Read the experiments' decisions from Kafka (works while a worker runs): "
                    "each arm's samples, the estimate of challenger minus champion, its "
                    "always-valid interval and p-value, and the sample-ratio test. "
                    "Experiments are set with INFERWATCH_MONITOR_EXPERIMENTS, or started "
                    "here.",
        example="inferwatch experiment start churn-v2 --model churn --share 0.1 "
                "--challenger-version v2 && inferwatch experiment status")
    x.add_argument("action", choices=["status", "start", "stop"],
                   help="status: each experiment's last look; start NAME: start one on a "
                   "running system; stop NAME: roll it back by hand")
    x.add_argument("name", nargs="?", help="the experiment to start or stop")
    x.add_argument("--model", help="start: the model whose traffic is split")
    x.add_argument("--share", type=float, default=0.1,
                   help="start: the challenger's share of the units (default 0.1)")
    x.add_argument("--champion", default="A", help="start: the champion variant (A)")
    x.add_argument("--challenger", default="B", help="start: the challenger variant (B)")
    x.add_argument("--challenger-version", help="start: move the registry's 'challenger' "
                   "alias to this version (bind the variant to it: MODEL:B=challenger)")
    x.add_argument("--shadow", metavar="VERSION", help="start: put VERSION in shadow instead "
                   "(the registry's 'shadow' alias): it scores a share of the model's "
                   "requests after the answers, answering none, for a paired verdict")
    x.add_argument("--shadow-share", type=float, help="start --shadow: the share of requests "
                   "the shadow scores (default INFERWATCH_INFERENCE_SHADOW_SHARE)")


def latest(decisions: Iterable[ExperimentDecided]) -> dict[str, ExperimentDecided]:
    """Per experiment: its final decision if it has one, else its latest look."""
    out: dict[str, ExperimentDecided] = {}
    for d in decisions:
        held = out.get(d.experiment)
        if held is None or (held.action == "continue" and d.ts >= held.ts):
            out[d.experiment] = d
    return out


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:+.4f}"


def lines(decisions: dict[str, ExperimentDecided]) -> list[str]:
    """The status as printed lines."""
    if not decisions:
        return ["no experiment has been judged yet (INFERWATCH_MONITOR_EXPERIMENTS)"]
    out = []
    for name in sorted(decisions):
        d = decisions[name]
        at = utc_stamp(d.ts)
        out += [
            f"experiment {name}: model {d.model}, champion {d.champion}, challenger "
            f"{d.challenger}: {d.action.upper()} ({d.reason}) at {at}",
            f"  {d.metric}: challenger - champion {_num(d.estimate)} "
            f"[{_num(d.lower)}, {_num(d.upper)}], p {d.p_value:.4g} ({d.test})",
            f"  samples: {d.champion} {d.n_champion}, {d.challenger} {d.n_challenger}; "
            f"sample-ratio p {d.srm_p_value:.4g}"]
    return out


async def gather(settings: KafkaSettings) -> list[ExperimentDecided]:
    """Every experiment decision on the model-updates topic."""
    from streams.kafka.topic_reader import decode_values, partition_counts, read_values
    topic = Topics(settings.topic_prefix).model_updates
    counts = await partition_counts(settings, [topic])
    raw = await read_values(settings, topic, counts.get(topic, 0))
    # the topic carries model versions and experiment starts too: each record is decoded
    # once, as the kind its tag names
    return [u for u in decode_values(raw, ModelUpdate) if isinstance(u, ExperimentDecided)]


def run(settings: KafkaSettings) -> list[str]:
    """The status as printed lines."""
    return lines(latest(asyncio.run(gather(settings))))


def start_on_kafka(settings: KafkaSettings, store: ModelStore, spec: ExperimentSpec,
                   challenger_version: str | None, now: float) -> str:
    """Start ``spec`` and announce it on the model-updates topic; what to print."""
    from streams.experiments.start import run as start
    from streams.kafka.model_updates import publish
    return start(partial(publish, settings), store, spec, challenger_version, now)


def stop_on_kafka(settings: KafkaSettings, spec: ExperimentSpec, now: float) -> str:
    """Write the rollback of ``spec`` to the model-updates topic; what to print."""
    from streams.experiments.stop import run as stop
    from streams.kafka.model_updates import publish
    return stop(partial(publish, settings), spec, now)


def _experiment(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    if args.action == "status":
        reach(kafka)
        print("\n".join(run(kafka)))
        return 0
    from inference.registry import ModelStore
    store = ModelStore(load(InferenceSettings).model_dir)
    if not args.name:
        raise ConfigError(f"experiment {args.action}: name the experiment")
    if args.action == "start":
        return _start(args, kafka, store)
    return _stop(args, kafka, store)


def _start(args: argparse.Namespace, kafka: KafkaSettings, store: ModelStore) -> int:
    from streams.experiments.start import spec_from_args
    if args.shadow is not None:
        return _start_shadow(args, kafka, store)
    try:
        spec = spec_from_args(args.name, args.model, args.champion, args.challenger, args.share)
    except ValueError as exc:
        raise ConfigError(f"experiment start: {exc}") from None
    version = args.challenger_version
    if version is not None and version not in store.versions(spec.model):
        raise ConfigError(f"experiment start: --challenger-version {version!r} is not a "
                          f"published version of {spec.model} (it has "
                          f"{store.versions(spec.model)})")
    reach(kafka)
    print(start_on_kafka(kafka, store, spec, version, time.time()))
    return 0


def _start_shadow(args: argparse.Namespace, kafka: KafkaSettings, store: ModelStore) -> int:
    from inference.shadow_binding import check_shadow
    from streams.experiments.shadow import run as start
    from streams.kafka.model_updates import publish
    if not args.model:
        raise ConfigError("experiment start --shadow: --model is needed: the model whose "
                          "requests the shadow scores")
    try:  # checked before Kafka is reached; written once it is
        check_shadow(store, args.model, args.shadow, args.shadow_share)
    except ValueError as exc:
        raise ConfigError(f"experiment start: {exc}") from None
    reach(kafka)
    print(start(partial(publish, kafka), store, args.name, args.model, args.shadow,
                args.shadow_share, time.time()))
    return 0


def _stop(args: argparse.Namespace, kafka: KafkaSettings, store: ModelStore) -> int:
    from streams.experiments.start import known_experiments
    specs = known_experiments(load(MonitorSettings).experiments, store)
    if args.name not in specs:
        raise ConfigError(f"experiment stop: no experiment {args.name!r} in "
                          "INFERWATCH_MONITOR_EXPERIMENTS or started in the registry "
                          f"(known: {sorted(specs)})")
    reach(kafka)
    print(stop_on_kafka(kafka, specs[args.name], time.time()))
    return 0
