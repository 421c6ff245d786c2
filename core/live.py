"""Live training: each run trains in its own worker process, so the page never competes with it for the GIL.

The page's LiveRun sends commands (start, pause, step, hot changes, snapshot) over a pipe; the worker trains in
short chunks and answers between them. Every request is also a heartbeat: a worker that hears nothing for
IDLE_TIMEOUT seconds while training pauses itself (the tab was closed), and one that hears nothing for
RELEASE_AFTER seconds exits. A semaphore shared by all workers caps how many runs train at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import threading
import time
import types
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
import torch

from core import data as data_mod
from core import models, records
from core.charts import grad_norm_points
from core.config import TrainConfig
from core.curvature_charts import curvature_points
from core.device import pick_device
from core.optim import OPTIMIZERS, check_newton_size

CHUNK_SECONDS = 0.05  # a worker answers requests at least this often
STRAYING_EVERY = 1.0  # seconds between recomputations of the straying plot while training (a K x P pass)
IDLE_TIMEOUT = 20.0  # seconds without a request before a training worker pauses itself
REDRAW_FAST, REDRAW_SLOW = 0.5, 1.0  # seconds between live redraws: normally, and while training is starved
STARVED_BELOW, FED_ABOVE = 0.85, 0.95  # cpu_share thresholds (with hysteresis) between the two
RELEASE_AFTER = 1800.0  # seconds without a request before a worker process exits
MAX_ACTIVE = 4  # runs training at once on this server

_CTX = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
if _CTX.get_start_method() == "forkserver":
    _CTX.set_forkserver_preload(["core.run"])  # workers fork from a process that has imported torch
_slots = _CTX.BoundedSemaphore(MAX_ACTIVE)


class CapacityError(ValueError):
    """The server is already training MAX_ACTIVE runs."""


class Status(NamedTuple):
    step: int
    steps: int
    status: str  # ready, running, paused, done, diverged, failed
    training: bool
    message: str
    cpu_share: float = 1.0  # share of wall time the training thread got on a CPU lately (1 = not starved)


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a run at one moment."""

    config: TrainConfig
    step: int
    status: str
    message: str
    steps_per_second: float
    cpu_share: float
    metrics: pd.DataFrame
    points: pd.DataFrame  # step, grad_norm, average: thinned for drawing (charts.grad_norm_points)
    curvature: pd.DataFrame  # eq. 8.10 terms per step, thinned (curvature_charts.curvature_points); empty when off
    straying: pd.DataFrame
    theta_init: torch.Tensor
    theta: torch.Tensor


_main_lock = threading.Lock()


@contextlib.contextmanager
def _hidden_main():
    """multiprocessing re-imports __main__ in new processes; under Streamlit that is the app script. Hide it."""
    with _main_lock:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = saved


def redraw_interval(cpu_share: float, current: float) -> float:
    """Seconds between live redraws: fast unless drawing starves the training of CPU (with hysteresis)."""
    if cpu_share < STARVED_BELOW:
        return REDRAW_SLOW
    if cpu_share > FED_ABOVE:
        return REDRAW_FAST
    return current


def warm_up() -> None:
    """Prepare the page's process: keep it to half the cores (workers take all but one), and start the
    forkserver (it imports torch once) so that the first Train click is quick."""
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    if _CTX.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with _hidden_main():
            forkserver.ensure_running()


class LiveRun:
    """The page's handle on a run training in a worker process; safe to call from any script thread."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.device = pick_device(config.device)
        self.data = data_mod.from_config(config, self.device)  # the page's own copy, for its curves and pictures
        self.spec = models.from_config(config, self.data.n_features, self.data.n_classes)
        if OPTIMIZERS[config.optimizer].needs_hessian:
            check_newton_size(self.spec.n_params)
        self._lock = threading.Lock()
        self._status = Status(0, config.steps, "ready", False, "")
        self._last: Snapshot | None = None
        self._slots = _slots
        self._conn, child = _CTX.Pipe()
        self._process = _CTX.Process(target=_serve, args=(child, config, _slots, IDLE_TIMEOUT, RELEASE_AFTER),
                                     name="trainer", daemon=True)
        with _hidden_main():
            self._process.start()
        child.close()
        theta_init = self._ask("hello")
        if theta_init is None:
            raise ValueError("The training process could not start this run (out of memory?). Try a smaller model.")
        self.theta_init = torch.from_numpy(theta_init).to(self.device)

    # ---- requests -------------------------------------------------------------------------------------
    def _ask(self, command: str, argument=None):
        """Send one command and wait for its answer; a dead worker becomes a 'failed' status, not a crash."""
        with self._lock:
            try:
                self._conn.send((command, argument))
                kind, status, payload = self._conn.recv()
            except (EOFError, OSError):
                if self._status.training:  # it died holding a training slot: give the slot back
                    with contextlib.suppress(ValueError):
                        self._slots.release()
                message = ("This run's worker process is gone (released after a long idle time, or it crashed). "
                           "Its last picture stays; press Reset to start again.")
                self._status = Status(self._status.step, self.config.steps, "failed", False, message)
                return None
        self._status = status
        if kind != "ok":
            raise (CapacityError if kind == "busy" else ValueError)(payload)
        return payload

    def start(self) -> None:
        """Train in the background until the run ends, pause() is called, or nobody watches."""
        self._ask("start")

    def pause(self) -> None:
        self._ask("pause")

    def step_once(self) -> None:
        """One optimizer step while paused."""
        self._ask("step")

    def set_hot(self, **changes) -> None:
        """Apply learning-rate-like changes; the next chunk uses them."""
        self._ask("hot", changes)
        self.config = self.config.replace(**changes)

    def touch(self) -> Status:
        """A heartbeat that returns the run's status without copying its history."""
        self._ask("ping")
        return self._status

    @property
    def training(self) -> bool:
        return self.touch().training

    def snapshot(self) -> Snapshot:
        """Copy what the page draws; also a heartbeat. After the worker is gone, the last snapshot."""
        payload = self._ask("snapshot")
        if payload is None:
            if self._last is None:
                raise ValueError(self._status.message)
            return Snapshot(**{**self._last.__dict__, "status": "failed", "message": self._status.message})
        payload["theta"] = torch.from_numpy(payload["theta"]).to(self.device)
        self._last = Snapshot(theta_init=self.theta_init, **payload)
        return self._last

    def record(self, name: str):
        """A RunRecord of the run now (a few checkpoints, metrics, straying), to keep after the worker is gone."""
        payload = self._ask("record")
        if payload is None:
            raise ValueError(self._status.message)
        return records.from_arrays(name, self.config, self._status.status, **payload)

    def close(self) -> None:
        """End the worker process."""
        try:
            self._ask("close")
        finally:
            self._process.join(2)
            if self._process.is_alive():
                self._process.kill()

    def __del__(self):
        process = getattr(self, "_process", None)
        if process is not None and process.is_alive():
            process.kill()


# ---- the worker process -----------------------------------------------------------------------------
def _serve(conn, config: TrainConfig, slots, idle_timeout: float, release_after: float) -> None:
    """Own one Run: answer commands, train in chunks between them, pause when nobody asks, exit when released."""
    from core.run import Run

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))  # leave a core to the page and the browser
    worker = _Worker(Run(config), slots)
    last_seen = time.monotonic()
    while True:
        if conn.poll(0 if worker.training else release_after):
            try:
                command, argument = conn.recv()
            except EOFError:  # the page's process is gone
                break
            last_seen = time.monotonic()
            kind, payload = worker.handle(command, argument)
            conn.send((kind, worker.status(), payload))
            if command == "close":
                break
        elif not worker.training:
            break  # released: nobody asked for this run for release_after seconds
        if worker.training:
            if time.monotonic() - last_seen > idle_timeout:
                worker.stop("Paused because no page has shown this run for a while (closed tab?).")
            else:
                worker.train_chunk()
    worker.stop("")
    conn.close()


def _copy(theta: torch.Tensor):
    """A plain numpy copy: torch's pickler would share a tensor's memory with the page instead of copying it."""
    return theta.detach().cpu().numpy().copy()


class _Worker:
    """The run and its training flag inside the worker process."""

    def __init__(self, run, slots):
        self.run, self.slots = run, slots
        self.training, self.notice = False, ""
        self.cpu_share = 1.0
        self._straying, self._straying_at = None, 0.0

    def straying(self) -> pd.DataFrame:
        """The straying frame; while training, at most STRAYING_EVERY seconds old."""
        now = time.monotonic()
        if self._straying is None or not self.training or now - self._straying_at >= STRAYING_EVERY:
            self._straying, self._straying_at = self.run.straying_frame(torch.float32), now
        return self._straying

    def status(self) -> Status:
        r = self.run
        state = "running" if self.training else r.status
        return Status(r.step, r.config.steps, state, self.training, r.message or self.notice, self.cpu_share)

    def stop(self, notice: str) -> None:
        if self.training:
            self.training = False
            self.slots.release()
        self.notice = notice or self.notice

    def train_chunk(self) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        self.run.train(max_seconds=CHUNK_SECONDS)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        if wall > 0:  # moving average over about ten chunks
            self.cpu_share += 0.1 * (min(cpu / wall, 1.0) - self.cpu_share)
        if self.run.finished:
            self.stop("")

    def handle(self, command: str, argument):
        """(kind, payload) for one command; kind is 'ok', or 'error' or 'busy' with a message as payload."""
        r = self.run
        try:
            if command == "hello":
                return "ok", _copy(r.theta_init)
            if command == "start" and not self.training and not r.finished:
                if not self.slots.acquire(block=False):
                    return "busy", (f"The server is already training {MAX_ACTIVE} runs, its limit. Pause another "
                                     "tab's run, or try again in a minute.")
                self.training, self.notice = True, ""
            elif command in ("pause", "close"):
                self.stop("")
            elif command == "step":
                self.stop("")
                r.train(max_steps=1)
            elif command == "hot":
                r.set_hot(**argument)
            elif command == "record":
                steps, thetas = r.trajectory.view()
                steps, checkpoints = records.checkpoint_arrays(steps, thetas, r.theta, r.step)
                return "ok", {"steps": steps, "checkpoints": checkpoints, "metrics": r.metrics_frame(),
                              "straying": r.straying_frame()}
            elif command == "snapshot":
                points = r.points_frame()
                return "ok", {
                    "config": r.config, "step": r.step, "status": self.status().status,
                    "message": self.status().message, "steps_per_second": r.steps_per_second,
                    "cpu_share": self.cpu_share,
                    "metrics": r.metrics_frame(), "points": grad_norm_points(points),
                    "curvature": curvature_points(points),
                    "straying": self.straying(),
                    "theta": _copy(r.theta),
                }
            return "ok", None
        except ValueError as exc:
            return "error", str(exc)
