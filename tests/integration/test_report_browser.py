"""The HTML report in a real browser: Debian's headless Chromium, driven by selenium.

The data is a seeded incident stored through the project's own code (``report_scenario``)
in a chDB path; the report is read back by ``inferwatch report``'s code. Screenshots go
to ``var/test-artifacts/`` (one at desktop width, one at phone width in dark mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from streams.clickhouse_store import ClickHouseStore
from streams.html_report import collect, render
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
        drawn = browser.execute_script(
            "return Array.from(arguments[0].querySelectorAll('.mark')).filter(m => {"
            "const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length", chart)
        assert drawn > 0, f"chart {title!r} drew no marks"
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
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
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
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth") is True
