"""``inferwatch backtest``: replay recorded traffic through the decision code, offline.

Three uses: replay a time range of stored traffic and compare the incidents it would have
raised with those the live run raised (with one settings file, or two side by side);
``--check`` runs the rule tests (recorded scenarios with the incidents each must produce)
and exits 1 on a difference; ``--record`` re-records a rule-test scenario.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from streams.cli.command import Subparsers, add_command
from streams.errors import ConfigError
from streams.settings import KafkaSettings

#: where the shipped rule tests live (the demo's scenarios)
RULES = Path("deploy/rules")


def add_to(sub: Subparsers) -> None:
    """Add ``backtest``."""
    b = add_command(
        sub, "backtest", _backtest,
        help="replay recorded traffic through the alert rules; test rules on scenarios",
        description="Replays stored predictions and outcomes through the same monitors, "
                    "windows, alert book and incident grouping the worker runs, on the "
                    "records' event time, sending nothing; prints the incidents that would "
                    "have fired and resolved beside those that did, and writes them as a "
                    "report section. --check runs the recorded rule-test scenarios and "
                    "exits 1 when an incident is added, silenced or moved.",
        example="inferwatch backtest --since 2025-06-01T10:00 --until 2025-06-01T11:00 "
                "--set drift_min_psi=0.2")
    b.add_argument("--since", type=_time, help="start of event time (ISO 8601, UTC unless "
                   "it says, or epoch seconds)")
    b.add_argument("--until", type=_time, help="end of event time (default: now)")
    b.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a setting (INFERWATCH_MONITOR_DRIFT_MIN_PSI, or drift_min_psi)")
    b.add_argument("--settings", action="append", default=[], type=Path, metavar="FILE",
                   help="a file of KEY=VALUE settings; give two to compare them side by side")
    b.add_argument("--source", choices=("clickhouse", "topics"), default="clickhouse",
                   help="where the traffic is read: ClickHouse, or the topics' retained "
                        "history")
    b.add_argument("--out", type=Path, default=Path("var/backtest.html"),
                   help="where the report section is written")
    b.add_argument("--check", nargs="?", const=RULES, type=Path, metavar="FOLDER",
                   help=f"run the rule tests under FOLDER (default {RULES}); exit 1 on a "
                        "difference")
    b.add_argument("--record", type=Path, metavar="SCENARIO",
                   help="re-record a rule-test scenario folder with the model store's "
                        "served version, and write its expected incidents")


def _backtest(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    from streams.backtest import replay_settings
    changes = replay_settings.changes(args.set)
    if len(args.settings) > 2:
        raise ConfigError("--settings: give one file, or two to compare")
    if args.record is not None:
        return _record(args.record)
    if args.check is not None:
        extra = replay_settings.read_file(args.settings[0]) if args.settings else {}
        return _check(args.check, {**extra, **changes})
    if args.since is None:
        raise ConfigError("backtest needs --since (or --check, or --record)")
    until = args.until if args.until is not None else dt.datetime.now(dt.UTC).timestamp()
    files = [replay_settings.read_file(p) for p in args.settings] or [{}]
    names = [p.name for p in args.settings] or ["replay"]
    return _compare(args, [{**f, **changes} for f in files], names, until)


def _compare(args: argparse.Namespace, configs: list[dict[str, str]], names: list[str],
             until: float) -> int:
    """Replay the range under each settings; print and write how each differs from the
    live alert log, and (with two) from each other."""
    from streams.backtest import section, sources
    from streams.backtest.episodes import compare, episodes
    from streams.backtest.replay import Replay, model_references
    from streams.backtest.replay_settings import worker_config
    from streams.storage.clickhouse_store import ClickHouseStore
    from streams.wire.topics import Topics
    cfgs = [worker_config(values, inherit=True) for values in configs]
    store = ClickHouseStore.open(cfgs[0].clickhouse)
    try:
        traffic = (sources.stored_traffic(store, args.since, until,
                                          Topics(cfgs[0].kafka.topic_prefix))
                   if args.source == "clickhouse"
                   else sources.retained_traffic(cfgs[0].kafka, args.since, until))
        live = sources.stored_alerts(store, args.since, until)
    finally:
        store.close()
    runs = [Replay(cfg, model_references(cfg)).run(traffic) for cfg in cfgs]
    tolerance = max(max(r.window_span_s for r in runs), cfgs[0].monitor.summary_interval_s)
    found = [episodes(r.alerts) for r in runs]
    logged = episodes(live, runs[0].detectors)
    diffs = [("live", name, compare(logged, eps, tolerance_s=tolerance))
             for name, eps in zip(names, found, strict=True)]
    if len(runs) == 2:
        diffs.append((names[0], names[1], compare(found[0], found[1], tolerance_s=tolerance)))
    print(f"replayed {runs[0].predictions} predictions ({len(traffic)} records) from "
          f"{section.stamp(args.since)} to {section.stamp(until)} in {runs[0].seconds:.1f} s")
    parts = []
    for before, after, diff in diffs:
        print("\n".join(section.lines(diff, before, after)))
        parts.append(section.html_section(f"Backtest: {before} and {after}", diff, before, after))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(parts))
    print(f"wrote {args.out}")
    return 0


def _check(root: Path, changes: dict[str, str]) -> int:
    """Run the rule tests under ``root``; 1 if any scenario's incidents differ."""
    from streams.backtest import rule_tests, section
    failed = 0
    for result in rule_tests.check(root, changes):
        verdict = "ok" if result.difference.same else "FAILED"
        failed += not result.difference.same
        print(f"{verdict}  {result.name}: {result.description} ({result.predictions} "
              f"predictions, {result.seconds:.1f} s)")
        if not result.difference.same:
            print("\n".join(section.lines(result.difference, "expected", "replayed")))
    print(f"{failed} scenario(s) failed" if failed else "every scenario gives its incidents",
          file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0


def _record(folder: Path) -> int:
    from streams.backtest import rule_tests, section
    from streams.settings import InferenceSettings, load
    found = rule_tests.record(folder, load(InferenceSettings).model_dir)
    print(f"recorded {folder}; expected incidents ({len(found)}):")
    print("\n".join(f"  {section.row(e)}" for e in found))
    return 0


def _time(text: str) -> float:
    """An event time: epoch seconds, or ISO 8601 (UTC unless it names a zone)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither epoch seconds nor an ISO 8601 time") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
