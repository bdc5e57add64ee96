"""The Grafana dashboard as code: its JSON, its SQL on real ClickHouse, and provisioning.

Every panel's and variable's query runs on the embedded ClickHouse (chDB) over the real
schema, after the plugin's macros are expanded the way grafana-clickhouse-datasource
expands them; numbers are checked against closed forms and numpy. Provisioning runs
against a recording fake of Grafana's HTTP API on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from streams.errors import ConfigError, SinkError
from streams.report.grafana import DASHBOARD, DATASOURCE_UID, ClickHouseSource, provision
from streams.storage.clickhouse_store import ClickHouseStore
from streams.storage.metric_rows import _DEAD_COLUMNS, _MAPPINGS, _SOURCE

DS_UID = "inferwatch-clickhouse"
T0 = 1_700_000_040.0  # a minute boundary
FROM, TO = int(T0) - 3600, int(T0) + 3600
ACCURACY = 0.005  # the schema's quantilesDD relative accuracy
VARS = {"model": ["churn", "fraud"], "variant": ["A", "B"], "segment": ["*"]}


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def _panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dash["panels"] if p["type"] != "row"]


def _panel(title_start: str) -> dict[str, Any]:
    (panel,) = [p for p in _panels(_dashboard()) if p["title"].startswith(title_start)]
    return panel


def expand(sql: str, variables: dict[str, list[str]] = VARS, interval_s: int = 60) -> str:
    """``sql`` with the ClickHouse plugin's macros and Grafana's variables replaced."""
    def time_filter(m: re.Match[str]) -> str:
        return f"{m[1]} >= toDateTime({FROM}) AND {m[1]} <= toDateTime({TO})"

    def variable(m: re.Match[str]) -> str:
        values = variables[m[1] or m[3]]
        if m[2] == "singlequote":
            return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
        assert m[2] is None, f"format {m[2]} not expanded by this test"
        return values[0]

    sql = re.sub(r"\$__timeFilter\((\w+)\)", time_filter, sql)
    sql = re.sub(r"\$__timeInterval\((\w+)\)",
                 rf"toStartOfInterval(toDateTime(\1), INTERVAL {interval_s} second)", sql)
    sql = sql.replace("$__interval_s", str(interval_s))
    sql = sql.replace("$__fromTime", f"toDateTime({FROM})")
    sql = sql.replace("$__toTime", f"toDateTime({TO})")
    sql = re.sub(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)", variable, sql)
    assert "$" not in sql, sql
    return sql


# ---- the JSON --------------------------------------------------------------------------


def test_dashboard_json_has_unique_ids_the_datasource_and_plugin_targets() -> None:
    dash = _dashboard()
    assert dash["uid"] == "inferwatch" and 36 <= dash["schemaVersion"] <= 41
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    panels = _panels(dash)
    assert len(panels) >= 10
    for panel in panels:
        assert panel["datasource"] == {"type": "grafana-clickhouse-datasource", "uid": DS_UID}
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DS_UID
            assert target["editorType"] == "sql" and target["rawSql"].strip()
            table = panel["type"] == "table"
            # the plugin's Format: 0 time series, 1 table
            assert (target["format"], target["queryType"]) == (
                (1, "table") if table else (0, "timeseries")), panel["title"]
    names = {v["name"]: v for v in dash["templating"]["list"]}
    assert {"model", "variant", "segment"} <= names.keys()
    for var in names.values():
        assert var["type"] == "query" and var["datasource"]["uid"] == DS_UID


def test_alert_links_resolve_to_the_model_variable() -> None:
    """The decision stage links alerts to /d/inferwatch?var-model=<model>."""
    dash = _dashboard()
    model = next(v for v in dash["templating"]["list"] if v["name"] == "model")
    assert dash["uid"] == "inferwatch" and model["type"] == "query"
    uses = [p for p in _panels(dash) if "${model:singlequote}" in p["targets"][0]["rawSql"]]
    assert len(uses) == len(_panels(dash)) - 1  # all but dead letters (no model column)


def test_provisioning_files_name_the_datasource_and_take_secrets_from_the_env() -> None:
    """No YAML parser in the environment: the checks read the lines that matter."""
    root = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "provisioning"
    source = (root / "datasources" / "clickhouse.yaml").read_text()
    fields = dict(re.findall(r"^\s+(\w+): (.+)$", source, re.MULTILINE))
    assert fields["uid"] == DS_UID and fields["type"] == "grafana-clickhouse-datasource"
    for key in ("host", "port", "protocol", "username"):
        assert re.fullmatch(r"\$\{INFERWATCH_GRAFANA_CLICKHOUSE_\w+\}", fields[key]), key
    assert fields["password"] == "$__env{INFERWATCH_GRAFANA_CLICKHOUSE_PASSWORD}"
    provider = (root / "dashboards" / "inferwatch.yaml").read_text()
    assert "type: file" in provider and re.search(r"^\s+path: /\S+$", provider, re.MULTILINE)


# ---- the SQL on real ClickHouse --------------------------------------------------------


def _prediction(i: int, ts: float, model: str, variant: str, total: float, region: str
                ) -> list[Any]:
    # each prediction cost 1/100 of its total latency in CPU time; no GPU, no energy counter
    return [f"r{i}", ts, model, variant, "v1", 0, 0.5, total / 10, total / 2, total, None,
            total / 100, None, None, 1, "cpu", {"region": region}, "", {"x": 1.0}, None, 0, i]


def _report(i: int, ts: float, detector: str, variant: str, segment: str, statistic: float,
            decision: str, evidence: dict[str, Any], p_value: float | None = 0.001) -> list[Any]:
    return [ts, detector, "churn", variant, segment, ts - 60, ts, 1000, statistic, 0.1,
            p_value, decision, json.dumps(evidence), 0, i]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClickHouseStore, dict]]:
    times, totals, rows = _predictions(np.random.default_rng(7))
    reports = [
        _report(0, T0 + 10, "feature_drift", "A", "region=eu", 0.31, "drift",
                {"feature": "tenure", "segment": "region=eu", "psi[region=eu/tenure]": 0.31}),
        _report(1, T0 + 70, "feature_drift", "A", "region=eu", 0.42, "drift",
                {"feature": "income", "segment": "region=eu", "psi[region=eu/income]": 0.42}),
        _report(2, T0 + 100, "feature_drift", "A", "*", 0.02, "ok", {"feature": "tenure"}),
        _report(3, T0 + 20, "slo_burn_rate", "A", "*", 16.0, "breach",
                {"slo": "latency", "budget_remaining": 0.75, "burn_1h": 16.0,
                 "burn_6h": 7.5, "burn_5m": 20.0, "severity": "page"}, p_value=None),
        _report(4, T0 + 30, "slo_error_burn_rate", "B", "*", 1.0, "ok",
                {"slo": "errors", "budget_remaining": 0.99, "burn_1h": 1.0, "burn_6h": 0.5},
                p_value=None),
        # the accuracy estimate: a materialised view copies it into performance_estimates
        _report(5, T0 + 40, "performance_estimate", "A", "*", 0.81, "drift",
                {"band_low": 0.78, "band_high": 0.84, "reference_accuracy": 0.89,
                 "labelled": 50.0, "realised_accuracy": 0.8}, p_value=None),
        # a regression's window (ok: the explanation table shows the non-ok reports only)
        _report(6, T0 + 45, "regression_error", "B", "*", 2.5, "ok",
                {"mae": 2.5, "rmse": 2.7, "bias": -2.4, "reference_mae": 0.8}),
    ]
    alerts = [
        ["fp1", "firing", "page", "churn", "feature_drift", "drift", "d",
         {"variant": "A", "segment": "region=eu"}, T0 + 10, None, "{}", 0, 0],
        ["fp1", "resolved", "page", "churn", "feature_drift", "drift", "d",
         {"variant": "A", "segment": "region=eu"}, T0 + 10, T0 + 200, "{}", 0, 1],
        ["fp2", "firing", "page", "churn", "slo_burn_rate", "burn", "d",
         {"variant": "A", "segment": "*"}, T0 + 20, None, "{}", 0, 2],
    ]
    retrain = [["rt1", "churn", "drift", '{"feature": "income"}', T0 - 600, T0, T0 + 80, 0, 0]]
    experiments = [[f"e{i}", T0 + 50 + 40 * i, "churn-v2", "churn", "A", "B", action,
                    "label_error", "mixture-sprt-two-sided", -0.04, -0.07 + 0.02 * i,
                    -0.01 + 0.02 * (1 - i), 0.2 - 0.19 * i, 900 + i, 880 + i, 0.8, "r", 0, i]
                   for i, action in enumerate(("continue", "promote"))]
    dead = [["inferwatch.predictions", 1, 5, "decode", "bad json", 10, 0, 0],
            ["inferwatch.predictions", 1, 6, "decode", "bad json", 20, 0, 1],
            ["inferwatch.requests", 0, 7, "validation", "missing id", 30, 0, 2]]
    store = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('ch')}")
    try:
        store.apply_schema()
        (decisions,) = [x for x in _MAPPINGS["model-updates"].extra
                             if x.table == "experiment_decisions"]
        for table, columns, table_rows in (
                ("predictions", _MAPPINGS["predictions"].columns, rows),
                ("detector_reports", _MAPPINGS["detector-reports"].columns, reports),
                ("alerts", _MAPPINGS["alerts"].columns, alerts),
                ("retrain_events", _MAPPINGS["retrain"].columns, retrain),
                ("experiment_decisions", decisions.columns, experiments)):
            store.insert(table, (*columns, *_SOURCE), table_rows, token=table)
        store.insert("dead_letters", (*_DEAD_COLUMNS, *_SOURCE), dead, token="dead")
        _insert_retraining(store)
        yield store, {"times": times, "totals": totals}
    finally:
        store.close()


def _predictions(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[list[Any]]]:
    """churn: 1200 predictions in minute 0 (A, B alternating), 600 in minute 1; fraud: 60;
    and one churn prediction out of the dashboard's range."""
    times = np.concatenate([T0 + rng.uniform(0, 60, 1200), T0 + 60 + rng.uniform(0, 60, 600)])
    totals = rng.lognormal(np.log(0.05), 0.6, times.size)
    rows = [_prediction(i, float(t), "churn", "AB"[i % 2], float(x), ("eu", "us")[i % 3 == 0])
            for i, (t, x) in enumerate(zip(times, totals, strict=True))]
    n = len(rows)
    rows += [_prediction(n + i, T0 + i, "fraud", "A", 0.01, "eu") for i in range(60)]
    rows.append(_prediction(n + 60, FROM - 100.0, "churn", "A", 9.0, "eu"))  # out of range
    return times, totals, rows


def _insert_retraining(store: ClickHouseStore) -> None:
    """A candidate's two validation checks, and the retrain policy's two decisions."""
    side = _MAPPINGS["model-updates"].side
    assert side is not None
    store.insert("validations", (*side.columns, *_SOURCE), [
        [T0 + 85, "churn", "v2", "v1", "rt1", check, value, threshold, passed, 0, i]
        for i, (check, value, threshold, passed) in enumerate(
            (("accuracy", 0.078, 0.01, True), ("latency", 0.03, 0.5, True)))],
        token="validations")
    store.insert("retrain_decisions", (*_MAPPINGS["retrain-decisions"].columns, *_SOURCE), [
        [T0 + 80, "churn", "requested", "input drift sustained", T0 - 600, "rt1", 0, 0],
        [T0 + 120, "churn", "suppressed", "cooldown", T0 + 100, "", 0, 1]],
        token="retrain_decisions")


def _run(store: ClickHouseStore, sql: str, **variables: list[str]) -> list[tuple[Any, ...]]:
    return store.query(expand(sql, {**VARS, **variables}))


def test_every_panel_and_variable_query_runs_and_returns_rows(data: tuple) -> None:
    store, _ = data
    dash = _dashboard()
    for panel in _panels(dash):
        for target in panel["targets"]:
            assert _run(store, target["rawSql"]), panel["title"]
    for var in dash["templating"]["list"]:
        query = var["query"] if isinstance(var["query"], str) else var["query"]["rawSql"]
        assert _run(store, query), var["name"]


def test_variables_list_models_variants_and_segments(data: tuple) -> None:
    store, _ = data
    sql = {v["name"]: v["query"] for v in _dashboard()["templating"]["list"]}
    assert [r[0] for r in _run(store, sql["model"])] == ["churn", "fraud"]
    assert [r[0] for r in _run(store, sql["variant"], model=["fraud"])] == ["A"]
    assert [r[0] for r in _run(store, sql["segment"], model=["churn"])] == [
        "*", "region=eu", "region=us"]


def test_predictions_per_second_is_count_over_the_interval(data: tuple) -> None:
    store, _ = data
    rows = _run(store, _panel("Predictions per second")["targets"][0]["rawSql"])
    got = {(int(t.timestamp()), series): rate for t, series, rate in rows}
    # churn alternates A/B: 600 + 600 in minute 0, 300 + 300 in minute 1; fraud 60 in minute 0
    m0, m1 = int(T0), int(T0) + 60
    assert got == {(m0, "churn/A"): 600 / 60, (m0, "churn/B"): 600 / 60,
                   (m1, "churn/A"): 300 / 60, (m1, "churn/B"): 300 / 60,
                   (m0, "fraud/A"): 60 / 60}
    # the variant variable filters; the out-of-range prediction never counts
    only_b = _run(store, _panel("Predictions per second")["targets"][0]["rawSql"],
                  model=["churn"], variant=["B"])
    assert sum(r[2] for r in only_b) == pytest.approx(900 / 60)


def test_cost_per_thousand_predictions_is_the_mean_share_times_1000(data: tuple) -> None:
    store, raw = data
    rows = _run(store, _panel("Cost: CPU seconds per 1,000")["targets"][0]["rawSql"],
                model=["churn"])
    got = {int(t.timestamp()): (version, cpu, gpu, energy)
           for t, version, cpu, gpu, energy in rows}
    minute = ((raw["times"] - T0) // 60).astype(int)
    for m in (0, 1):
        version, cpu, gpu, energy = got[int(T0) + 60 * m]
        want = 1000 * float(np.mean(raw["totals"][minute == m] / 100))
        assert version == "churn v1" and cpu == pytest.approx(want, rel=1e-9)
        assert gpu is None and energy is None  # not reported: no series, never a zero


def test_latency_quantiles_match_numpy_within_ddsketch_accuracy(data: tuple) -> None:
    store, raw = data
    sql = _panel("Latency p50")["targets"][0]["rawSql"]
    rows = {(int(t.timestamp()), model): qs for t, model, *qs in _run(store, sql)}
    assert set(rows) == {(int(T0), "churn"), (int(T0) + 60, "churn"), (int(T0), "fraud")}
    in_minute0 = raw["times"] < T0 + 60
    bound = 3 * ACCURACY  # quantileDD(a) answers a bucket edge, within 3a
    for minute, mask in ((int(T0), in_minute0), (int(T0) + 60, ~in_minute0)):
        for level, got in zip((0.5, 0.9, 0.99), rows[minute, "churn"], strict=True):
            exact = float(np.quantile(raw["totals"][mask], level))
            assert abs(got - exact) <= bound * exact, (minute, level, got, exact)
    # a segment narrows to its own rows: region=us is every third prediction
    us = _run(store, sql, model=["churn"], segment=["region=us"])
    us_totals = raw["totals"][in_minute0][::3]
    exact = float(np.quantile(us_totals, 0.5))
    assert abs(us[0][2] - exact) <= bound * exact


def test_explanation_table_shows_the_latest_non_ok_report_with_its_evidence(data: tuple
                                                                            ) -> None:
    store, _ = data
    rows = _run(store, _panel("Drift and breaches")["targets"][0]["rawSql"])
    by_detector = {r[1]: r for r in rows}
    assert len(rows) == 3 and set(by_detector) == {"feature_drift", "slo_burn_rate",
                                                   "performance_estimate"}
    (_, _, model, variant, segment, decision, statistic, threshold, p_value, feature,
     evidence_segment, evidence) = by_detector["feature_drift"]
    assert (model, variant, segment, decision) == ("churn", "A", "region=eu", "drift")
    assert (statistic, threshold, p_value) == (0.42, 0.1, 0.001)
    assert (feature, evidence_segment) == ("income", "region=eu")  # the later of two
    assert json.loads(evidence)["psi[region=eu/income]"] == 0.42


def test_psi_series_and_top_feature_table(data: tuple) -> None:
    store, _ = data
    psi = _run(store, _panel("PSI of the top feature")["targets"][0]["rawSql"])
    assert [(int(t.timestamp()), s, v) for t, s, v in psi] == [
        (int(T0), "churn/A feature_drift", 0.31),
        (int(T0) + 60, "churn/A feature_drift", 0.42)]  # max(0.42, 0.02) in minute 1
    top = _run(store, _panel("Top feature")["targets"][0]["rawSql"])
    assert [r[4] for r in top] == ["tenure", "income", "tenure"]


def test_burn_rates_and_budget_come_from_the_evidence(data: tuple) -> None:
    store, _ = data
    burn = _run(store, _panel("SLO burn rates")["targets"][0]["rawSql"])
    assert [(s, b1, b6) for _, s, b1, b6 in burn] == [
        ("churn/A slo_burn_rate", 16.0, 7.5), ("churn/B slo_error_burn_rate", 1.0, 0.5)]
    budget = _run(store, _panel("Error budget remaining")["targets"][0]["rawSql"])
    assert [(s, b) for _, s, b in budget] == [
        ("churn/A slo_burn_rate", 0.75), ("churn/B slo_error_burn_rate", 0.99)]


def test_alerts_retrain_and_dead_letters(data: tuple) -> None:
    store, _ = data
    alerts = _run(store, _panel("Alerts")["targets"][0]["rawSql"])
    state = {r[0]: (r[1], r[7] is not None) for r in alerts}
    assert state == {"fp1": ("resolved", True), "fp2": ("firing", False)}
    assert alerts[0][0] == "fp1"  # most recent change first: fp1 resolved at T0 + 200
    (retrain,) = _run(store, _panel("Retrain requests")["targets"][0]["rawSql"])
    assert retrain[1:4] == ("rt1", "churn", "drift")
    dead = _run(store, _panel("Dead letters")["targets"][0]["rawSql"])
    assert [r[:4] for r in dead] == [("decode", "inferwatch.predictions", 2, 30),
                                     ("validation", "inferwatch.requests", 1, 30)]


def test_retraining_panels_show_the_estimate_validations_and_decisions(data: tuple) -> None:
    store, _ = data
    (row,) = _run(store, _panel("Accuracy estimated")["targets"][0]["rawSql"])
    assert row[1:] == ("churn/A", 0.81, 0.78, 0.84, 0.89, 0.8)
    rows = _run(store, _panel("Validations of retrained")["targets"][0]["rawSql"])
    assert [r[1:] for r in rows] == [("churn", "v2", "v1", "accuracy", 0.078, 0.01, True),
                                     ("churn", "v2", "v1", "latency", 0.03, 0.5, True)]
    rows = _run(store, _panel("Retrain decisions")["targets"][0]["rawSql"])
    assert [r[2:] for r in rows] == [("suppressed", "cooldown", ""),
                                     ("requested", "input drift sustained", "rt1")]


def test_a_regressions_errors_are_shown_against_its_reference(data: tuple) -> None:
    store, _ = data
    (row,) = _run(store, _panel("Regression errors")["targets"][0]["rawSql"])
    assert row[1:] == ("churn/B", 2.5, 2.7, -2.4, 0.8)


def test_experiments_show_each_experiments_latest_look(data: tuple) -> None:
    store, _ = data
    rows = _run(store, _panel("Experiments")["targets"][0]["rawSql"])
    assert [r[1:7] + r[11:13] for r in rows] == [
        ("churn-v2", "churn", "A", "B", "promote", "label_error", 901, 881)]


# ---- provisioning against a recording fake of Grafana's API ----------------------------


class FakeGrafana(ThreadingHTTPServer):
    """Records every request and answers like Grafana's datasource and dashboard API."""

    def __init__(self, status: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _GrafanaHandler)
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.status = status  # answer every request with this status, when set

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _GrafanaHandler(BaseHTTPRequestHandler):
    server: FakeGrafana

    def _serve(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(size)) if size else None
        fake = self.server
        fake.calls.append((self.command, self.path, dict(self.headers), body))
        status, answer = self._route(fake, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, fake: FakeGrafana, body: Any) -> tuple[int, Any]:
        if fake.status is not None:
            return fake.status, {"message": "no"}
        uid = self.path.rsplit("/", 1)[-1]
        if self.command == "GET" and self.path.startswith("/api/datasources/uid/"):
            found = fake.datasources.get(uid)
            return (200, found) if found else (404, {"message": "Data source not found"})
        if self.command == "POST" and self.path == "/api/datasources":
            fake.datasources[body["uid"]] = body
            return 200, {"id": 1, "message": "Datasource added", "datasource": body}
        if self.command == "PUT" and self.path.startswith("/api/datasources/uid/"):
            fake.datasources[uid] = body
            return 200, {"id": 1, "message": "Datasource updated", "datasource": body}
        if self.command == "POST" and self.path == "/api/dashboards/db":
            dash = body["dashboard"]
            if dash["uid"] in fake.dashboards and not body.get("overwrite"):
                return 412, {"status": "name-exists", "message": "exists"}
            version = fake.dashboards.get(dash["uid"], {}).get("version", 0) + 1
            fake.dashboards[dash["uid"]] = {**dash, "version": version}
            return 200, {"id": 1, "uid": dash["uid"], "status": "success", "version": version,
                         "url": f"/d/{dash['uid']}/inferwatch"}
        return 404, {"message": "Not found"}

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


TOKEN = SecretStr("glsa_s3cret-token-value")
PASSWORD = SecretStr("ch-p4ssword")


def test_provision_creates_then_updates_and_never_logs_the_token(
        grafana: FakeGrafana, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    source = ClickHouseSource(host="clickhouse.internal", port=8123, password=PASSWORD)
    first = provision(grafana.url, TOKEN, source=source)
    second = provision(grafana.url, TOKEN, source=source)

    assert [(m, p) for m, p, _, _ in grafana.calls] == [
        ("GET", f"/api/datasources/uid/{DATASOURCE_UID}"), ("POST", "/api/datasources"),
        ("POST", "/api/dashboards/db"),
        ("GET", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}"), ("POST", "/api/dashboards/db")]
    assert first[0] == f"datasource {DATASOURCE_UID}: created"
    assert second[0] == f"datasource {DATASOURCE_UID}: updated"
    assert "version 2" in second[1] and "/d/inferwatch/" in second[1]
    for _, _, headers, _ in grafana.calls:
        assert headers["Authorization"] == f"Bearer {TOKEN.get_secret_value()}"

    ds = grafana.datasources[DATASOURCE_UID]
    assert ds["type"] == "grafana-clickhouse-datasource"
    assert ds["jsonData"]["host"] == "clickhouse.internal" and ds["jsonData"]["port"] == 8123
    assert ds["secureJsonData"] == {"password": PASSWORD.get_secret_value()}
    posted = grafana.calls[2][3]
    assert posted["overwrite"] is True
    assert posted["dashboard"] == {**_dashboard(), "id": None}

    assert caplog.records, "provisioning says what it did"
    for secret in (TOKEN, PASSWORD):
        assert secret.get_secret_value() not in caplog.text


def test_provision_without_a_password_keeps_the_stored_one(grafana: FakeGrafana) -> None:
    provision(grafana.url, TOKEN)
    assert "secureJsonData" not in grafana.datasources[DATASOURCE_UID]


def test_a_refused_token_is_a_config_error_that_does_not_leak_it(
        grafana: FakeGrafana, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    grafana.status = 401
    url = grafana.url.replace("http://", "http://admin:urlpass@")
    with pytest.raises(ConfigError, match="refused the token") as info:
        provision(url, TOKEN)
    assert TOKEN.get_secret_value() not in str(info.value)
    assert "urlpass" not in str(info.value) and "urlpass" not in caplog.text
    assert TOKEN.get_secret_value() not in caplog.text


def test_grafana_down_or_failing_is_a_retriable_sink_error(grafana: FakeGrafana) -> None:
    grafana.status = 503
    with pytest.raises(SinkError) as info:
        provision(grafana.url, TOKEN)
    assert info.value.retriable
    url = grafana.url
    grafana.shutdown()
    grafana.server_close()
    with pytest.raises(SinkError) as down:
        provision(url, TOKEN)
    assert down.value.retriable and TOKEN.get_secret_value() not in str(down.value)
