"""The server's trainer processes: at most MAX_PROCESSES at once, for all sessions together.

A run that needs a process (to start, to step, to resume from its files) claims one here. When all are taken, an
idle holder (paused, finished or abandoned: not training) is asked to park, saving its run to files and giving its
process back; when all of them train, the run waits in line, first come first served. A place in line that nobody
asks about for LINE_FORGET seconds (a closed tab) is given up.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import threading
import time
import types
import weakref
from typing import Protocol

import torch

from core.model.device import cpu_budget
from core.train.worker import MAX_ACTIVE

MAX_PROCESSES = MAX_ACTIVE  # trainer processes on this server; each session's run gets one only while it needs it
LINE_FORGET = 15.0  # seconds after which a waiting run that nobody asked about loses its place


CONTEXT = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
if CONTEXT.get_start_method() == "forkserver":
    # workers fork from a process that has imported torch and scikit-learn (the toy data sets: about 1 s per worker)
    CONTEXT.set_forkserver_preload(["core.train.worker", "sklearn.datasets"])
_main_lock = threading.Lock()


@contextlib.contextmanager
def hidden_main():
    """multiprocessing re-imports __main__ in new processes; under Streamlit that is the app script. Hide it."""
    with _main_lock:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = saved


def warm_up() -> threading.Thread:
    """Prepare the page's process: keep it to half the cores (workers take all but one), and start the
    forkserver (it imports torch and scikit-learn once, about 3 s) in a thread, so that neither the first page nor
    the first Train click waits for it (a run started before it is ready waits inside multiprocessing's lock)."""
    torch.set_num_threads(max(1, cpu_budget() // 2))

    def start() -> None:
        if CONTEXT.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            with hidden_main():
                forkserver.ensure_running()

    thread = threading.Thread(target=start, name="forkserver-warm-up", daemon=True)
    thread.start()
    return thread


class Holder(Protocol):
    def idle(self) -> bool: ...  # holds a process that was not training when last heard from

    def try_park(self) -> bool: ...  # give the process back now (False if busy or training)


class Full(Exception):
    """Every process trains; `ahead` runs wait before this one."""

    def __init__(self, ahead: int):
        super().__init__(ahead)
        self.ahead = ahead


_lock = threading.Lock()
_holders: set[int] = set()  # id() of the holders with a process
_objects: dict[int, weakref.ref] = {}  # weak: a session's run that nobody holds any more is collected (and released)
_line: dict[int, float] = {}  # id() of waiting holders -> when they last asked (insertion order = arrival)


def claim(holder: Holder, queue: bool = True) -> None:
    """Count `holder` as having a process, or raise Full. Parks idle holders to make room. With queue=False (a run
    that only needs to show its step 0) it does not take a place in line."""
    key = id(holder)
    for _ in range(MAX_PROCESSES + 1):
        with _lock:
            now = time.monotonic()
            for stale in [k for k, asked in _line.items() if now - asked > LINE_FORGET and k != key]:
                del _line[stale]
            for gone in [k for k in _holders if _objects[k]() is None]:  # collected (its __del__ ended the process)
                _holders.discard(gone)
                del _objects[gone]
            if queue or key in _line:
                _line[key] = now
            ahead = list(_line).index(key) if key in _line else len(_line)
            free = MAX_PROCESSES - len(_holders)
            if ahead < free:
                _line.pop(key, None)
                _holders.add(key)
                _objects[key] = weakref.ref(holder)
                return
            alive = [h for h in (_objects[k]() for k in _holders) if h is not None]
            # the first in line asks each holder to give its process back, the idle-looking first: a holder's status
            # is as old as its page's last question, and a closed tab's run pauses (and parks) on its own
            candidates = sorted(alive, key=lambda h: not h.idle()) if ahead == 0 else []
        if not any(other.try_park() for other in candidates):  # outside the lock: parking talks to another worker
            raise Full(ahead)
    raise Full(0)


def release(holder: Holder) -> None:
    """`holder`'s process has ended (parked, closed or died); also gives up a place in line."""
    with _lock:
        _holders.discard(id(holder))
        _objects.pop(id(holder), None)
        _line.pop(id(holder), None)


def counts() -> tuple[int, int]:
    """(processes held, runs waiting in line)."""
    with _lock:
        return len(_holders), len(_line)
