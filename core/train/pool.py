"""The server's trainers: a few processes (core.train.host) that train every session's runs in turns.

There are `trainers` of them (one per CPU of the container's quota by default), started when a run first needs one
and gone again LINGER seconds after their last run left memory. A new run goes to the trainer with the fewest runs.
Requests from many page threads share a trainer's pipe: each carries an id, and one reader thread per trainer hands
each answer to the thread that waits for it. When a trainer dies (killed, out of memory), every request waiting on
it raises TrainerGone, and the next request for one of its runs starts a new trainer, which takes the run up from
its folder (core.train.state).

Settings (environment variables; on Streamlit Community Cloud also st.secrets, which ui copies into the environment):
PLAYGROUND_TRAINERS (processes), PLAYGROUND_MEMORY_MB (what the runs in memory may take, all trainers together),
PLAYGROUND_RAY_ADDRESS (train in Ray actors instead: "local" starts a Ray instance on this machine, any other value
is the address of a running cluster).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import sys
import threading
import types
from collections import Counter
from concurrent.futures import Future
from typing import NamedTuple

import torch

from core.model.device import cpu_budget
from core.train import host

IDLE_TIMEOUT = 20.0  # seconds without a request before a training run pauses itself (its tab was closed)
PARK_AFTER = 40.0  # seconds without training before a run is saved and dropped from memory
LINGER = host.LINGER  # seconds a trainer without runs in memory stays before its process ends
ANSWER_TIMEOUT = 120.0  # seconds a request waits for its answer before it reports an overloaded trainer
MAX_TRAINERS = 64

CONTEXT = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
if CONTEXT.get_start_method() == "forkserver":
    # trainers fork from a process that has imported torch and scikit-learn (the toy data sets: about 1 s each)
    CONTEXT.set_forkserver_preload(["core.train.host", "sklearn.datasets"])
_main_lock = threading.Lock()


class Settings(NamedTuple):
    trainers: int
    memory_mb: int
    ray_address: str | None


def whole_setting(name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number setting from the environment; ValueError with one sentence when it is not one in [lo, hi]."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {raw!r}.")
    return value


def settings() -> Settings:
    """The deployment's settings from the environment; ValueError with one sentence for a bad value."""
    return Settings(trainers=whole_setting("PLAYGROUND_TRAINERS", min(cpu_budget(), 4), 1, MAX_TRAINERS),
                    memory_mb=whole_setting("PLAYGROUND_MEMORY_MB", 1024, 64, 1 << 20),
                    ray_address=os.environ.get("PLAYGROUND_RAY_ADDRESS", "").strip() or None)


class TrainerGone(Exception):
    """The trainer that held the run is gone: `clean` when it left on its own (no runs for a while), else it died."""

    def __init__(self, clean: bool):
        super().__init__("clean" if clean else "died")
        self.clean = clean


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
    """Prepare the page's process: keep it to half the cores, and start the forkserver (it imports torch and
    scikit-learn once, about 3 s) in a thread, so that neither the first page nor the first Train click waits."""
    torch.set_num_threads(max(1, cpu_budget() // 2))

    def start() -> None:
        if CONTEXT.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            with hidden_main():
                forkserver.ensure_running()

    thread = threading.Thread(target=start, name="forkserver-warm-up", daemon=True)
    thread.start()
    return thread


class LocalTrainer:
    """One trainer process and its pipe, shared by the page's threads."""

    def __init__(self, memory_budget: int, threads: int):
        self._conn, child = CONTEXT.Pipe()
        self.process = CONTEXT.Process(target=host.serve, name="trainer", daemon=True,
                                       args=(child, IDLE_TIMEOUT, PARK_AFTER, memory_budget, threads, LINGER))
        with hidden_main():
            self.process.start()
        child.close()
        self._lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._ids = itertools.count()
        self.alive, self.clean = True, False
        self._reader = threading.Thread(target=self._read, name="trainer-answers", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def call(self, key: str, command: str, argument=None, timeout: float = ANSWER_TIMEOUT):
        future: Future = Future()
        with self._lock:
            if not self.alive:
                raise TrainerGone(self.clean)
            request = next(self._ids)
            self._pending[request] = future
            try:
                self._conn.send((request, key, command, argument))
            except (OSError, ValueError):
                self._pending.pop(request, None)
                failed = True
            else:
                failed = False
        if failed:  # the process is gone; its reader says whether it left on its own
            self._reader.join(5)
            raise TrainerGone(self.clean)
        try:
            return future.result(timeout)
        except TimeoutError:
            raise ValueError(f"The trainer did not answer within {timeout:.0f} s: this server is overloaded. "
                             "Try again in a minute.") from None

    def _read(self) -> None:
        try:
            while True:
                request, answer = self._conn.recv()
                if request is None:  # 'bye': it had no runs for a while and leaves on its own
                    self.clean = True
                    break
                future = self._pending.pop(request, None)
                if future is not None:
                    future.set_result(answer)
        except (EOFError, OSError, TypeError):  # TypeError: the page closed its end meanwhile (close())
            pass
        with self._lock:
            self.alive = False
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(TrainerGone(self.clean))
        self.process.join(5)

    def close(self) -> None:
        self._conn.close()
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()


class Pool:
    """The trainers of this server, and which of them holds which run."""

    def __init__(self, config: Settings | None = None, make=None):
        self.settings = config or settings()
        budget = self.settings.memory_mb * 2**20 // self.settings.trainers
        threads = max(1, cpu_budget() // self.settings.trainers)
        if make is None:
            if self.settings.ray_address:
                from core.train.ray_trainer import RayTrainer

                address = self.settings.ray_address

                def make():
                    return RayTrainer(address, budget, threads)
            else:
                def make():
                    return LocalTrainer(budget, threads)
        self._make = make
        self._lock = threading.Lock()
        self._trainers: list = [None] * self.settings.trainers
        self._where: dict[str, object] = {}  # run key -> its trainer
        self._orphans: list[str] = []  # runs whose owner was collected: closed at the next request

    def call(self, key: str, command: str, argument=None, timeout: float = ANSWER_TIMEOUT):
        """(kind, status, payload) from the run's trainer; TrainerGone when that trainer died or left meanwhile."""
        self._close_orphans()
        return self._trainer_for(key).call(key, command, argument, timeout)

    def _trainer_for(self, key: str):
        with self._lock:
            trainer = self._where.get(key)
            if trainer is not None and trainer.alive:
                return trainer
            if trainer is not None:  # its trainer is gone: say so once if it died (the owner takes the run up)
                del self._where[key]
                if not trainer.clean:
                    raise TrainerGone(False)
            load = Counter(id(t) for t in self._where.values() if t.alive)
            index = min(range(len(self._trainers)), key=lambda i: (load[id(self._trainers[i])], not self._alive(i), i))
            if not self._alive(index):
                self._trainers[index] = self._make()
            self._where[key] = self._trainers[index]
            return self._trainers[index]

    def _alive(self, index: int) -> bool:
        trainer = self._trainers[index]
        return trainer is not None and trainer.alive

    def forget(self, key: str) -> None:
        with self._lock:
            self._where.pop(key, None)

    def discard(self, key: str) -> None:
        """A run's owner is gone without closing it (collected): close it at the next request. Safe in __del__."""
        self._orphans.append(key)

    def _close_orphans(self) -> None:
        while self._orphans:
            key = self._orphans.pop()
            with self._lock:
                trainer = self._where.pop(key, None)
            if trainer is not None and trainer.alive:  # a gone trainer took the run with it: nothing to close
                with contextlib.suppress(Exception):
                    trainer.call(key, "close", timeout=10)

    def trainers(self) -> list:
        """The live trainers."""
        with self._lock:
            return [t for t in self._trainers if t is not None and t.alive]

    def counts(self) -> tuple[int, int]:
        """(live trainer processes, runs placed on them)."""
        with self._lock:
            alive = sum(self._alive(i) for i in range(len(self._trainers)))
            return alive, sum(1 for t in self._where.values() if t.alive)

    def shutdown(self) -> None:
        with self._lock:
            trainers, self._trainers = self._trainers, [None] * len(self._trainers)
            self._where.clear()
        for trainer in trainers:
            if trainer is not None:
                trainer.close()


_pool: Pool | None = None
_pool_lock = threading.Lock()


def shared() -> Pool:
    """The server's pool, made on first use (its settings read then)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Pool()
        return _pool
