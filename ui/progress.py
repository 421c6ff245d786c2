"""Slow work on a page: a spinner when it is short, else a progress bar that counts the estimated seconds."""

from __future__ import annotations

import contextlib
import threading
import time

import streamlit as st
import torch

QUIET_SECONDS = 2.0  # below this a spinner; above, a progress bar with the time estimate

_threads_lock = threading.Lock()
_threads = {"users": 0, "saved": 1}  # computations inside one_torch_thread now, and the count to restore after them


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


@contextlib.contextmanager
def one_torch_thread():
    """One torch thread while the block runs: a step-by-step loop over tiny tensors is fastest so, and immune to a
    busy machine's oversubscription (measured on 2 busy cores: the memory sweep's defaults 37 s against 168 s on
    2 threads; the cliff's training 5 s against 189 s). torch's thread count belongs to the whole page process, so
    the sessions inside such a block are counted, and the last one out restores the count the first one found."""
    with _threads_lock:
        if _threads["users"] == 0:
            _threads["saved"] = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads["users"] += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads["users"] -= 1
            if _threads["users"] == 0:
                torch.set_num_threads(_threads["saved"])
