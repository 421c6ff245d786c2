"""How much CPU the server's live redraws take, over every session: the load that paces them (live.redraw_interval).

One page process draws the charts of every session in Python, under one interpreter lock. A class of 20 tabs, each
redrawing its run every half second, would need several cores for drawing alone, and every click would wait in line
behind the redraws. Each live redraw therefore reports the CPU time it took (its thread's, so time spent waiting for
the lock is not counted); the load is the sum, over the sessions that drew lately, of their last redraw's cost.
"""

from __future__ import annotations

import contextlib
import threading
import time

from streamlit.runtime.scriptrunner import get_script_run_ctx

FORGET = 20.0  # seconds after which a session that has not redrawn no longer counts (its run ended, its tab closed)

_lock = threading.Lock()
_costs: dict[str, tuple[float, float]] = {}  # session id -> (time.monotonic() of its last redraw, its CPU seconds)


def record(session_id: str, cpu_seconds: float, now: float | None = None) -> None:
    with _lock:
        _costs[session_id] = (time.monotonic() if now is None else now, cpu_seconds)


def load(now: float | None = None) -> float:
    """CPU seconds of one live redraw of every session that redrew in the last FORGET seconds."""
    now = time.monotonic() if now is None else now
    with _lock:
        for gone in [k for k, (when, _) in _costs.items() if now - when > FORGET]:
            del _costs[gone]
        return sum(cost for _, cost in _costs.values())


@contextlib.contextmanager
def measured():
    """Count the CPU time of the block as this session's live redraw (outside a Streamlit session: not counted)."""
    start = time.thread_time()
    try:
        yield
    finally:
        ctx = get_script_run_ctx()
        if ctx is not None:
            record(ctx.session_id, time.thread_time() - start)
