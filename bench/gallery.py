"""Seconds from a click on a gallery card to its finished figure, in a real browser, for every preset.

    python bench/gallery.py [--chromium /usr/bin/chromium]

Starts `streamlit run app.py`, then for each preset opens Home in a new tab (a new session, so nothing is
reused), clicks the card's link and waits until the page has drawn all its charts and finished running. Issue #3
asks for under a minute each. Chromium, the server and the training workers share this machine's cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.presets import PRESETS  # noqa: E402

CHARTS = {"train": 6, "interpolation": 1, "straying": 1, "deep-linear": 2}  # charts a preset's page draws
PORT = 8774


def expected_charts(preset) -> int:
    if preset.page == "straying" and preset.view.get("st_view") == "run":
        return 2  # the straying plot and rho over time
    return CHARTS[preset.page] + len(preset.view.get("ip_windows", []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(PORT)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    try:
        time.sleep(6)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
            for preset in PRESETS.values():
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                page.goto(f"http://localhost:{PORT}/", timeout=60_000)
                page.wait_for_selector(ready, timeout=60_000)
                start = time.perf_counter()
                page.get_by_role("link", name=f"Open {preset.figure}", exact=True).click()
                expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(expected_charts(preset), timeout=120_000)
                page.wait_for_selector(ready, timeout=60_000)
                seconds = time.perf_counter() - start
                errors = page.get_by_test_id("stException").count()
                print(f"{preset.figure:16s} {preset.name:30s} {seconds:6.1f} s{'  EXCEPTION' if errors else ''}",
                      flush=True)
                page.close()
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
