"""``lanco-hf demo RUN_DIR`` in a real browser: the command serves the translation app on a free port, headless
Chromium (Debian's, driven by Selenium; no browser download) loads the page, types a sentence, submits it and finds
the translation the transformers pipeline gives and the attention heat-maps; a screenshot is saved as a test
artifact (``tests/artifacts/``, or ``$LANCO_HF_TEST_ARTIFACTS``). The model is a tiny trained run, or the run folder
``$LANCO_HF_DEMO_RUN`` names (the README's screenshot is this test on the main job's run)."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from transformers import pipeline

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")
SENTENCE = "And Ruth said, Intreat me not to leave thee."
ARTIFACTS = Path(os.environ.get("LANCO_HF_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) and CHROMEDRIVER), reason="apt-get install chromium-driver"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_served(url: str, server: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"lanco-hf demo exited with {server.returncode}: {server.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"lanco-hf demo did not serve {url} within {timeout} s")


@pytest.fixture
def demo_server(request, tmp_path):
    given = os.environ.get("LANCO_HF_DEMO_RUN")
    run_dir = Path(given) if given else request.getfixturevalue("tiny_translation_run")[0]
    port = free_port()
    environment = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "lanco_hf.cli", "demo", str(run_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_served(url, server)
        yield url, run_dir
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_demo_page_translates_a_typed_sentence_and_draws_the_attention(demo_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    url, run_dir = demo_server
    expected = pipeline("translation", model=str(run_dir), trust_remote_code=True)(SENTENCE)[0]["translation_text"]
    assert expected

    browser.get(url)
    wait = WebDriverWait(browser, 120)
    source = wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "#source textarea")))
    source.send_keys(SENTENCE)
    browser.find_element(By.CSS_SELECTOR, "#submit").click()
    output = browser.find_element(By.CSS_SELECTOR, "#translation textarea")
    wait.until(lambda _: output.get_attribute("value") == expected)
    heat_maps = wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#attention img"))
    wait.until(lambda _: heat_maps[0].get_property("naturalWidth") > 0)  # the figure is drawn, not a broken image

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "demo_translation.png"
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", source)
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
