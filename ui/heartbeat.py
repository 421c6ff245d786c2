"""The server's own heartbeat for the runs of open tabs.

A trainer pauses a run when nobody has asked about it for pool.IDLE_TIMEOUT seconds: that is how a closed tab's run
stops. The asking used to come only from the page's timed redraws, which a browser slows down or stops for a tab in
the background, or on a machine busy with a class's worth of sessions; such a run paused although its tab was open.
Here one thread per server asks every BEAT seconds about each run whose session is still connected (Streamlit's
own session list), so only a closed tab's run stops. The runs are touched in parallel (TOUCHERS threads): a touch
waits for its worker to finish a training chunk, which on a busy server takes a while, and one after the other the
round of a class's 20 runs could outlast IDLE_TIMEOUT.
"""

from __future__ import annotations

import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.train.live import LiveRun
from core.train.pool import IDLE_TIMEOUT

BEAT = IDLE_TIMEOUT / 4  # seconds between two rounds: a few missed rounds still keep a run alive
TOUCHERS = 8  # runs touched at once (each waits on its own worker's pipe, not on the CPU)

_TOUCHERS = ThreadPoolExecutor(TOUCHERS, thread_name_prefix="run-heartbeat-touch")  # kept: no new threads a round
_watched: dict[str, weakref.ref] = {}  # session id -> its current run (weakly: a forgotten run is collected)
_lock = threading.Lock()


def watch(live: LiveRun) -> None:
    """Keep `live` alive while this script's session stays connected (replacing the session's earlier run)."""
    ctx = get_script_run_ctx()
    if ctx is None:  # not under a Streamlit server (tests that call the page's functions directly)
        return
    with _lock:
        _watched[ctx.session_id] = weakref.ref(live)
    _thread()


def beat(is_connected) -> int:
    """One round: touch each watched run whose session is_connected(session id), in parallel; forget the others.
    Returns how many runs were touched."""
    with _lock:
        entries = list(_watched.items())
    alive = []
    for session_id, ref in entries:
        live = ref()
        if live is None or not is_connected(session_id):
            with _lock:
                if _watched.get(session_id) is ref:
                    del _watched[session_id]
        else:
            alive.append(live)
    return sum(_TOUCHERS.map(_touch, alive))


def _touch(live: LiveRun) -> bool:
    try:
        live.touch()
        return True
    except Exception:  # noqa: BLE001 - a closed or failed run: its page shows why; the heartbeat goes on
        return False


def _loop() -> None:
    while True:
        time.sleep(BEAT)
        if not Runtime.exists():
            continue
        beat(Runtime.instance().is_active_session)


@st.cache_resource(show_spinner=False)
def _thread() -> threading.Thread:
    """The heartbeat thread, started once per server."""
    thread = threading.Thread(target=_loop, name="run-heartbeat", daemon=True)
    thread.start()
    return thread
