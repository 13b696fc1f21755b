"""The playground in a real headless browser: Debian's Chromium driven by Selenium through
/usr/bin/chromedriver (never a downloaded driver), against `lambdalite playground mnist` as a
user starts it. The page's calls go through the real API Gateway front to the real function."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in lambdalite[dev]")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "lambdalite" / "examples" / "mnist" / "digits"
CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
# Where the screenshot goes: LAMBDALITE_SCREENSHOT=docs/img/playground.png refreshes the README's.
SCREENSHOT_ENV = "LAMBDALITE_SCREENSHOT"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1180,1120")
pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not (CHROMIUM.exists() and DRIVER.exists()),
                       reason="no Chromium here: Debian's chromium and chromium-driver are not "
                              "installed (apt-get install -y chromium chromium-driver; .ci/run "
                              "installs them where apt-get works)"),
]


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Both paths given: Selenium Manager has nothing to find; offline, should it run anyway.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def text(driver: Any, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def wait_history(driver: Any, rows: int) -> None:
    WebDriverWait(driver, 90).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) >= rows)


def test_the_playground_answers_a_digit_a_drawing_and_bad_files(
        browser: Any, server: Any, predict_cache: Path, tmp_path: Path) -> None:
    running = server("playground", "mnist", "--cache-dir", str(predict_cache), "--port", "0",
                     "--playground-port", "0", "--url-port", "0")
    page = running.wait_for(r"playground: (http://127\.0\.0\.1:\d+)/").group(1)
    browser.get(page + "/")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#target option"))
    assert "InferenceFunction - POST /classify_digit (REST API)" in text(browser, "target")
    assert "model mnist" in text(browser, "target-info")
    assert text(browser, "limits").startswith("limits:")

    # A file that is not the image it claims to be: the function's own 415, readable.
    fake = tmp_path / "not-a-digit.png"
    fake.write_bytes(b"these bytes are no PNG at all")
    browser.find_element(By.ID, "file").send_keys(str(fake))
    wait_history(browser, 1)
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed() and text(browser, "error").startswith("NotAnImage: ")
    assert text(browser, "status") == "HTTP 415" and text(browser, "fig-start") == "cold"

    # A JSON file that does not parse never leaves the page.
    broken = tmp_path / "inputs.json"
    broken.write_text("{not json")
    browser.find_element(By.ID, "file").send_keys(str(broken))
    WebDriverWait(browser, 10).until(lambda d: "is not valid JSON" in text(d, "error"))

    # Draw a stroke on the canvas and send it: a warm call with an answer.
    canvas = browser.find_element(By.ID, "canvas")
    ActionChains(browser).move_to_element_with_offset(canvas, 0, -70).click_and_hold() \
        .move_by_offset(2, 50).move_by_offset(2, 50).move_by_offset(0, 40).release().perform()
    browser.find_element(By.ID, "send-drawing").click()
    wait_history(browser, 2)
    assert text(browser, "answer-label") == "1"             # a vertical stroke
    assert text(browser, "fig-start") == "warm" and text(browser, "fig-init") == "-"

    # The MNIST digit itself: label 7, top-k bars, and the REPORT figures.
    browser.find_element(By.ID, "file").send_keys(str(DIGITS / "7_0.png"))
    wait_history(browser, 3)
    assert text(browser, "answer-label") == "7" and text(browser, "status") == "HTTP 200"
    assert not browser.find_element(By.ID, "error").is_displayed()
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
    assert len(bars) == 3 and bars[0].text.startswith("7")
    assert re.fullmatch(r"[\d.]+ ms", text(browser, "fig-duration"))
    assert re.fullmatch(r"(\d+ MB|n/a) of 1024 MB", text(browser, "fig-memory"))
    assert text(browser, "report-line").startswith("REPORT RequestId: ")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")]
    assert rows[0].startswith("3 7_0.png InferenceFunction 7 warm")
    assert rows[-1].startswith("1 not-a-digit.png InferenceFunction error 415 cold")

    shot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "playground.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
