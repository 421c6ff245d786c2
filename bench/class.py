"""A class in one room: N sessions press Train on the defaults within a few seconds; how close the server comes to
the machine's limit.

    python bench/class.py [--sessions 30] [--within 10] [--server-cpus 0] [--browser-cpus 1] [--port 8812]

Starts `streamlit run app.py` pinned to --server-cpus (its trainers inherit that), and one Chromium pinned to
--browser-cpus, as on a Cloud container with the class's browsers elsewhere. Each session opens the Train page in its
own browser context; once all pages are loaded, the N presses of Train are spread evenly over --within seconds. Per
session it records, from its press: the first chart with training data (the progress line past step 0 and a chart
drawn), and the end (the progress line says done). Every 0.5 s it samples the server's whole process tree's PSS
(bench/load.py's sampler).

The machine's limit, printed beside the figures: one default run's training CPU time (measured here, in this
process, with one torch thread), times N, over the server's cores: no scheduler can finish the last run sooner, and
none can finish the median run sooner than half of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from load import PAGE_STATE, READY, Sampler, process_tree, start_server, stop_server  # noqa: E402

STEP = re.compile(r"Step ([\d,]+) of [\d,]+ .*?\b(ready|waiting|running|paused|done|diverged|failed)\b")


def run_cost() -> float:
    """CPU seconds one default run's training takes, in this process, with one torch thread."""
    import torch

    from core.model.config import TrainConfig
    from core.train.run import Run

    torch.set_num_threads(1)
    Run(TrainConfig(steps=50)).train()  # warm-up
    run = Run(TrainConfig())
    cpu = time.thread_time()
    run.train()
    return time.thread_time() - cpu


async def session(index: int, browser, url: str, press_times: dict, t0: float, results: list, loaded: list,
                  timeout: float) -> None:
    """Load the Train page, wait for this session's press time (set once every page has loaded), press Train,
    and watch the page until the run ends."""
    r = {"session": index, "pressed": None, "first_chart": None, "done": None, "status": None, "error": None}
    results.append(r)
    now = lambda: time.monotonic() - t0  # noqa: E731
    try:
        context = await browser.new_context(viewport={"width": 1280, "height": 720})
        page = await context.new_page()
        await page.goto(f"{url}/train", timeout=timeout * 1000)
        await page.wait_for_selector(READY, timeout=timeout * 1000)
        train = page.get_by_role("button", name="Train", exact=True)
        await train.wait_for(timeout=timeout * 1000)
        loaded.append(index)
        while index not in press_times or now() < press_times[index]:
            await asyncio.sleep(0.02)
        await train.click(timeout=30_000)
        r["pressed"] = now()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = await page.evaluate(PAGE_STATE)
            charts = await page.locator('[data-testid="stVegaLiteChart"]').count()
            found = [m for m in map(STEP.search, state["progress"]) if m]
            step = int(found[0].group(1).replace(",", "")) if found else 0
            status = found[0].group(2) if found else None
            if state["errors"]:
                r["status"], r["error"] = "error", state["errors"][0][:200]
                return
            if r["first_chart"] is None and step > 0 and charts:
                r["first_chart"] = now()
            if status in ("done", "diverged", "failed"):
                r["status"], r["done"] = status, now()
                return
            await asyncio.sleep(0.5)
        r["status"] = "timeout"
    except Exception as exc:  # noqa: BLE001 - one session's failure is a finding
        r["status"], r["error"] = "error", f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        loaded.append(index)  # not to be waited for


async def drive(url: str, args, t0: float) -> list[dict]:
    """Open every session's page; once all are loaded, spread the presses over args.within seconds."""
    from playwright.async_api import async_playwright

    results, loaded, press_times = [], [], {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            tasks = [asyncio.create_task(session(i, browser, url, press_times, t0, results, loaded, args.timeout))
                     for i in range(args.sessions)]
            deadline = time.monotonic() + args.timeout
            while len(loaded) < args.sessions and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            begin = time.monotonic() - t0 + 1.0
            print(f"[{begin:6.1f} s] {len(loaded)} pages loaded; pressing Train over {args.within:.0f} s", flush=True)
            press_times.update({i: begin + i * args.within / max(1, args.sessions - 1) for i in range(args.sessions)})
            await asyncio.gather(*tasks)
        finally:
            await browser.close()
    return sorted(results, key=lambda r: r["session"])


class CpuMeter(threading.Thread):
    """CPU seconds (user + system, from /proc) of each process in the server's tree, the last value seen per process:
    the server's own process (the pages of every session) against its trainers (the runs)."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.seen, self._halt = root, {}, threading.Event()

    def run(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        while not self._halt.wait(0.5):
            for pid in process_tree(self.root)["tree"]:
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text()
                    fields = stat[stat.rindex(")") + 2:].split()
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / ticks
                except (OSError, ValueError, IndexError):
                    pass

    def stop(self) -> dict[str, float]:
        self._halt.set()
        self.join(5)
        server = self.seen.get(self.root, 0.0)
        return {"server": server, "trainers and the rest": sum(self.seen.values()) - server}


def summary(results: list[dict], samples: list[dict], cost: float, cores: int, n: int, cpu: dict) -> None:
    first = [r["first_chart"] - r["pressed"] for r in results if r["first_chart"] and r["pressed"]]
    done = [r["done"] - r["pressed"] for r in results if r["done"] and r["pressed"]]
    failed = [r for r in results if r["status"] != "done"]
    limit = cost * n / cores
    print(f"\n{n} sessions, presses spread over the run; server on {cores} core(s)")
    print(f"machine's limit: one default run = {cost:.2f} s of CPU; {n} runs / {cores} core(s) = {limit:.1f} s for "
          f"the last run, {limit / 2:.1f} s for the median")
    if first:
        print(f"first chart after the press: median {statistics.median(first):.1f} s, max {max(first):.1f} s "
              f"({sum(f <= 3 for f in first)} of {len(first)} within 3 s)")
    if done:
        print(f"run done after the press:    median {statistics.median(done):.1f} s, max {max(done):.1f} s "
              f"(median {statistics.median(done) / (limit / 2):.2f}x and max {max(done) / limit:.2f}x the limit)")
    print(f"not done: {len(failed)}" + "".join(f"\n  session {r['session']}: {r['status']} {r['error'] or ''}"
                                              for r in failed[:10]))
    print("CPU seconds of the server's tree: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) +
          f" (the runs' own training: {cost * n:.1f})")
    if samples:
        print(f"server process tree: peak PSS {max(s['pss_mb'] for s in samples):.0f} MB, at most "
              f"{max(s['workers'] for s in samples)} trainer processes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--within", type=float, default=10.0, help="seconds over which the presses are spread")
    parser.add_argument("--server-cpus", default="0", help="CPUs of the server and its trainers, e.g. 0 or 0,1")
    parser.add_argument("--browser-cpus", default="1", help="CPUs of Chromium")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a session may take")
    parser.add_argument("--port", type=int, default=8812)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    server_cpus = {int(c) for c in args.server_cpus.split(",")}
    cost = run_cost()
    log = Path(tempfile.mkstemp(prefix="class-streamlit-", suffix=".log")[1])
    os.sched_setaffinity(0, server_cpus)  # the server inherits it from here (and its trainers from the server)
    t0 = time.monotonic()
    server = start_server(args.port, log, 120)
    os.sched_setaffinity(0, {int(c) for c in args.browser_cpus.split(",")})  # Chromium inherits this
    print(f"server pid {server.pid} up after {time.monotonic() - t0:.1f} s (log: {log})", flush=True)
    sampler, meter = Sampler(server.pid, t0), CpuMeter(server.pid)
    sampler.start()
    meter.start()
    try:
        results = asyncio.run(drive(f"http://localhost:{args.port}", args, t0))
    finally:
        cpu = meter.stop()
        sampler.stop()
        stop_server(server, sampler.seen)
    summary(results, sampler.samples, cost, len(server_cpus), args.sessions, cpu)


if __name__ == "__main__":
    main()
