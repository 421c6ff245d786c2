"""A class on one server: N browser sessions press Train at about the same time; memory, processes and waits.

    python bench/load.py [--sessions 20] [--stagger 5] [--after 120] [--port 8811] [--json out.json]

Starts `streamlit run app.py`, opens N sessions (one browser context each, staggered over --stagger seconds) on the
Train page in one Chromium, and each presses Train once on the sidebar's defaults. Then it acts as a user would: a
run shown waiting in the server's line is left to wait; a session that the server turns away (a warning such as
"already training ... runs, its limit" or "... busy ...") waits --retry-wait seconds and presses Train again, and so
does one whose run was paused by the server or whose page still shows no running run --no-answer seconds after the
press (every press and its reason is recorded). All that time counts as the session's wait.
Every 0.5 s it samples the server's whole process tree (the streamlit server, the multiprocessing forkserver, the
training workers, the resource tracker): the sum of PSS (/proc/<pid>/smaps_rollup) and the number of workers. Workers
are the forkserver's children (forked from it, they share its command line and the name "python" in /proc: the name
"trainer" exists only inside Python), or processes started by multiprocessing.spawn under that start method.
After the last run is done, the tabs stay open (nobody closes them) for --after seconds more, to see whether and when
the idle workers give their processes back (core.train.live.PARK_AFTER).
Reports: peak and steady PSS, the most workers at once, the time from the last run's end to no worker, and per
session the wait (first press -> the progress bar reads "running") and the total (first press -> "done"). Where the
progress bar never says so (a main view that is not redrawn), the sidebar's "This tab's run: ... · running" line
gives the time, and the summary says how often that happened.
Chromium, the server and the workers share this machine's cores: the times include that.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BUSY = '[data-testid="stApp"]:not([data-test-script-state="notRunning"])'
REFUSED = re.compile(r"already training|its limit|\bbusy\b", re.I)  # "The server is already training 4 runs, ..."
STATUS = re.compile(r"·\s*(ready|waiting|running|paused|done|diverged|failed)\b")
SAMPLE_EVERY = 0.5
STEADY_WINDOW = 30.0

# the page's progress text and the (current, not stale) alerts, in one round trip that never waits
PAGE_STATE = """() => {
  const stale = e => {
    const c = e.closest('[data-testid="stElementContainer"]');
    return !!c && c.dataset.stale === 'true';
  };
  const app = document.querySelector('[data-testid="stApp"]');
  return {
    script: app ? app.getAttribute('data-test-script-state') : null,
    progress: [...document.querySelectorAll('[data-testid="stProgress"]')].map(e => e.innerText),
    alerts: [...document.querySelectorAll('[data-testid="stAlert"]')].filter(e => !stale(e)).map(e => e.innerText),
    errors: [...document.querySelectorAll('[data-testid="stException"]')].filter(e => !stale(e))
      .map(e => e.innerText),
    sidebar: [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]')]
      .map(e => e.innerText).filter(t => /run:/.test(t)),
    body: app ? null : [location.href, document.title, document.body ? document.body.innerText.slice(0, 300) : ''],
  };
}"""


# ---- the server's process tree ---------------------------------------------------------------------------------
def _parents() -> dict[int, int]:
    """pid -> parent pid for every process now."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
                out[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass  # gone meanwhile
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _started(pid: int) -> str:
    """The process's start time (clock ticks after boot): with the pid, its identity even if pids are reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return ""


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass  # gone meanwhile, or a zombie
    return 0


def process_tree(root: int) -> dict[str, list[int]]:
    """The tree under `root` by role. Workers are the forkserver's children (forked from it, so with its very
    command line, and called "python" in /proc: the name "trainer" lives only in Python), or, under the spawn start
    method, processes started by multiprocessing.spawn."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    forkservers = [p for p in children.get(root, []) if "multiprocessing.forkserver" in _cmdline(p)]
    workers = [c for f in forkservers for c in children.get(f, [])]
    workers += [p for p in tree if p not in workers and "multiprocessing.spawn" in _cmdline(p)]
    return {"tree": tree, "forkserver": forkservers, "workers": workers}


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY seconds: the tree's summed PSS and its worker count (a plain thread: no Playwright here)."""

    def __init__(self, root: int, t0: float):
        super().__init__(daemon=True)
        self.root, self.t0 = root, t0
        self.samples: list[dict] = []
        self.seen: dict[int, str] = {}  # every process ever in the tree (pid: start time), to clean up after
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            start = time.monotonic()
            roles = process_tree(self.root)
            self.seen.update((pid, _started(pid)) for pid in roles["tree"] if pid not in self.seen)
            pss = {pid: _pss_kb(pid) for pid in roles["tree"]}
            self.samples.append({
                "t": round(start - self.t0, 3),
                "pss_mb": round(sum(pss.values()) / 1024, 1),
                "workers_pss_mb": round(sum(pss[p] for p in roles["workers"]) / 1024, 1),
                "server_pss_mb": round(pss.get(self.root, 0) / 1024, 1),
                "processes": len(roles["tree"]),
                "workers": len(roles["workers"]),
            })
            self._halt.wait(max(0.0, SAMPLE_EVERY - (time.monotonic() - start)))

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


# ---- the server -------------------------------------------------------------------------------------------------
def port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_server(port: int, log: Path, timeout: float) -> subprocess.Popen:
    """`streamlit run app.py` on the port, answering /_stcore/health; SystemExit with one line otherwise."""
    if port_taken(port):
        sys.exit(f"load.py: port {port} is already in use; pick another with --port")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true"], cwd=ROOT, stdout=log.open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"load.py: the streamlit server exited with code {server.returncode} before answering "
                     f"(log: {log})")
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.5)
    stop_server(server, {})
    sys.exit(f"load.py: the streamlit server did not answer /_stcore/health on port {port} within {timeout:.0f} s "
             f"(log: {log})")


def stop_server(server: subprocess.Popen, seen: dict[int, str]) -> None:
    """Stop the server, then any process of its tree still there (by pid and start time: only what this benchmark
    started, never a later process that got a reused pid)."""
    left = dict(seen)
    if server.poll() is None:
        left.update((pid, _started(pid)) for pid in process_tree(server.pid)["tree"])
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    left.pop(server.pid, None)
    for pid, started in left.items():
        try:
            if started and _started(pid) == started:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class AppError(Exception):
    """The page shows an exception (its first lines)."""


class PageCrashed(Exception):
    """Chromium's renderer of the tab crashed (the page is gone)."""


# ---- one browser session ---------------------------------------------------------------------------------------
def run_status(state: dict) -> tuple[str | None, str]:
    """(status, where): what the page says of the run, to decide whether to press Train again: the progress bar,
    or the sidebar's line ("This tab's run: step ... · running", redrawn every few seconds on every page), where
    a run may show first (the main view is redrawn on its own only while the page knows the run trains). Finished
    beats training beats waiting."""
    seen = {}
    for where, texts in (("progress", state["progress"]), ("sidebar", state["sidebar"])):
        for text in texts:
            m = STATUS.search(text)
            if m:
                seen.setdefault(m.group(1), where)
    for status in ("done", "diverged", "failed", "running", "waiting", "paused", "ready"):
        if status in seen:
            return status, seen[status]
    return None, ""


async def session(index: int, browser, url: str, t0: float, args, results: list[dict],
                  pages: list) -> None:
    """Open the Train page in a fresh context, press Train until the run trains, wait until it is done."""
    r = {"session": index, "opened": None, "loaded": None, "pressed": None, "started": None, "done": None,
         "started_on": None, "done_on": None, "presses": [], "refusals": 0, "queued": False, "status": None,
         "error": None, "crashed": None, "last_seen": None}
    results.append(r)
    now = lambda: round(time.monotonic() - t0, 3)  # noqa: E731
    await asyncio.sleep(index * args.stagger / max(1, args.sessions - 1))
    r["opened"] = now()
    page = None
    try:
        context = await browser.new_context(viewport={"width": 1280, "height": 720})
        page = await context.new_page()
        page.on("crash", lambda _: r.update(crashed=now()))
        pages.append(page)  # the tab stays open until the end of the benchmark
        timeout_ms = args.session_timeout * 1000
        await page.goto(f"{url}/train", timeout=timeout_ms)
        await page.wait_for_selector(READY, timeout=timeout_ms)
        train = page.get_by_role("button", name="Train").first
        deadline = time.monotonic() + args.session_timeout
        while not (await train.count() and await train.is_enabled()):  # the sidebar's settings are there
            state = await page.evaluate(PAGE_STATE)
            if state["errors"] and state["script"] == "notRunning":
                raise AppError(state["errors"][0])
            if time.monotonic() > deadline:
                raise TimeoutError(f"no enabled Train button within {args.session_timeout:.0f} s")
            await asyncio.sleep(0.5)
        r["loaded"] = now()
        why = "first"
        seen = {"progress": {"running": None, "done": None}, "sidebar": {"running": None, "done": None}}
        r["seen"] = seen  # when each of the two said the run trains and is done
        while time.monotonic() < deadline:  # press Train; again after a refusal, a pause or no answer
            try:
                await train.click(timeout=30_000)
            except Exception as exc:  # noqa: BLE001 (e.g. disabled meanwhile): look at the page, press later
                r["presses"].append([now(), f"click failed ({why}): {type(exc).__name__}"])
            else:
                r["presses"].append([now(), why])
                r["pressed"] = r["pressed"] or now()
            clicked = time.monotonic()
            try:  # the click's rerun begins (the page shows the script running), so what follows is its answer
                await page.wait_for_selector(BUSY, timeout=15_000)
            except Exception:  # noqa: BLE001 (a quick rerun between two looks): the state below still decides
                pass
            why = None
            while why is None and time.monotonic() < deadline:
                if r["crashed"] is not None:
                    raise PageCrashed(f"the tab's renderer crashed at {r['crashed']:.1f} s")
                state = await page.evaluate(PAGE_STATE)
                status, where = run_status(state)
                r["last_seen"] = {"t": now(), **state}
                r["queued"] = r["queued"] or status == "waiting"  # in the server's line: a user just waits
                for where, texts in (("progress", state["progress"]), ("sidebar", state["sidebar"])):
                    said = {m.group(1) for m in map(STATUS.search, texts) if m}
                    if said & {"running", "done"} and seen[where]["running"] is None:
                        seen[where]["running"] = now()
                    if "done" in said and seen[where]["done"] is None:
                        seen[where]["done"] = now()
                if seen["progress"]["done"] is not None or (  # the progress bar says done, or the sidebar
                        seen["sidebar"]["done"] is not None  # has for long while the main view stays behind
                        and now() - seen["sidebar"]["done"] > args.no_answer):
                    on = "progress" if seen["progress"]["done"] is not None else "sidebar"
                    r["status"], r["done"], r["done_on"] = "done", seen[on]["done"], on
                    on = "progress" if seen["progress"]["running"] is not None else "sidebar"
                    r["started"], r["started_on"] = seen[on]["running"], on
                    return
                if status in ("diverged", "failed"):
                    r["status"] = status
                    return
                if state["script"] == "notRunning" and status not in ("running", "done"):
                    if state["errors"]:
                        raise AppError(state["errors"][0])
                    refusal = next((a for a in state["alerts"] if REFUSED.search(a)), None)
                    if refusal is not None:
                        r["refusals"] += 1
                        why = "refused: " + " ".join(refusal.split())[:80]
                    elif status == "paused":
                        why = "paused"  # stopped by the server (no heartbeat heard): press again
                    elif status in (None, "ready") and time.monotonic() - clicked > args.no_answer:
                        why = f"no answer after {args.no_answer:.0f} s ({status or 'no status'})"
                if why is None:
                    await asyncio.sleep(0.5)
            if why is not None:
                await asyncio.sleep(args.retry_wait)
        r["status"] = r["status"] or "timeout"
        r["error"] = f"not done within {args.session_timeout:.0f} s (last seen: {describe(r['last_seen'])})"
    except Exception as exc:  # noqa: BLE001 (one session's failure is a finding, not the end of the benchmark)
        r["status"] = r["status"] or "error"
        shown = None
        if page is not None and not isinstance(exc, AppError):
            with contextlib.suppress(Exception):
                shown = (await page.evaluate(PAGE_STATE))["errors"]
        if shown:  # the app failed: that, not the wait that then timed out, is the news
            exc = AppError(shown[0])
        r["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def describe(state: dict | None) -> str:
    if not state:
        return "nothing"
    if state.get("body"):  # no Streamlit app on the page
        url, title, text = state["body"]
        return f"no app on the page: {url} {title!r} {' '.join(text.split())[:80]!r}"
    status, where = run_status(state)
    alerts = "; ".join(" ".join(a.split())[:60] for a in state["alerts"])
    return f"{status or 'no status'} on the {where or 'page'}, script {state['script']}" + (
        f", alerts: {alerts}" if alerts else "")


async def drive(url: str, sampler: Sampler, t0: float, args) -> tuple[list[dict], float]:
    """All sessions at once; then the tabs stay open for args.after seconds. Returns (sessions, end of the runs)."""
    from playwright.async_api import async_playwright

    results: list[dict] = []
    pages: list = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            tasks = [asyncio.create_task(session(i, browser, url, t0, args, results, pages))
                     for i in range(args.sessions)]
            reporter = asyncio.create_task(report_progress(results, sampler, args.sessions))
            await asyncio.gather(*tasks)
            reporter.cancel()
            runs_end = time.monotonic() - t0
            print(f"[{runs_end:6.1f} s] every session has ended; {len(pages)} tabs stay open for {args.after:.0f} s",
                  flush=True)
            await asyncio.sleep(args.after)
        finally:
            await browser.close()
    return sorted(results, key=lambda r: r["session"]), runs_end


async def report_progress(results: list[dict], sampler: Sampler, n: int) -> None:
    while True:
        await asyncio.sleep(10)
        last = sampler.samples[-1] if sampler.samples else {"t": 0, "pss_mb": 0, "workers": 0}
        started = sum(any(r.get("seen", {}).get(on, {}).get("running") is not None for on in ("progress", "sidebar"))
                      for r in results)
        ended = sum(r["status"] is not None for r in results)
        print(f"[{last['t']:6.1f} s] PSS {last['pss_mb']:7.0f} MB, {last['workers']:2d} workers; "
              f"{started}/{n} started, {ended}/{n} ended", flush=True)


# ---- the summary -----------------------------------------------------------------------------------------------
def summarise(samples: list[dict], sessions: list[dict], runs_end: float) -> dict:
    done = [s for s in sessions if s["status"] == "done"]
    last_done = max((s["done"] for s in done), default=None)
    since = last_done if last_done is not None else runs_end
    later = [s for s in samples if s["t"] >= since]
    zero = next((s["t"] for s in later if s["workers"] == 0), None)
    end = samples[-1]["t"] if samples else 0.0
    steady = [s["pss_mb"] for s in samples if s["t"] >= end - STEADY_WINDOW]
    waits = [s["started"] - s["pressed"] for s in sessions if s["started"] is not None]
    totals = [s["done"] - s["pressed"] for s in done]
    return {
        "sessions": len(sessions),
        "all_done": len(done) == len(sessions),
        "not_done": {s["session"]: s["error"] or s["status"] for s in sessions if s["status"] != "done"},
        "peak_pss_mb": max((s["pss_mb"] for s in samples), default=None),
        "steady_pss_mb": statistics.median(steady) if steady else None,
        "max_workers": max((s["workers"] for s in samples), default=None),
        "max_processes": max((s["processes"] for s in samples), default=None),
        "last_done_t": last_done,
        "workers_at_last_done": later[0]["workers"] if later else None,
        "workers_to_zero_s": None if zero is None else round(zero - since, 1),
        "workers_rose_again": zero is not None and any(s["workers"] > 0 for s in later if s["t"] > zero),
        "workers_at_end": samples[-1]["workers"] if samples else None,
        "watched_after_s": round(end - since, 1),
        "refused_sessions": sum(s["refusals"] > 0 for s in sessions),
        "queued_sessions": sum(s["queued"] for s in sessions),
        "started_on_sidebar": sum(s["started_on"] == "sidebar" for s in sessions),
        "done_on_sidebar": sum(s["done_on"] == "sidebar" for s in sessions),
        "presses": sum(len(s["presses"]) for s in sessions),
        "pressed_again": {s["session"]: [why for _, why in s["presses"][1:]] for s in sessions
                          if len(s["presses"]) > 1},
        "wait_median_s": statistics.median(waits) if waits else None,
        "wait_max_s": max(waits, default=None),
        "total_median_s": statistics.median(totals) if totals else None,
        "total_max_s": max(totals, default=None),
    }


def print_summary(s: dict) -> None:
    f = lambda v, unit="s": "-" if v is None else f"{v:,.1f} {unit}"  # noqa: E731
    print(f"sessions            {s['sessions']}; every run finished: {'yes' if s['all_done'] else 'NO'}")
    for index, why in s["not_done"].items():
        print(f"  session {index:2d}        {why}")
    print(f"peak PSS            {f(s['peak_pss_mb'], 'MB')}  (server, forkserver, workers, resource tracker)")
    print(f"steady PSS          {f(s['steady_pss_mb'], 'MB')}  (median over the last {STEADY_WINDOW:.0f} s)")
    print(f"max workers         {s['max_workers']}  (at once; {s['max_processes']} processes in the tree at most)")
    if s["workers_to_zero_s"] is not None:
        again = "; but workers came back later" if s["workers_rose_again"] else ""
        print(f"workers to 0        {f(s['workers_to_zero_s'])} after the last run finished "
              f"({s['workers_at_last_done']} then){again}")
    else:
        print(f"workers to 0        never within {s['watched_after_s']:.0f} s after the last run finished "
              f"({s['workers_at_last_done']} then, {s['workers_at_end']} at the end)")
    print(f"wait (press→run)    median {f(s['wait_median_s'])}, max {f(s['wait_max_s'])}  "
          f"({s['refused_sessions']} sessions refused at least once, {s['queued_sessions']} shown waiting in line; "
          f"{s['presses']} presses in all)")
    print(f"total (press→done)  median {f(s['total_median_s'])}, max {f(s['total_max_s'])}")
    if s["started_on_sidebar"] or s["done_on_sidebar"]:
        print(f"                    the progress bar never said running in {s['started_on_sidebar']} sessions, never "
              f"done in {s['done_on_sidebar']} (their times are from the sidebar's status line)")
    reasons = collections.Counter(re.sub(r"\d+ other run", "N other run", why)
                                  for whys in s["pressed_again"].values() for why in whys)
    if reasons:
        print(f"pressed again       {len(s['pressed_again'])} sessions: "
              + "; ".join(f"{n} × {why}" for why, n in reasons.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--stagger", type=float, default=5.0, help="seconds over which the sessions are opened")
    parser.add_argument("--after", type=float, default=120.0,
                        help="seconds to keep the tabs open and sampling after every run has ended")
    parser.add_argument("--retry-wait", type=float, default=5.0, help="seconds before pressing Train again after "
                        "the server refused")
    parser.add_argument("--no-answer", type=float, default=60.0, help="seconds after which a Train press that "
                        "left the page idle without a running run is pressed again")
    parser.add_argument("--session-timeout", type=float, default=600.0, help="seconds a session may take")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds for the server to answer")
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--json", type=Path, help="write the time series and the sessions here")
    args = parser.parse_args()

    log = Path(tempfile.mkstemp(prefix="load-streamlit-", suffix=".log")[1])
    t0 = time.monotonic()
    server = start_server(args.port, log, args.startup_timeout)
    print(f"server pid {server.pid} on port {args.port} up after {time.monotonic() - t0:.1f} s (log: {log})",
          flush=True)
    sampler = Sampler(server.pid, t0)
    sampler.start()
    try:
        sessions, runs_end = asyncio.run(drive(f"http://localhost:{args.port}", sampler, t0, args))
        sampler.stop()
        summary = summarise(sampler.samples, sessions, runs_end)
        print_summary(summary)
        if args.json:
            args.json.write_text(json.dumps({"args": {k: str(v) if isinstance(v, Path) else v
                                                      for k, v in vars(args).items()},
                                             "summary": summary, "sessions": sessions,
                                             "samples": sampler.samples}, indent=1))
            print(f"wrote {args.json}")
    finally:
        sampler.stop()
        stop_server(server, sampler.seen)


if __name__ == "__main__":
    main()
