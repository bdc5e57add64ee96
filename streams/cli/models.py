"""``inferwatch models [MODEL]``: what the model registry holds, and how it got there.

Without a model: one line per model (its versions, its aliases, a traffic override and
the experiment started on it). With one: each version with its card (created, parent,
device, data range, holdout accuracy, content hash), the aliases, every alias move and
every change of the traffic split, oldest first, each with its time and reason. This is
the file-backed registry that the workers read (``INFERWATCH_INFERENCE_MODEL_DIR``);
reading it changes nothing. ``inferwatch models publish MODEL ...`` publishes a version
into it (:mod:`streams.cli.publish`).

>>> _split({"A": 0.9, "B": 0.1})
'A 90% / B 10%'
"""

from __future__ import annotations

import argparse

from inference.registry import ModelStore
from inference.shadow_binding import shadow_record
from streams.cli.command import Subparsers, add_command
from streams.cli.publish import publish
from streams.errors import ConfigError
from streams.report.utc_time import utc_stamp
from streams.settings import InferenceSettings, KafkaSettings, load

__all__ = ["add_to", "describe_model", "describe_models"]


def add_to(sub: Subparsers) -> None:
    """Add ``models``."""
    m = add_command(sub, "models", _models,
                    help="the model registry: versions, aliases, their history",
                    description="Read the registry the workers serve from "
                                "(INFERWATCH_INFERENCE_MODEL_DIR): each model's versions and "
                                "aliases; with MODEL, each version's card and every alias "
                                "move and traffic change, with its time and reason. "
                                "'inferwatch models publish MODEL --version V --from PATH "
                                "--reference DATA' publishes a version with its reference "
                                "data (see 'inferwatch models publish --help').",
                    example="INFERWATCH_INFERENCE_MODEL_DIR=var/demo/models inferwatch models "
                            "churn")
    m.add_argument("model", nargs="?", help="one model, in full; or publish")
    # the words after 'publish', parsed by its own parser (streams.cli.publish)
    m.add_argument("publish_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def _models(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    if args.model == "publish":
        return publish(args.publish_args)
    if args.publish_args:
        raise ConfigError(f"models: unexpected {' '.join(args.publish_args)!r} after the "
                          f"model (did you mean 'inferwatch models publish ...'?)")
    store = ModelStore(load(InferenceSettings).model_dir)
    try:
        lines = (describe_models(store) if args.model is None
                 else describe_model(store, args.model))
    except ValueError as exc:
        raise ConfigError(f"models: {exc}") from None
    print("\n".join(lines))
    return 0


def describe_models(store: ModelStore) -> list[str]:
    """One line per model in ``store``."""
    models = store.models()
    if not models:
        return [f"no model published under {store.root}"]
    lines = []
    for model in models:
        versions = store.versions(model)
        parts = [f"{model}: {len(versions)} version{'s' * (len(versions) != 1)}"
                 f" ({', '.join(versions) or 'none'})"]
        aliases = store.aliases(model)
        if aliases:
            parts.append(", ".join(f"{a} {v}" for a, v in sorted(aliases.items())))
        traffic = store.traffic(model)
        if traffic:
            parts.append(f"split {_split(traffic)}")
        experiment = store.experiment(model)
        if experiment:
            parts.append(f"experiment {experiment.get('name')}")
        lines.append("; ".join(parts))
    return lines


def describe_model(store: ModelStore, model: str) -> list[str]:
    """Versions, aliases and the history of ``model``; ValueError if it has no version."""
    versions = store.versions(model)
    if not versions:
        raise ValueError(f"no model {model!r} under {store.root} "
                         f"(it has: {', '.join(store.models()) or 'none'})")
    lines = [f"{model}: versions"]
    for version in versions:
        card = store.card(model, version)
        if card is None:
            lines.append(f"  {version}  (published without a card)")
            continue
        lineage = card.lineage
        facts = [f"created {utc_stamp(card.created_at)}",
                 f"parent {lineage.parent or '-'}", f"device {lineage.device or '-'}"]
        if lineage.data_range is not None:
            first, last = lineage.data_range
            facts.append(f"data {utc_stamp(first)} .. {utc_stamp(last)}")
        # a retrained version's (its validation's), or a published one's (its holdout's)
        accuracy = lineage.metrics.get("candidate_accuracy",
                                       lineage.metrics.get("holdout_accuracy"))
        if accuracy is not None:
            facts.append(f"holdout accuracy {accuracy:.4f}")
        facts.append(f"sha256 {card.content_hash[:12]}")
        lines.append(f"  {version}  " + ", ".join(facts))
    aliases = store.aliases(model)
    lines.append("aliases: " + (", ".join(f"{a} -> {v}" for a, v in sorted(aliases.items()))
                                or "none"))
    traffic = store.traffic(model)
    lines.append(f"traffic: {_split(traffic) if traffic else 'as configured'}")
    experiment = store.experiment(model)
    if experiment:
        lines.append(f"experiment: {experiment.get('name')} ({experiment.get('champion')} "
                     f"against {experiment.get('challenger')}, share "
                     f"{experiment.get('share')})")
    shadow = shadow_record(store, model)
    if shadow:
        lines.append(_shadow_line(shadow))
    history: list[tuple[float, str]] = [
        (c.at, f"{c.alias} {c.previous or '(new)'} -> {c.version}"
               + (f": {c.reason}" if c.reason else ""))
        for c in store.alias_history(model)]
    history += [(c.at, f"split {_split(c.previous) if c.previous else 'as configured'} -> "
                       f"{_split(c.split)}" + (f": {c.reason}" if c.reason else ""))
                for c in store.traffic_history(model)]
    lines.append("history:" if history else "history: none")
    lines += [f"  {utc_stamp(at)}  {what}" for at, what in sorted(history, key=lambda h: h[0])]
    return lines


def _shadow_line(shadow: dict[str, object]) -> str:
    """The shadow's line: its version, its share, and the verdict that ended it.

    >>> _shadow_line({"version": "v2", "share": None})
    'shadow: v2 on the default share of requests (INFERWATCH_INFERENCE_SHADOW_SHARE)'
    >>> _shadow_line({"version": "v2", "share": 0.0, "ended": "rejected: worse"})
    'shadow: v2 ended: rejected: worse'
    """
    version, share = shadow.get("version"), shadow.get("share")
    if "ended" in shadow:
        return f"shadow: {version} ended: {shadow['ended']}"
    if share is None:
        return (f"shadow: {version} on the default share of requests "
                "(INFERWATCH_INFERENCE_SHADOW_SHARE)")
    return f"shadow: {version} on {float(share):.0%} of requests"  # type: ignore[arg-type]


def _split(split: dict[str, float]) -> str:
    return " / ".join(f"{variant} {share:.0%}" for variant, share in sorted(split.items()))
