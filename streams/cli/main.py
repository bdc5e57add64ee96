"""The ``inferwatch`` command: run a worker, create topics, train, simulate, inspect.

Settings come from ``INFERWATCH_*`` environment variables (see ``docs/ARCHITECTURE.md``);
a bad one stops the command at start with a message naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from pathlib import Path

from streams.errors import ConfigError, KafkaAccessError
from streams.settings import (
    AlertingSettings,
    ClickHouseSettings,
    GrafanaSettings,
    HealthSettings,
    InferenceSettings,
    KafkaSettings,
    MonitorSettings,
    RetrainSettings,
    WebSettings,
    load,
)

#: a worked example for each subcommand's --help
EXAMPLES = {
    "worker": "INFERWATCH_KAFKA_BOOTSTRAP=127.0.0.1:9092 inferwatch worker --roles "
              "inference,monitor,join,decide,sink,route",
    "retrain-worker": "INFERWATCH_RETRAIN_MARGIN=0.02 INFERWATCH_RETRAIN_MIN_EXAMPLES=2000 "
                      "inferwatch retrain-worker",
    "topics": "INFERWATCH_KAFKA_TOPIC_PREFIX=staging. inferwatch topics",
    "train": "inferwatch train --model churn --version v2 --rows 50000 --seed 1",
    "simulate": "inferwatch simulate --count 20000 --rate 500 --drift-at 8000 "
                "--drift-segment region=eu",
    "alerts": "inferwatch alerts --seconds 600",
    "report": "inferwatch report --out var/report.html && xdg-open var/report.html",
    "grafana": "INFERWATCH_GRAFANA_URL=https://grafana.example.com "
               "INFERWATCH_GRAFANA_TOKEN=glsa_... inferwatch grafana",
    "doctor": "INFERWATCH_ALERTING_ALERTMANAGER_URL=http://127.0.0.1:9093 inferwatch doctor",
    "status": "watch -n 5 inferwatch status",
    "experiment": "inferwatch experiment start churn-v2 --model churn --share 0.1 "
                  "--challenger-version v2 && inferwatch experiment status",
    "summary": "INFERWATCH_CLICKHOUSE_PATH=var/demo/chdb inferwatch summary",
    "models": "INFERWATCH_INFERENCE_MODEL_DIR=var/demo/models inferwatch models churn",
}


class _ExampleFormatter(argparse.HelpFormatter):
    """Wraps the description as usual; prints the example as written (one command)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return text
        return super()._fill_text(text, width, indent)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="inferwatch",
        description="Watch ML models in production on Kafka: inference, drift, latency, "
                    "alerts, retrain events, metrics in ClickHouse. Settings come from "
                    "INFERWATCH_* environment variables.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    w = sub.add_parser("worker", help="run a stream worker (inference, monitors, sink)",
                       description="Run a worker: creates missing topics, then serves the "
                                   "roles given until SIGTERM or Ctrl-C.")
    w.add_argument("--roles", default="inference,monitor,join,decide,sink,route,health",
                   help="comma-separated roles to run (default: all)")

    sub.add_parser("retrain-worker", help="retrain, validate and roll out on retrain requests",
                   description="Run the retrain worker (the worker's 'retrain' role): each "
                               "retrain request once, a warm-started candidate validated "
                               "against the champion on the most recent labels, then "
                               "published and, if it passed, made champion.")

    sub.add_parser("topics", help="create every topic that does not exist",
                   description="Create inferwatch's topics with their partition counts.")

    t = sub.add_parser("train", help="train the demo classifier and publish it",
                       description="Train the small torch classifier on generated data and "
                                   "publish it to the model store.")
    t.add_argument("--model", default="churn")
    t.add_argument("--version", default="v1")
    t.add_argument("--rows", type=int, default=20000, help="training rows (default 20000)")
    t.add_argument("--seed", type=int, default=0)

    s = sub.add_parser("simulate", help="produce realistic traffic with incidents",
                       description="Produce requests (and outside predictions and outcomes) "
                                   "with a scheduled drift and latency regression.")
    s.add_argument("--count", type=int, default=10000, help="requests to send")
    s.add_argument("--rate", type=float, default=0.0, help="requests per second (0: flat out)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--run-id", default="sim", help="prefix of request ids")
    s.add_argument("--drift-at", type=int, help="request index where the drift starts")
    s.add_argument("--drift-feature", default="f2")
    s.add_argument("--drift-shift", type=float, default=1.5, help="shift in feature std units")
    s.add_argument("--drift-scale", type=float, default=1.0,
                   help="spread multiplier of the drifting feature (1: unchanged)")
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

    s.add_argument("--challenger-share", type=float, default=0.0,
                   help="the ranker runs an experiment: variant B's share of its units")
    s.add_argument("--challenger-lift", type=float, default=0.0,
                   help="B's true lift: it mispredicts (1 - this) times as often as A")
    s.add_argument("--challenger-latency", type=float, default=0.0,
                   help="seconds B answers slower than A")
    s.add_argument("--experiment", default="ranker-exp",
                   help="the experiment's name, the salt of its sticky assignment")

    a = sub.add_parser("alerts", help="print alerts as they fire, one line each",
                       description="Follow the alerts topic and print each alert.")
    a.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")

    r = sub.add_parser("report", help="write an HTML report read back from ClickHouse",
                       description="Traffic, latency, every flagged window with its "
                                   "explanation, alerts and retrain requests, as one HTML page. "
                                   "Needs the worker stopped when using embedded chDB.")
    r.add_argument("--out", default="var/report.html", help="where to write it")

    sub.add_parser("grafana", help="provision the dashboard and data source in Grafana",
                   description="Create or update inferwatch's ClickHouse data source and "
                               "dashboard through Grafana's API (INFERWATCH_GRAFANA_URL, "
                               "INFERWATCH_GRAFANA_TOKEN). Grafana needs a ClickHouse server.")

    sub.add_parser("doctor", help="check Kafka, the topics, ClickHouse and the alert sinks",
                   description="One line per check: the Kafka connection, every topic and "
                               "its partition count, ClickHouse, each configured alert sink. "
                               "A failed check names the setting to fix; the exit status is "
                               "1 if any failed.")
    sub.add_parser("status", help="consumer lag, the last window per model, open incidents",
                   description="Read from Kafka (works while a worker runs): the lag of each "
                               "inferwatch consumer group per topic, the last window closed "
                               "per model and variant, and the incidents still firing.")
    x = sub.add_parser("experiment", help="champion/challenger experiments: their status",
                       description="Read the experiments' decisions from Kafka (works while a "
                                   "worker runs): each arm's samples, the estimate of "
                                   "challenger minus champion, its always-valid interval and "
                                   "p-value, and the sample-ratio test. Experiments are set "
                                   "with INFERWATCH_MONITOR_EXPERIMENTS, or started here.")
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
    m = sub.add_parser("models", help="the model registry: versions, aliases, their history",
                       description="Read the registry the workers serve from "
                                   "(INFERWATCH_INFERENCE_MODEL_DIR): each model's versions and "
                                   "aliases; with MODEL, each version's card and every alias "
                                   "move and traffic change, with its time and reason.")
    m.add_argument("model", nargs="?", help="one model, in full")
    sub.add_parser("summary", help="print a summary read back from ClickHouse",
                   description="Events, latency quantiles, alerts and retrain events from "
                               "ClickHouse. Needs the worker stopped when using embedded chDB.")
    for name, command in sub.choices.items():
        command.epilog = f"example:\n  {EXAMPLES[name]}"
        command.formatter_class = _ExampleFormatter
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # the worker logs its life; the short commands speak only through their output
    level = logging.INFO if args.command in ("worker", "retrain-worker") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command in ("doctor", "status"):  # their lines say what failed, once
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"inferwatch: {exc}", file=sys.stderr)
        return 2
    except KafkaAccessError as exc:
        print(f"inferwatch: {exc}", file=sys.stderr)
        return 75 if exc.retriable else 2  # EX_TEMPFAIL: the broker may come back
    except KeyboardInterrupt:
        return 130


def _reach(kafka: KafkaSettings) -> None:
    """Connect once before a command uses Kafka: one clear line (refused credentials,
    untrusted certificate, no broker), not a retry loop or a traceback from a client."""
    from streams.kafka.clients import check_access
    asyncio.run(check_access(kafka))


def _dispatch(args: argparse.Namespace) -> int:
    kafka = load(KafkaSettings)
    if args.command == "worker":
        return _worker(kafka, args.roles)
    if args.command == "retrain-worker":
        return _worker(kafka, "retrain")
    if args.command == "topics":
        from streams.kafka.clients import create_topics
        _reach(kafka)
        created = asyncio.run(create_topics(kafka))
        print(f"created {len(created)} topics: {', '.join(created) or '-'}")
        return 0
    if args.command == "train":
        return _train(args)
    if args.command == "simulate":
        return _simulate(kafka, args)
    if args.command == "alerts":
        from streams.cli.alerts import follow_alerts
        _reach(kafka)
        asyncio.run(follow_alerts(kafka, seconds=args.seconds))
        return 0
    if args.command == "report":
        return _report(Path(args.out))
    if args.command == "grafana":
        return _grafana()
    if args.command == "doctor":
        return _doctor(kafka)
    if args.command == "status":
        import time

        from streams.cli.status import run
        print("\n".join(run(kafka, time.time())))
        return 0
    if args.command == "experiment":
        return _experiment(kafka, args)
    if args.command == "models":
        return _models(args.model)
    if args.command == "summary":
        from streams.cli.summary import print_summary
        print_summary(load(ClickHouseSettings))
        return 0
    raise AssertionError(args.command)


def _models(model: str | None) -> int:
    from inference.registry import ModelStore
    from streams.cli.models import describe_model, describe_models
    store = ModelStore(load(InferenceSettings).model_dir)
    try:
        lines = describe_models(store) if model is None else describe_model(store, model)
    except ValueError as exc:
        raise ConfigError(f"models: {exc}") from None
    print("\n".join(lines))
    return 0


def _experiment(kafka: KafkaSettings, args: argparse.Namespace) -> int:
    if args.action == "status":
        from streams.cli.experiment import run as experiment_status
        _reach(kafka)
        print("\n".join(experiment_status(kafka)))
        return 0
    import time

    from inference.registry import ModelStore
    from streams.experiments.start import known_experiments, spec_from_args
    store = ModelStore(load(InferenceSettings).model_dir)
    if not args.name:
        raise ConfigError(f"experiment {args.action}: name the experiment")
    if args.action == "start":
        from streams.experiments.start import run as start
        try:
            spec = spec_from_args(args.name, args.model, args.champion, args.challenger,
                                  args.share)
        except ValueError as exc:
            raise ConfigError(f"experiment start: {exc}") from None
        version = args.challenger_version
        if version is not None and version not in store.versions(spec.model):
            raise ConfigError(f"experiment start: --challenger-version {version!r} is not a "
                              f"published version of {spec.model} (it has "
                              f"{store.versions(spec.model)})")
        _reach(kafka)
        print(start(kafka, store, spec, version, time.time()))
        return 0
    from streams.experiments.stop import run as stop
    specs = known_experiments(load(MonitorSettings).experiments, store)
    if args.name not in specs:
        raise ConfigError(f"experiment stop: no experiment {args.name!r} in "
                          "INFERWATCH_MONITOR_EXPERIMENTS or started in the registry "
                          f"(known: {sorted(specs)})")
    _reach(kafka)
    print(stop(kafka, specs[args.name], time.time()))
    return 0


def _worker(kafka: KafkaSettings, roles_text: str) -> int:
    from streams.app import ROLES, WorkerConfig, create_app
    roles = tuple(r.strip() for r in roles_text.split(",") if r.strip())
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise ConfigError(f"--roles: unknown {unknown}; valid roles are {list(ROLES)}")
    cfg = WorkerConfig(kafka=kafka, inference=load(InferenceSettings),
                       monitor=load(MonitorSettings), clickhouse=load(ClickHouseSettings),
                       alerting=load(AlertingSettings), web=load(WebSettings),
                       health=load(HealthSettings), retrain=load(RetrainSettings),
                       roles=roles)
    from streams.kafka.clients import create_topics
    _reach(kafka)
    asyncio.run(create_topics(kafka))
    import faust
    app = create_app(cfg)
    # what is built so far (modules, models, the app) lives as long as the worker: out of
    # the collector's generations, a full collection walks only what the loops allocate
    gc.collect()
    gc.freeze()
    faust.Worker(app, loglevel="INFO", quiet=True).execute_from_commandline()
    return 0


def _doctor(kafka: KafkaSettings) -> int:
    from streams.cli.doctor import run_checks
    checks = run_checks(kafka, load(ClickHouseSettings), load(AlertingSettings))
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def _report(out: Path) -> int:
    from streams.report.html import collect, model_store_profiles, render
    from streams.storage.clickhouse_store import ClickHouseStore
    monitor = load(MonitorSettings)
    store = ClickHouseStore.open(load(ClickHouseSettings))
    try:
        page = render(collect(store, profiles=model_store_profiles(
            load(InferenceSettings).model_dir), slo_threshold_s=monitor.slo_threshold_s,
            slo_objective=monitor.slo_objective))
    finally:
        store.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    print(f"wrote {out}")
    return 0


def _grafana() -> int:
    from streams.errors import SinkError
    from streams.report.grafana import ClickHouseSource, provision
    s = load(GrafanaSettings)
    if s.token is None:
        raise ConfigError("INFERWATCH_GRAFANA_TOKEN: a Grafana service-account token is needed")
    source = ClickHouseSource(host=s.clickhouse_host, port=s.clickhouse_port,
                              protocol=s.clickhouse_protocol, username=s.clickhouse_user,
                              password=s.clickhouse_password)
    try:
        for line in provision(s.url, s.token, source=source, folder_uid=s.folder_uid):
            print(line)
    except SinkError as exc:
        print(f"inferwatch: {exc}", file=sys.stderr)
        return 75 if exc.retriable else 1  # EX_TEMPFAIL: try again later
    return 0


def _train(args: argparse.Namespace) -> int:
    import tempfile

    from inference.registry import ModelStore
    from retrain.trainer import train_classifier
    settings = load(InferenceSettings)
    store = ModelStore(settings.model_dir)
    if args.version in store.versions(args.model):
        print(f"{args.model} {args.version} is already published in {settings.model_dir}")
        return 0
    from streams.telemetry.progress import ProgressBar
    epochs = 8
    bar = ProgressBar(epochs, f"train {args.model}", unit=" epochs")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            trained = train_classifier(Path(tmp), model=args.model, version=args.version,
                                       n=args.rows, seed=args.seed, epochs=epochs,
                                       on_epoch=bar.update)
        finally:
            bar.close()
        path = store.publish(args.model, args.version, Path(tmp))
    print(f"published {args.model} {args.version} to {path} "
          f"(held-out accuracy {trained.accuracy:.3f})")
    return 0


def _simulate(kafka: KafkaSettings, args: argparse.Namespace) -> int:
    from retrain.synthetic import Drift
    from streams.simulation.simulator import Scenario, simulate
    segment = None
    if args.drift_segment:
        key, _, value = args.drift_segment.partition("=")
        segment = {key: value}
    try:
        drift = (Drift(args.drift_feature, args.drift_shift, args.drift_scale, segment=segment)
                 if args.drift_at is not None else None)
        if args.scenario == "retraining":
            scenario = Scenario.retraining(
                args.count, rate=args.rate, seed=args.seed, run_id=args.run_id,
                drift_at=args.drift_at, outcome_share=args.outcome_share or 0.5)
        else:
            scenario = Scenario(
                count=args.count, rate=args.rate, seed=args.seed, run_id=args.run_id,
                drift_at=args.drift_at, drift=drift, external_share=args.external_share,
                latency_from=args.latency_from, latency_to=args.latency_to,
                outcome_share=args.outcome_share, concept_drift_at=args.concept_drift_at,
                concept_flip=args.concept_flip, llm_share=args.llm_share,
                topic_shift_at=args.topic_shift_at, topic_share=args.topic_share,
                malformed_share=args.malformed_share, missing_feature=args.missing_feature,
                missing_share=args.missing_share,
                challenger_share=args.challenger_share,
                challenger_lift=args.challenger_lift,
                challenger_latency_s=args.challenger_latency, experiment=args.experiment)
    except ValueError as exc:
        raise ConfigError(f"simulate: {exc}") from None
    _reach(kafka)
    from streams.telemetry.progress import ProgressBar
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


if __name__ == "__main__":
    sys.exit(main())
