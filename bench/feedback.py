"""How fast the app answers a click, in a real browser: medians over fresh sessions.

    python bench/feedback.py [--tries 5] [--chromium /usr/bin/chromium]

Starts `streamlit run app.py` and, for each try, opens the Train page in a new tab (a new session) and times:
  first response   Train click → the app shows it is working (the script-running state), the ≤ 0.2 s target
  first chart      Train click → the first chart on the page (issue #12: ≤ 1.5 s median on a quiet machine)
  reset            Reset click while training → the progress line reads step 0 (≤ 0.5 s)
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


def one_try(browser, url: str) -> dict[str, float]:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/train?steps=200000", timeout=60_000)
    page.wait_for_selector(READY, timeout=60_000)
    out = {}
    start = time.perf_counter()
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="running"]', timeout=30_000)
    out["first response"] = time.perf_counter() - start
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible(timeout=60_000)
    out["first chart"] = time.perf_counter() - start
    time.sleep(2)
    start = time.perf_counter()
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("Step 0 of", timeout=60_000)
    out["reset"] = time.perf_counter() - start
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
            print(f"{name:15s} median {statistics.median(values):.2f} s  (min {min(values):.2f}, "
                  f"max {max(values):.2f})")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
