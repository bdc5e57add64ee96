"""The Helm chart, linted and rendered by helm itself (built from the Go module proxy by
deploy/helm/helm.sh, cached), then its manifests read back and their wiring checked
against the code: the port the worker serves, its settings, its topics and groups."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.app import ROLES
from streams.cli.main import main as cli_main
from streams.settings import variables
from streams.wire.topics import Topics

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "deploy" / "helm" / "inferwatch"
Manifests = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def helm() -> str:
    built = subprocess.run(["bash", str(REPO / "deploy" / "helm" / "helm.sh")],
                           capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr
    return built.stdout.strip().splitlines()[-1]


def _template(helm: str, *sets: str) -> subprocess.CompletedProcess[str]:
    args = [a for s in sets for a in ("--set", s)]
    return subprocess.run([helm, "template", "iw", str(CHART), *args], capture_output=True,
                          text=True, timeout=120)


def _render(helm: str, *sets: str) -> Manifests:
    result = _template(helm, *sets)
    assert result.returncode == 0, result.stderr
    return {(d["kind"], d["metadata"]["name"]): d
            for d in yaml.safe_load_all(result.stdout) if d}


@pytest.fixture(scope="module")
def rendered(helm: str) -> Manifests:
    return _render(helm)


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_helm_lint_passes(helm: str) -> None:
    result = subprocess.run([helm, "lint", "--strict", str(CHART)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_the_chart_renders_its_objects(rendered: Manifests) -> None:
    assert set(rendered) == {
        ("ConfigMap", "iw-inferwatch-settings"), ("Secret", "iw-inferwatch-secrets"),
        ("Deployment", "iw-inferwatch-worker"), ("Deployment", "iw-inferwatch-router"),
        ("ScaledObject", "iw-inferwatch-worker"),
        ("PodDisruptionBudget", "iw-inferwatch-worker")}


def test_probes_point_at_the_port_the_worker_serves(rendered: Manifests) -> None:
    settings = rendered[("ConfigMap", "iw-inferwatch-settings")]["data"]
    served = int(settings["INFERWATCH_ALERTING_METRICS_PORT"])
    assert settings["INFERWATCH_WEB_HOST"] == "0.0.0.0"  # reachable from the kubelet
    for name in ("iw-inferwatch-worker", "iw-inferwatch-router"):
        c = _container(rendered[("Deployment", name)])
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"web": served}
        assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "web"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "web"}
        assert c["startupProbe"]["httpGet"] == {"path": "/livez", "port": "web"}
        # liveness waits longer than the worker's own event-loop timeout
        assert c["livenessProbe"]["timeoutSeconds"] > 5


def test_settings_come_from_the_configmap_and_secrets_from_the_secret(
        rendered: Manifests) -> None:
    known = variables()
    config = rendered[("ConfigMap", "iw-inferwatch-settings")]["data"]
    assert set(config) <= set(known), set(config) - set(known)
    assert not any(known[k] for k in config)  # no secret in a ConfigMap
    for name in ("iw-inferwatch-worker", "iw-inferwatch-router"):
        c = _container(rendered[("Deployment", name)])
        refs = {next(iter(r)): next(iter(r.values()))["name"] for r in c["envFrom"]}
        assert ("ConfigMap", refs["configMapRef"]) in rendered
        assert ("Secret", refs["secretRef"]) in rendered
        (worker_id,) = c["env"]
        assert worker_id["name"] == "INFERWATCH_KAFKA_WORKER_ID"  # a transactional id per pod
        assert worker_id["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_secret_values_land_in_the_secret_only_and_only_secret_settings(
        helm: str, rendered: Manifests) -> None:
    out = _render(helm, "secrets.INFERWATCH_ALERTING_PAGERDUTY_ROUTING_KEY=pd-key-1")
    secret = out[("Secret", "iw-inferwatch-secrets")]
    assert secret["stringData"] == {"INFERWATCH_ALERTING_PAGERDUTY_ROUTING_KEY": "pd-key-1"}
    assert rendered[("Secret", "iw-inferwatch-secrets")]["stringData"] == {}
    for name in ("iw-inferwatch-worker", "iw-inferwatch-router"):  # a new secret rolls pods
        before, after = (m[("Deployment", name)]["spec"]["template"]["metadata"]["annotations"]
                         for m in (rendered, out))
        assert before["checksum/settings"] != after["checksum/settings"]
    assert "pd-key-1" not in yaml.safe_dump(out[("ConfigMap", "iw-inferwatch-settings")])
    known = variables()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["secrets"] and all(known.get(k) is True for k in values["secrets"])
    refused = _template(helm, "config.INFERWATCH_ALERTING_WEBHOOK_TOKEN=t0ken")
    assert refused.returncode != 0
    assert "INFERWATCH_ALERTING_WEBHOOK_TOKEN is a secret setting" in refused.stderr


def test_an_existing_secret_replaces_the_charts(helm: str) -> None:
    out = _render(helm, "existingSecret=team-inferwatch")
    assert not any(kind == "Secret" for kind, _ in out)
    c = _container(out[("Deployment", "iw-inferwatch-worker")])
    assert {"secretRef": {"name": "team-inferwatch"}} in c["envFrom"]


def test_workers_run_every_role_but_the_router_and_the_router_runs_alone(
        rendered: Manifests) -> None:
    worker = rendered[("Deployment", "iw-inferwatch-worker")]
    args = _container(worker)["args"]
    assert args[:2] == ["worker", "--roles"]
    # route and health run in the router; retrain in its own Deployment (off by default)
    assert set(args[2].split(",")) == set(ROLES) - {"route", "health", "retrain"}
    assert "replicas" not in worker["spec"]  # KEDA owns the count
    router = rendered[("Deployment", "iw-inferwatch-router")]
    assert _container(router)["args"] == ["worker", "--roles", "route,health"]
    assert router["spec"]["replicas"] == 1
    assert router["spec"]["strategy"] == {"type": "Recreate"}
    for d in (worker, router):
        assert _matches(d["spec"]["selector"]["matchLabels"],
                        d["spec"]["template"]["metadata"]["labels"])


def test_the_scaled_object_targets_the_workers_and_stops_at_the_partition_count(
        rendered: Manifests) -> None:
    so = rendered[("ScaledObject", "iw-inferwatch-worker")]["spec"]
    assert so["scaleTargetRef"]["name"] == "iw-inferwatch-worker"
    assert ("Deployment", so["scaleTargetRef"]["name"]) in rendered
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    topics = Topics(values["kafka"]["topicPrefix"])
    partitions = topics.partitions("requests")
    assert partitions == topics.partitions("predictions") == values["kafka"]["partitions"] == 6
    assert so["maxReplicaCount"] == partitions
    # the groups are the loops' (TransactionalLoop: prefix + loop name) on their topics
    assert {(t["metadata"]["consumerGroup"], t["metadata"]["topic"])
            for t in so["triggers"]} == {(f"{topics.prefix}inference", topics.requests),
                                         (f"{topics.prefix}monitor", topics.predictions)}
    for t in so["triggers"]:
        assert t["type"] == "kafka"
        assert t["metadata"]["bootstrapServers"] == values["kafka"]["bootstrap"]
        assert t["metadata"]["allowIdleConsumers"] == "false"


def test_more_replicas_than_partitions_is_refused(helm: str) -> None:
    refused = _template(helm, "worker.autoscaling.maxReplicas=8")
    assert refused.returncode != 0
    assert "worker.autoscaling.maxReplicas (8) exceeds kafka.partitions (6)" in refused.stderr
    wider = _render(helm, "kafka.partitions=12")
    assert wider[("ScaledObject", "iw-inferwatch-worker")]["spec"]["maxReplicaCount"] == 12
    fewer = _render(helm, "worker.autoscaling.maxReplicas=4")
    assert fewer[("ScaledObject", "iw-inferwatch-worker")]["spec"]["maxReplicaCount"] == 4


def test_without_autoscaling_the_deployment_sets_its_replicas(helm: str) -> None:
    out = _render(helm, "worker.autoscaling.enabled=false", "worker.replicas=3")
    assert not any(kind == "ScaledObject" for kind, _ in out)
    assert out[("Deployment", "iw-inferwatch-worker")]["spec"]["replicas"] == 3


def test_the_pdb_selects_the_worker_pods_only(rendered: Manifests) -> None:
    pdb = rendered[("PodDisruptionBudget", "iw-inferwatch-worker")]["spec"]
    assert pdb["maxUnavailable"] == 1
    selector = pdb["selector"]["matchLabels"]
    worker = rendered[("Deployment", "iw-inferwatch-worker")]["spec"]["template"]
    router = rendered[("Deployment", "iw-inferwatch-router")]["spec"]["template"]
    assert _matches(selector, worker["metadata"]["labels"])
    assert not _matches(selector, router["metadata"]["labels"])


def test_the_retrain_worker_is_its_own_deployment_when_enabled(
        helm: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = _render(helm, "retrain.enabled=true")
    retrain = out[("Deployment", "iw-inferwatch-retrain")]
    c = _container(retrain)
    assert c["command"] == ["inferwatch", "worker", "--roles", "retrain"]
    assert _matches(retrain["spec"]["selector"]["matchLabels"],
                    retrain["spec"]["template"]["metadata"]["labels"])
    pdb = out[("PodDisruptionBudget", "iw-inferwatch-worker")]["spec"]["selector"]["matchLabels"]
    assert not _matches(pdb, retrain["spec"]["template"]["metadata"]["labels"])
    # the command names the worker's retrain role (it gets as far as looking for Kafka)
    assert "retrain" in ROLES and c["command"][-1] == "retrain"
    assert cli_main([*c["command"][1:-1], "retrain,bogus"]) == 2
    assert "--roles: unknown ['bogus']" in capsys.readouterr().err
