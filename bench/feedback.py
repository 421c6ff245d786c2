"""How fast the app answers a click, in a real browser: medians over fresh sessions.

    python bench/feedback.py [--tries 5] [--chromium /usr/bin/chromium]

Starts `streamlit run app.py` and, for each try, opens the Train page in a new tab (a new session), lets it settle
for a second (as a person reads a page before clicking), and times:
  first response   Train click → the page shows it is working (its "Starting…" note, or the run's progress line):
                   the ≤ 0.2 s target
  first chart      Train click → the gradient-norm chart has drawn the run's data (a mark's path in its SVG)
                   (issue #12: ≤ 1.5 s median on a quiet machine)
  reset            Reset click while training → the progress line reads step 0 (≤ 0.5 s)
  reset + train    on a paused run, Reset, then Train 0.2 s later → the page shows a new run training (a step
                   count below the paused run's): both clicks applied; a lost click times out the try
  page switch      a sidebar link to Straying → its first chart
Chromium, the server and the training workers share this machine's cores: the figures include that.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT = 8775
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


DRAWN = """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')].some(c =>
    c.textContent.includes('Gradient norm') && [...c.querySelectorAll('svg .role-mark path[d]')].some(
        p => p.getAttribute('d').length > 20))"""  # the gradient-norm chart, with at least one mark drawn
WORKING = '[data-testid="stAlert"]:has-text("Starting"), [data-testid="stProgress"]'


def _step(page) -> int:
    text = page.get_by_test_id("stProgress").first.inner_text()
    return int(text.split("Step ")[1].split(" of")[0].replace(",", ""))


def one_try(browser, url: str) -> dict[str, float]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/train?steps=200000", timeout=60_000)
    page.wait_for_selector(READY, timeout=60_000)
    time.sleep(1)
    out = {}
    start = time.perf_counter()
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector(WORKING, timeout=30_000)
    out["first response"] = time.perf_counter() - start
    page.wait_for_function(DRAWN, timeout=60_000)
    out["first chart"] = time.perf_counter() - start
    time.sleep(2)
    start = time.perf_counter()
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("Step 0 of", timeout=60_000)
    out["reset"] = time.perf_counter() - start
    page.get_by_role("button", name="Train").first.click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("running", timeout=60_000)
    time.sleep(6)  # a new run needs as long to pass this step count: the window for seeing it below
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("paused", timeout=60_000)
    before = _step(page)  # a lost Reset would resume this run from here; a new run starts from 0
    start = time.perf_counter()
    page.get_by_role("button", name="Reset").click()
    time.sleep(0.2)
    page.get_by_role("button", name="Train").first.click()
    try:
        page.wait_for_function(f"""() => {{ const p = document.querySelector('[data-testid=stProgress]');
            return p !== null && p.innerText.includes('running') && p.innerText.includes('Step ')
                   && parseInt(p.innerText.split('Step ')[1].replaceAll(',', '')) < {before} }}""", timeout=30_000)
        out["reset + train"] = time.perf_counter() - start
    except PlaywrightTimeout:
        shown = page.get_by_test_id("stProgress").first.inner_text().replace("\n", " ")
        print(f"  reset + train: a click was lost? paused at step {before:,}, 30 s later the page shows: {shown}")
        out["reset + train"] = float("nan")
    start = time.perf_counter()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Straying").click()
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible(timeout=60_000)
    out["page switch"] = time.perf_counter() - start
    page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(PORT),
                               "--server.headless", "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(6)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
            tries = []
            for i in range(args.tries):
                tries.append(one_try(browser, f"http://localhost:{PORT}"))
                print(f"try {i + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in tries[-1].items()), flush=True)
            browser.close()
        for name in tries[0]:
            values = [t[name] for t in tries]
            kept = [v for v in values if v == v]
            lost = f"; {len(values) - len(kept)} of {len(values)} tries lost a click" if len(kept) < len(values) else ""
            print(f"{name:15s} median {statistics.median(kept):.2f} s  (min {min(kept):.2f}, "
                  f"max {max(kept):.2f}){lost}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
