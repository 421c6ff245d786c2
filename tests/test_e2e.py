"""Real-browser tests: `streamlit run app.py` (and the Cloud entrypoint), headless Chromium via Playwright.

Chromium comes from Debian (`apt-get install chromium`). Without it the test skips locally, but fails under CI
(CI=true), so it can never silently skip there.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"Chromium not found at {CHROMIUM}; CI must install it (apt-get install -y chromium)",
                    pytrace=False)
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@contextlib.contextmanager
def opened(url: str, width: int = 1400, height: int = 1600, wait: bool = True):
    """A headless Chromium page at url (waited for until the script is idle), closed afterwards."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url, timeout=60_000)
        if wait:
            page.wait_for_selector(READY, timeout=60_000)
        yield page
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    yield from _serve("app.py")


@pytest.fixture(scope="module")
def cloud_server():
    """Streamlit Community Cloud's entrypoint (cloud/streamlit_app.py), run from the repository root as Cloud does."""
    yield from _serve("cloud/streamlit_app.py")


def _serve(script: str):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy within 60 s:\n" + (proc.stdout.read() if proc.stdout else ""))
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _step(page) -> int:
    text = page.get_by_test_id("stProgress").inner_text()
    return int(re.search(r"Step ([\d,]+) of", text).group(1).replace(",", ""))


def test_press_train_and_watch_the_charts_move(server):
    with opened(f"{server}/train?steps=200000&lr=0.1", 1400, 1600) as page:
        expect(page.get_by_role("heading", name="Train")).to_be_visible()
        expect(page.get_by_test_id("stSidebar").get_by_text("Learning rate ε")).to_be_visible()

        page.get_by_role("button", name="Train").click()
        expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(6, timeout=30_000)
        expect(page.get_by_test_id("stProgress")).to_contain_text("running", timeout=30_000)

        chart = page.get_by_test_id("stVegaLiteChart").first
        first_step, first_image = _step(page), chart.screenshot()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_step(page) <= first_step + 50 or chart.screenshot() == first_image):
            time.sleep(0.5)
        assert _step(page) > first_step + 50, "the step counter did not advance"
        assert chart.screenshot() != first_image, "the gradient-norm chart did not change while training"

        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_test_id("stProgress")).to_contain_text("paused", timeout=15_000)
        expect(page.get_by_role("button", name="PNG").first).to_be_visible(timeout=15_000)
        assert page.get_by_test_id("stException").count() == 0
        assert "lr=0.1" in page.url  # the sidebar state lives in the URL


def test_a_gallery_preset_trains_its_runs_and_draws_the_figure(server):
    """Home → the Fig. 5 (left) card: two seeds train in the background, then the solution → solution curve."""
    with opened(server, 1400, 1600) as page:
        page.get_by_role("link", name="Open Fig. 5 (left)").click()
        expect(page.get_by_role("heading", name="Linear interpolation")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Fig. 5 (left) · Solution → solution")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(1, timeout=120_000)
        expect(page.get_by_test_id("stDataFrame").last).to_contain_text("final →", timeout=30_000)
        assert page.get_by_test_id("stException").count() == 0
        assert "ip_mode=final" in page.url and "ip_min=-0.5" in page.url  # the view is in the address bar
        assert "preset=fig5-two-solutions" in page.url  # and the card itself: the address is the card's link
        expect(page.get_by_text("holds ·").first).to_be_visible(timeout=30_000)  # its claims, checked


def test_the_cloud_entrypoint_runs_the_fig_8_1_card_and_its_claims_hold(cloud_server):
    """Cloud's entrypoint serves the same app: Home → the DL Fig. 8.1 card trains on the Train page, and the caption's
    claims are checked on that run and hold."""
    with opened(cloud_server, 1280, 1400) as page:
        page.get_by_role("link", name="Open DL Fig. 8.1").click()
        expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("The caption's claims, checked on this run")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stProgress")).to_contain_text("done", timeout=180_000)
        claims = page.get_by_text(re.compile(r"^(holds|fails) ·"))
        expect(claims.first).to_be_visible(timeout=30_000)
        text = page.inner_text("body")
        assert text.count("holds ·") == 3 and "fails ·" not in text, text
        assert page.get_by_test_id("stException").count() == 0


CLIPPED = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stMetricLabel"], [data-testid="stMetricValue"]')) {
    const inner = el.querySelector('p, div') || el;
    if ([el, inner].some(e => e.scrollWidth > e.clientWidth + 1)) out.push('metric: ' + el.innerText);
  }
  for (const t of document.querySelectorAll('svg text')) if (t.textContent.endsWith('…')) out.push(t.textContent);
  return out;
}"""


def test_nothing_is_clipped_at_1280_by_720(server):
    """A lecturer's projector: on every page, in one session with a trained run, no metric label or value and no
    chart title or label is cut short with an ellipsis."""
    with opened(f"{server}/train?steps=400&curvature_monitor=true", 1280, 720) as page:
        page.get_by_role("button", name="Train").first.click()
        expect(page.get_by_test_id("stProgress")).to_contain_text("done", timeout=90_000)
        time.sleep(2)
        clipped = {"Train": page.evaluate(CLIPPED)}
        for name in ("Interpolation", "Straying", "Network landscape", "Deep linear", "Curvature", "Surfaces"):
            page.get_by_test_id("stSidebar").get_by_role("link", name=name).click()
            expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible(timeout=60_000)
            page.wait_for_selector(READY, timeout=60_000)
            time.sleep(2)
            clipped[name] = page.evaluate(CLIPPED)
        assert page.get_by_test_id("stException").count() == 0
        assert not any(clipped.values()), clipped


def test_a_fresh_servers_first_page_never_lists_the_pages_folder():
    """Streamlit's own menu would show the pages/ folder's file names (app, curvature, …) on a fresh server's first
    request, before app.py has run; the app draws its own links instead."""
    fresh = _serve("app.py")
    url = next(fresh)
    try:
        with opened(url, 1280, 720, wait=False) as page:
            seen = []
            for _ in range(20):  # the first seconds, as a visitor sees them
                seen.append(page.inner_text("body"))
                time.sleep(0.1)
            expect(page.get_by_test_id("stSidebar").get_by_role("link", name="Train")).to_be_visible(timeout=30_000)
            assert not any(re.search(r"^(app|deep linear|curvature)$", text, re.M) for text in seen), seen
    finally:
        next(fresh, None)


def _sidebar_status(page) -> tuple[int, str]:
    text = page.get_by_test_id("stSidebar").get_by_text("This tab's run:").inner_text()
    found = re.search(r"step ([\d,]+) of [\d,]+ · (\w+)", text)
    return int(found.group(1).replace(",", "")), found.group(2)


def test_train_reset_train_at_any_speed_ends_training_with_no_traceback(server):
    """Train → Reset → Train, 20 times, 0.1–0.3 s apart, on ten fresh Train pages: each page ends in what its last
    click asked for (a run training), with no traceback and no failed run; paused, the sidebar and the main area show
    the same step and status."""
    import random

    gaps = random.Random(0)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for fresh in range(10):
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{server}/train?steps=200000", timeout=60_000)
            page.wait_for_selector(READY, timeout=60_000)
            buttons = {name: page.get_by_role("button", name=name, exact=True) for name in ("Train", "Reset", "Pause")}
            for _ in range(2):
                for name in ("Train", "Reset", "Train"):
                    buttons[name].click(timeout=30_000)
                    time.sleep(gaps.uniform(0.1, 0.3))
            expect(page.get_by_test_id("stProgress")).to_contain_text("running", timeout=60_000)
            time.sleep(1)
            assert page.get_by_test_id("stException").count() == 0, f"page {fresh}"
            assert "failed" not in page.get_by_test_id("stProgress").inner_text(), f"page {fresh}"
            expect(page.get_by_test_id("stProgress")).to_contain_text("running")
            buttons["Pause"].click()
            expect(page.get_by_test_id("stProgress")).to_contain_text("paused", timeout=30_000)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _sidebar_status(page) != (_step(page), "paused"):
                time.sleep(0.5)
            assert _sidebar_status(page) == (_step(page), "paused"), f"page {fresh}"
            page.close()
        browser.close()
