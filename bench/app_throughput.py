"""Steps per second inside the running app, with its charts redrawing, vs a plain PyTorch loop.

    python bench/app_throughput.py [--seconds 20]

How: start `streamlit run app.py`, open the Train page in headless Chromium with the benchmark config in the URL
(digits, MLP [256, 256] relu, batch 64), press Train, and read the step counter off the page at the start and
the end of a wall-clock window while the page keeps redrawing all six charts. The plain loop
(bench/train_throughput.py) runs in this process just before and just after, while the app is idle, and the
mean of the two is the baseline. Chromium, the server and the loop share this machine's cores, as a user's would.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.train_throughput import CONFIG, plain_loop  # noqa: E402

QUERY = "dataset=digits&hidden=256,256&activation=relu&batch_size=64&steps=10000000"
PORT = 8765


def _step(page) -> int:
    text = page.get_by_test_id("stProgress").inner_text()
    return int(re.search(r"Step ([\d,]+) of", text).group(1).replace(",", ""))


def in_app_rate(seconds: float, chromium: str) -> float:
    """Wall-clock steps per second while the Train page redraws."""
    from playwright.sync_api import expect, sync_playwright

    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(PORT),
                               "--server.headless", "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"http://127.0.0.1:{PORT}/train?{QUERY}", timeout=60_000)
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
            page.get_by_role("button", name="Train").click()
            expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(6, timeout=60_000)
            time.sleep(3)  # warm-up
            s0, t0 = _step(page), time.perf_counter()
            time.sleep(seconds)
            s1, t1 = _step(page), time.perf_counter()
            page.get_by_role("button", name="Pause").click()
            browser.close()
        return (s1 - s0) / (t1 - t0)
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    plain_loop(CONFIG, 200)  # warm-up
    before = plain_loop(CONFIG, 3000)
    app = in_app_rate(args.seconds, args.chromium)
    after = plain_loop(CONFIG, 3000)
    baseline = (before + after) / 2
    print(f"plain PyTorch loop : {baseline:8.1f} steps/s (before {before:.0f}, after {after:.0f})")
    print(f"inside the app     : {app:8.1f} steps/s over {args.seconds:.0f} s, Train page redrawing every 0.5 s")
    print(f"ratio              : {app / baseline:.3f}  (target >= 0.70)")


if __name__ == "__main__":
    main()
