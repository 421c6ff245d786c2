"""Slow work on a page: a spinner when it is short, else a progress bar that counts the estimated seconds."""

from __future__ import annotations

import threading
import time

import streamlit as st

QUIET_SECONDS = 2.0  # below this a spinner; above, a progress bar with the time estimate


def with_progress(work, seconds: float, what: str):
    """work() in a thread, with a progress bar that counts the estimated seconds (a spinner when short)."""
    if seconds < QUIET_SECONDS:
        with st.spinner(what):
            return work()
    box: dict = {}

    def target():
        try:
            box["result"] = work()
        except Exception as exc:  # noqa: BLE001 — raised again on the page's thread
            box["error"] = exc

    thread, start, bar = threading.Thread(target=target, daemon=True), time.perf_counter(), st.progress(0.0)
    thread.start()
    while thread.is_alive():
        thread.join(0.25)
        elapsed = time.perf_counter() - start
        late = "; taking longer than estimated" if elapsed > seconds else ""
        bar.progress(min(elapsed / seconds, 0.99), text=f"{what}: {elapsed:.0f} s of about {seconds:.0f} s{late}")
    bar.empty()
    if "error" in box:
        raise box["error"]
    return box["result"]
