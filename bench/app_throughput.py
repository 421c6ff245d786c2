"""Steps per second inside the running app, with its charts redrawing, vs a plain PyTorch loop.

    python bench/app_throughput.py [--rounds 3] [--seconds 15]

How: start `streamlit run app.py`, open the Train page in headless Chromium with the benchmark config in the URL
(digits, MLP [256, 256] relu, batch 64). Each round times the plain loop (bench/train_throughput.py) in this
process while the app is paused, then presses Train and reads the step counter off the page at the start and
the end of a wall-clock window while the page keeps redrawing all six charts, then pauses. The median of the
rounds' ratios is reported. Chromium, the server and the loop share this machine's cores, as a user's would.
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


def measure(rounds: int, seconds: float, chromium: str) -> list[tuple[float, float, float]]:
    """(plain loop, in-app steps per second, redraw interval at the end) for each round; the app's run is
    paused while the loop runs."""
    from playwright.sync_api import expect, sync_playwright

    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(PORT),
                               "--server.headless", "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    pairs = []
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
            plain_loop(CONFIG, 200)  # warm-up
            for _ in range(rounds):
                plain = plain_loop(CONFIG, 3000)  # the app is idle: paused, or not started yet
                page.get_by_role("button", name="Train").click()
                expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(6, timeout=60_000)
                expect(page.get_by_test_id("stProgress")).to_contain_text("running", timeout=30_000)
                time.sleep(3)  # warm-up: the charts fill and redraw
                s0, t0 = _step(page), time.perf_counter()
                time.sleep(seconds)
                s1, t1 = _step(page), time.perf_counter()
                pace = re.search(r"redrawing every ([\d.]+) s", page.get_by_test_id("stProgress").inner_text())
                pairs.append((plain, (s1 - s0) / (t1 - t0), float(pace.group(1)) if pace else 0.5))
                page.get_by_role("button", name="Pause").click()
                expect(page.get_by_test_id("stProgress")).to_contain_text("paused", timeout=30_000)
            browser.close()
        return pairs
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    pairs = measure(args.rounds, args.seconds, args.chromium)
    for i, (plain, app, pace) in enumerate(pairs, 1):
        print(f"round {i}: plain PyTorch loop {plain:7.1f} steps/s, inside the app {app:7.1f} steps/s, "
              f"ratio {app / plain:.3f}, page redrawing every {pace:g} s")
    ratios = sorted(app / plain for plain, app, _ in pairs)
    print(f"median ratio       : {ratios[len(ratios) // 2]:.3f}  (target >= 0.70)")


if __name__ == "__main__":
    main()
