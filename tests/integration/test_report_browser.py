"""The HTML report in a real browser: Debian's headless Chromium, driven by selenium.

The demo's report: the demo's scenario (shortened) through the real broker and worker,
then ``inferwatch report``. A seeded incident stored through the project's own code
(``report_scenario``) gives known charts and the hostile labels. Screenshots go to
``var/test-artifacts/`` (desktop width, and phone width in dark mode).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from retrain.synthetic import Drift
from streams.report.html import collect, render
from streams.settings import KafkaSettings
from streams.simulation.simulator import Scenario, simulate
from streams.storage.clickhouse_store import ClickHouseStore
from tests.integration.conftest import Worker
from tests.report_scenario import THRESHOLD_S, profiles, store_scenario

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _browser(width: int, height: int, dark: bool = False) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", f"--window-size={width},{height}", "--hide-scrollbars"):
        opts.add_argument(arg)
    if dark:
        opts.add_argument("--force-dark-mode")
        opts.add_argument("--blink-settings=preferredColorScheme=0")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = _browser(1200, 900)
    try:
        yield driver
    finally:
        driver.quit()


def _report(tmp_path: Path, **scenario: str) -> Path:
    store = ClickHouseStore(f"chdb://{tmp_path / 'ch'}")
    try:
        store_scenario(store, tmp_path / "models", **scenario)
        report = collect(store, profiles=profiles(tmp_path / "models"),
                         slo_threshold_s=THRESHOLD_S, slo_objective=0.999)
    finally:
        store.close()
    page = tmp_path / "report.html"
    page.write_text(render(report))
    return page


def _marks_drawn(driver: webdriver.Chrome, chart: Any) -> int:
    return int(driver.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.mark')).filter(m => {"
        "const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length", chart))


def _severe(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_demo_report_from_a_real_run(env: dict[str, str], worker: Worker,
                                         browser: webdriver.Chrome) -> None:
    """The demo's traffic, shortened: f2 drifts in region=eu, ranker slows, a new topic.

    Slow by design (about 40 s): the demo's three incidents need their windows of real
    traffic on a real worker; the report is then read back from chDB and rendered in
    headless Chromium.
    """
    env["INFERWATCH_MONITOR_WINDOW_SIZE"] = "500"
    env["INFERWATCH_MONITOR_LATENCY_THRESHOLD_S"] = "0.25"
    env["INFERWATCH_MONITOR_SLO_THRESHOLD_S"] = "0.25"
    worker.start()
    kafka = KafkaSettings(bootstrap=env["INFERWATCH_KAFKA_BOOTSTRAP"],
                          topic_prefix=env["INFERWATCH_KAFKA_TOPIC_PREFIX"])
    asyncio.run(simulate(kafka, Scenario(
        count=16_000, rate=800, seed=1, run_id="demo", drift_at=3000,
        drift=Drift("f2", 2.0, segment={"region": "eu"}), external_share=0.25,
        latency_from=6000, latency_to=10000, outcome_share=0.3, llm_share=0.35,
        topic_shift_at=10000)))
    time.sleep(8)  # the last windows close and the sink drains
    assert worker.stop() == 0, worker.tail()
    out = Path(env["INFERWATCH_TEST_DIR"]) / "report.html"
    done = subprocess.run([sys.executable, "-m", "streams.cli", "report", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    browser.get(out.as_uri())
    charts = {c.get_attribute("aria-label"): c
              for c in browser.find_elements(By.CSS_SELECTOR, "svg.chart")}
    for title, chart in charts.items():
        assert _marks_drawn(browser, chart) > 0, f"chart {title!r} drew no marks"
    drift = "churn/A · f2 in region=eu"
    assert {f"{drift}: histograms", f"{drift}: PSI per window", "ranker/A: latency",
            "incidents"} <= set(charts), sorted(charts)
    hist = charts[f"{drift}: histograms"]
    assert len(hist.find_elements(By.CSS_SELECTOR, "rect.bar.cur")) == 10
    psi = charts[f"{drift}: PSI per window"]
    assert psi.find_elements(By.CSS_SELECTOR, "line.threshold")
    assert psi.find_elements(By.CSS_SELECTOR, ".moment.firing")
    latency = charts["ranker/A: latency"]
    assert "SLO threshold 250 ms" in latency.text
    assert latency.find_elements(By.CSS_SELECTOR, ".moment.firing")
    assert "f2 in segment region=eu of churn/A" in browser.find_element(
        By.CSS_SELECTOR, "ul.moved").text
    assert _severe(browser) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _full_height(browser, 1200)
    assert browser.save_screenshot(str(ARTIFACTS / "report-demo.png"))
    shutil.copy(out, ARTIFACTS / "report-demo.html")


def _full_height(driver: webdriver.Chrome, width: int) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 120, 12000))


def test_demo_report_draws_every_chart_and_names_what_moved(
        tmp_path: Path, browser: webdriver.Chrome) -> None:
    page = _report(tmp_path)
    browser.get(page.as_uri())
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    titles = [c.get_attribute("aria-label") for c in charts]
    # a histogram pair and a PSI timeline per flagged feature, latency per model (+ the
    # budget where one is reported), the embedding novel share, the incident timeline
    assert titles == [
        "churn/A · f2 in region=eu: histograms", "churn/A · f2 in region=eu: PSI per window",
        "churn/A: latency", "ranker/A: latency", "ranker/A: error budget",
        "assistant/A: novel share", "incidents"]
    for chart, title in zip(charts, titles, strict=True):
        assert _marks_drawn(browser, chart) > 0, f"chart {title!r} drew no marks"
    hist = charts[0]
    assert len(hist.find_elements(By.CSS_SELECTOR, "rect.bar.ref")) == 10
    assert len(hist.find_elements(By.CSS_SELECTOR, "rect.bar.cur")) == 10
    psi = charts[1]
    assert psi.find_elements(By.CSS_SELECTOR, "line.threshold")
    assert psi.find_elements(By.CSS_SELECTOR, ".moment.firing")
    assert psi.find_elements(By.CSS_SELECTOR, ".moment.resolved")
    assert "SLO threshold 250 ms" in charts[3].text
    moved = browser.find_element(By.CSS_SELECTOR, "ul.moved").text
    assert "f2 in segment region=eu of churn/A" in moved
    assert _severe(browser) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _full_height(browser, 1200)
    assert browser.save_screenshot(str(ARTIFACTS / "report-desktop.png"))
    phone = _browser(390, 844, dark=True)
    try:
        phone.get(page.as_uri())
        assert phone.execute_script(
            "return matchMedia('(prefers-color-scheme: dark)').matches") is True
        # nothing wider than the phone: no sideways scrolling of the page itself
        assert phone.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth") is True
        assert phone.execute_script(
            "return getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
        _full_height(phone, 390)
        assert phone.save_screenshot(str(ARTIFACTS / "report-phone-dark.png"))
    finally:
        phone.quit()


def test_hostile_labels_are_shown_as_text(tmp_path: Path, browser: webdriver.Chrome) -> None:
    hostile = "<script>window.pwned=1</script>\"'&" + "x" * 300
    page = _report(tmp_path, segment_value=hostile, feature="f<b>2</b>")
    browser.get(page.as_uri())
    assert browser.execute_script("return window.pwned === undefined") is True
    assert browser.find_elements(By.TAG_NAME, "script") == []
    assert browser.find_elements(By.CSS_SELECTOR, "b b") == []  # the feature's <b> is text
    moved = browser.find_element(By.CSS_SELECTOR, "ul.moved").text
    assert f"f<b>2</b> in segment region={hostile} of churn/A" in moved
    assert f"region={hostile}" in browser.find_element(By.TAG_NAME, "body").text
    assert _severe(browser) == []
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth") is True
