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

Every time is taken inside the page, as a person sees it: from the button's press (a capture-phase `pointerdown`
listener, before the click event and before Streamlit handles it) to the first animation frame after the DOM change
that shows the answer (a MutationObserver).
Playwright's own costs (locating and scrolling to the button before clicking, polling for the answer afterwards,
about 0.05-0.2 s each) are left out; the `playwright` column prints the old outside measure of the first response
for comparison. Chromium, the server and the training workers share this machine's cores: the figures include
that.
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

WORKING = """() => document.querySelector('[data-testid=stProgress]') !== null || [...document.querySelectorAll(
    '[data-testid=stAlert]')].some(a => a.innerText.includes('Starting'))"""  # the click's note, or the progress line
DRAWN = """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')].some(c =>
    c.textContent.includes('Gradient norm') && [...c.querySelectorAll('svg .role-mark path[d]')].some(
        p => p.getAttribute('d').length > 20))"""  # the gradient-norm chart, with at least one mark drawn
STEP_0 = """() => { const p = document.querySelector('[data-testid=stProgress]');
    return p !== null && p.innerText.includes('Step 0 of') }"""
STRAYING = """() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('Straying'))
    && document.querySelector('[data-testid=stMain] [data-testid=stVegaLiteChart] svg .role-mark path[d]') !== null"""

ARM = """([name, predicate]) => {
    window.__fb = window.__fb || {};
    const t = window.__fb[name] = {click: null, seen: null};
    const test = eval(predicate);
    document.addEventListener('pointerdown', () => { t.click = performance.now(); check() },
                              {capture: true, once: true});
    const check = () => {
        if (t.click === null || t.seen !== null || t.pending || !test()) return;
        t.pending = true; observer.disconnect();
        requestAnimationFrame(() => { t.seen = performance.now() });  // the frame that paints it
    };
    const observer = new MutationObserver(check);
    observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def timed(page, name: str, predicate: str, click, timeout_s: float = 60) -> float:
    """Seconds from the click event to the painted frame in which `predicate` first holds; NaN if it never does."""
    page.evaluate(ARM, [name, predicate])
    click()
    try:
        page.wait_for_function(f"() => window.__fb['{name}'].seen !== null", timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001 — Playwright's TimeoutError: reported, not raised
        return float("nan")
    t = page.evaluate(f"window.__fb['{name}']")
    return (t["seen"] - t["click"]) / 1000


def _step(page) -> int:
    text = page.get_by_test_id("stProgress").first.inner_text()
    return int(text.split("Step ")[1].split(" of")[0].replace(",", ""))


def one_try(browser, url: str) -> dict[str, float]:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/train?steps=200000", timeout=60_000)
    page.wait_for_selector(READY, timeout=60_000)
    time.sleep(1)
    out = {}
    train = page.get_by_role("button", name="Train").first
    page.evaluate(ARM, ["first chart", DRAWN])
    start = time.perf_counter()
    out["first response"] = timed(page, "first response", WORKING, train.click, 30)
    out["playwright"] = time.perf_counter() - start  # the outside measure of the same span, for comparison
    page.wait_for_function("() => window.__fb['first chart'].seen !== null", timeout=60_000)
    t = page.evaluate("window.__fb['first chart']")
    out["first chart"] = (t["seen"] - t["click"]) / 1000
    time.sleep(2)
    out["reset"] = timed(page, "reset", STEP_0, page.get_by_role("button", name="Reset").click)
    page.get_by_role("button", name="Train").first.click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("running", timeout=60_000)
    time.sleep(6)  # a new run needs as long to pass this step count: the window for seeing it below
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("stProgress").first).to_contain_text("paused", timeout=60_000)
    before = _step(page)  # a lost Reset would resume this run from here; a new run starts from 0

    def reset_then_train():
        page.get_by_role("button", name="Reset").click()
        time.sleep(0.2)
        page.get_by_role("button", name="Train").first.click()

    out["reset + train"] = timed(page, "reset + train", f"""() => {{
        const p = document.querySelector('[data-testid=stProgress]');
        return p !== null && p.innerText.includes('running') && p.innerText.includes('Step ')
               && parseInt(p.innerText.split('Step ')[1].replaceAll(',', '')) < {before} }}""", reset_then_train, 30)
    if out["reset + train"] != out["reset + train"]:
        shown = page.get_by_test_id("stProgress").first.inner_text().replace("\n", " ")
        print(f"  reset + train: a click was lost? paused at step {before:,}, 30 s later the page shows: {shown}")
    link = page.get_by_test_id("stSidebar").get_by_role("link", name="Straying")
    out["page switch"] = timed(page, "page switch", STRAYING, link.click)
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
            lost = f"; {len(values) - len(kept)} of {len(values)} tries timed out" if len(kept) < len(values) else ""
            if kept:
                print(f"{name:15s} median {statistics.median(kept):.2f} s  (min {min(kept):.2f}, "
                      f"max {max(kept):.2f}){lost}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
