"""Live training: one worker thread per session trains a Run in short chunks under a lock.

The thread never touches the UI. A page asks for a Snapshot whenever it redraws; that request is also the
heartbeat, so a run whose page stopped asking (the tab was closed) pauses itself after IDLE_TIMEOUT seconds.
The process caps how many runs train at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pandas as pd
import torch

from core.config import TrainConfig
from core.run import Run

CHUNK_SECONDS = 0.05  # the lock is held at most about this long at a time
IDLE_TIMEOUT = 20.0  # seconds without a snapshot request before a run pauses itself
MAX_ACTIVE = 4  # runs training at once in this process

_slots = threading.BoundedSemaphore(MAX_ACTIVE)


class CapacityError(ValueError):
    """The server is already training MAX_ACTIVE runs."""


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a run at one moment, safe to read without the lock."""

    config: TrainConfig
    step: int
    status: str  # ready, running, paused, done, diverged, failed
    message: str
    steps_per_second: float
    metrics: pd.DataFrame
    points: pd.DataFrame
    straying: pd.DataFrame
    theta_init: torch.Tensor
    theta: torch.Tensor


class LiveRun:
    """A Run plus the thread that trains it; every method is safe to call from any script thread."""

    def __init__(self, config: TrainConfig):
        self.run = Run(config)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_seen = time.monotonic()
        self._notice = ""

    # ---- control ------------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Train in the background until the run ends, pause() is called, or nobody watches."""
        if self.training or self.run.finished:
            return
        if not _slots.acquire(blocking=False):
            raise CapacityError(
                f"The server is already training {MAX_ACTIVE} runs, its limit. Pause another tab's run, "
                "or try again in a minute."
            )
        self._stop.clear()
        self._notice = ""
        self._last_seen = time.monotonic()
        self._thread = threading.Thread(target=self._work, name="trainer", daemon=True)
        self._thread.start()

    def pause(self, wait: float = 2.0) -> None:
        """Stop training after the current chunk; returns once the thread has ended (or wait passed)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)

    def step_once(self) -> None:
        """One optimizer step while paused."""
        self.pause()
        with self._lock:
            if not self.run.finished:
                self.run.train(max_steps=1)

    def set_hot(self, **changes) -> None:
        """Apply learning-rate-like changes; the next chunk uses them."""
        with self._lock:
            self.run.set_hot(**changes)

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                if time.monotonic() - self._last_seen > IDLE_TIMEOUT:
                    self._notice = "Paused because no page has shown this run for a while (closed tab?)."
                    break
                with self._lock:
                    if self.run.finished:
                        break
                    self.run.train(max_seconds=CHUNK_SECONDS)
                time.sleep(0)  # let a waiting snapshot take the lock
        finally:
            with self._lock:
                if self.run.status == "running":
                    self.run.status = "paused"
            _slots.release()

    # ---- read-out -----------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Copy what the page draws; also the heartbeat that keeps the run training."""
        self._last_seen = time.monotonic()
        with self._lock:
            r = self.run
            status = "running" if self.training and not r.finished else r.status
            return Snapshot(
                config=r.config, step=r.step, status=status, message=r.message or self._notice,
                steps_per_second=r.steps_per_second, metrics=r.metrics_frame(), points=r.points_frame(),
                straying=r.straying_frame(), theta_init=r.theta_init, theta=r.theta.clone(),
            )

    def touch(self) -> None:
        """A heartbeat without a snapshot (from pages that do not draw the run)."""
        self._last_seen = time.monotonic()
