"""The shipped rule tests: they pass on this tree, and fail when a default threshold changes
so that the demo's drift page is silenced (a planted change in a copy of the tree)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streams.backtest import rule_tests
from streams.backtest.episodes import Episode

REPO = Path(__file__).resolve().parents[4]
RULES = REPO / "deploy" / "rules"
DEFAULT_PSI = 'drift_min_psi: float = Field(0.1, ge=0'


def _check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "backtest", "--check", str(RULES), *args],
        env={**env, "PYTHONPATH": str(root)}, cwd=root, capture_output=True, text=True,
        timeout=300)


def test_every_shipped_scenario_gives_its_incidents() -> None:
    results = rule_tests.check(RULES)
    assert {r.name for r in results} == {"churn-drift-eu", "churn-stable", "ranker-latency"}
    for r in results:
        assert r.difference.same, (r.name, r.difference)
        assert r.predictions >= 4000
    drift = next(r for r in results if r.name == "churn-drift-eu")
    pages = [b for b, _ in drift.difference.matched if b.detector == "feature_drift"]
    assert [(e.severity, e.target) for e in pages] == [("page", "feature=f2 segment=region=eu")]


def test_a_planted_default_that_silences_the_drift_page_fails_the_check(
        tmp_path: Path) -> None:
    for package in ("streams", "detectors", "inference", "retrain"):
        shutil.copytree(REPO / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    monitor = tmp_path / "streams" / "settings" / "monitor.py"
    text = monitor.read_text()
    assert DEFAULT_PSI in text  # the default this test plants a change in
    monitor.write_text(text.replace(DEFAULT_PSI, DEFAULT_PSI.replace("0.1", "5.0")))

    planted = _check(tmp_path)
    assert planted.returncode == 1, planted.stdout + planted.stderr
    assert "FAILED  churn-drift-eu" in planted.stdout
    silenced = planted.stdout.split("only in expected (silenced in replayed):")[1]
    assert "churn/A feature_drift [feature=f2 segment=region=eu]" in silenced
    assert "ok  churn-stable" in planted.stdout and "ok  ranker-latency" in planted.stdout

    main = _check(REPO)
    assert main.returncode == 0, main.stdout + main.stderr
    assert "FAILED" not in main.stdout


def test_a_changed_setting_that_adds_a_page_fails_and_names_it() -> None:
    # the quiet scenario's feature drift at a PSI floor of 0 and a loose FDR: pages appear
    result = _check(REPO, "--set", "drift_min_psi=0", "--set", "drift_alpha=0.9")
    assert result.returncode == 1
    assert "FAILED  churn-stable" in result.stdout
    added = result.stdout.split("FAILED  churn-stable")[1].split("only in replayed (added "
                                                                 "by it):")[1]
    assert "feature_drift" in added


def test_an_expected_file_round_trips_its_episodes(tmp_path: Path) -> None:
    expected = rule_tests._json(RULES / "churn-drift-eu" / rule_tests.EXPECTED)
    episodes = [Episode(**e) for e in expected["incidents"]]
    assert episodes and all(e.fingerprint and e.fired_at > 0 for e in episodes)


def test_check_without_the_scenarios_folder_names_the_folder_to_pass(tmp_path: Path) -> None:
    """From an installed wheel there is no deploy/rules: the error says what to pass."""
    from streams.backtest.rule_tests import scenarios
    from streams.errors import ConfigError
    with pytest.raises(ConfigError, match=r"not a folder here.*deploy/rules.*--check PATH"):
        scenarios(tmp_path / "deploy" / "rules")
    with pytest.raises(ConfigError, match="no scenario folders"):
        scenarios(tmp_path)
