"""The dashboard JSON against Grafana's own types (grafana-foundation-sdk, Grafana 11.6).

The SDK's models are generated from Grafana's schemas: the dashboard, each panel
plugin's options and field config. Decoding the JSON with them and encoding it back
keeps every field Grafana knows; a field it does not know (a typo, a field from another
Grafana line) is dropped, so comparing the two finds it. The ClickHouse plugin has no
model in the SDK; its targets are checked against the plugin's documented fields.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from grafana_foundation_sdk.cog import runtime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from streams.report.grafana import DASHBOARD

#: the grafana-clickhouse-datasource target: {"editorType": "sql", "rawSql", "format",
#: "queryType"} beside the fields every target has
CLICKHOUSE_TARGET = {"refId", "datasource", "hide", "editorType", "rawSql", "format",
                     "queryType", "meta"}

register_default_plugins()


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        if not value:
            yield path, "[]"
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    elif value is not None:  # the SDK leaves unset (null) fields out
        yield path, value


def unknown_fields(dashboard: dict[str, Any]) -> list[str]:
    """Paths of the values that Grafana's types drop or change on a round trip."""
    back = json.loads(json.dumps(Dashboard.from_json(copy.deepcopy(dashboard)),
                                 cls=JSONEncoder))
    kept = dict(_leaves(back))
    return [path for path, value in _leaves(dashboard) if kept.get(path, KeyError) != value]


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def test_every_field_of_the_dashboard_is_one_grafana_knows() -> None:
    dash = _dashboard()
    assert unknown_fields(dash) == []
    assert len(list(_leaves(dash))) > 250  # the check saw the whole dashboard


def test_every_panel_is_a_core_panel_plugin_with_typed_options() -> None:
    for panel in _dashboard()["panels"]:
        if panel["type"] == "row":
            continue
        config = runtime.panelcfg_config(panel["type"])
        assert config is not None and config.options_from_json_hook is not None, panel["title"]


def test_clickhouse_targets_use_only_the_plugin_fields() -> None:
    for panel in _dashboard()["panels"]:
        for target in panel.get("targets", []):
            assert set(target) <= CLICKHOUSE_TARGET, (panel["title"], set(target))


@pytest.mark.parametrize(("where", "field"), [
    ("dashboard", "refreshRate"),  # Grafana's field is "refresh"
    ("panel", "gridPosition"),  # "gridPos"
    ("options", "legendz"),  # a timeseries option that does not exist
    ("fieldConfig", "unitt"),  # "unit"
    ("variable", "definition"),  # written by Grafana's UI, not in the 11.6 schema
])
def test_a_field_grafana_does_not_know_is_found(where: str, field: str) -> None:
    dash = _dashboard()
    panel = next(p for p in dash["panels"] if p["type"] == "timeseries")
    target = {"dashboard": dash, "panel": panel, "options": panel["options"],
              "fieldConfig": panel["fieldConfig"]["defaults"],
              "variable": dash["templating"]["list"][0]}[where]
    target[field] = "x"
    found = unknown_fields(dash)
    assert len(found) == 1 and found[0].endswith(f".{field}")
