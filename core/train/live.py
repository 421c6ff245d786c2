"""Live training: each run trains in its own worker process, so the page never competes with it for the GIL.

The page's LiveRun sends commands (start, pause, step, hot changes, snapshot) over a pipe; the worker trains in
short chunks and answers between them. Every request is also a heartbeat: a worker that hears nothing for
IDLE_TIMEOUT seconds while training pauses itself (the tab was closed). A worker that has not trained for PARK_AFTER
seconds saves its run into this LiveRun's folder (core.train.state: safetensors and JSON) and gives its process
back; the page answers from the last snapshot, and the next command that needs the run (start, step, a hot change,
a record, a fresher snapshot) starts a new worker that resumes from the files, exactly where the run stopped.
A semaphore shared by all workers caps how many runs train at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import shutil
import sys
import tempfile
import threading
import types
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from core.model import records
from core.model.config import TrainConfig
from core.model.device import cpu_budget, pick_device
from core.train import state
from core.train.worker import MAX_ACTIVE, Status, serve

IDLE_TIMEOUT = 20.0  # seconds without a request before a training worker pauses itself
REDRAW_FAST, REDRAW_SLOW = 0.5, 1.0  # seconds between live redraws: normally, and while training is starved
STARVED_BELOW, FED_ABOVE = 0.85, 0.95  # cpu_share thresholds (with hysteresis) between the two
PARK_AFTER = 40.0  # seconds without training before a worker saves its run and exits (an abandoned run: 20 + 40)

_CTX = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
if _CTX.get_start_method() == "forkserver":
    # workers fork from a process that has imported torch and scikit-learn (the toy data sets: about 1 s per worker)
    _CTX.set_forkserver_preload(["core.train.worker", "sklearn.datasets"])
_slots = _CTX.BoundedSemaphore(MAX_ACTIVE)


class CapacityError(ValueError):
    """The server is already training MAX_ACTIVE runs."""


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
    points: pd.DataFrame  # step, grad_norm, average: thinned for drawing (summaries.grad_norm_points)
    curvature: pd.DataFrame  # eq. 8.10 terms per step, thinned (summaries.curvature_points); empty when off
    straying: pd.DataFrame
    line: pd.DataFrame  # J along θ_i → θ on both splits at line_step: the grid, then PAST_ENDS (column past_ends)
    line_step: int
    regions: pd.DataFrame | None  # decision regions on 2-D data (probes.boundary.decision_grid), else None
    points_2d: pd.DataFrame | None  # the training points drawn over the regions
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
    torch.set_num_threads(max(1, cpu_budget() // 2))
    if _CTX.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with _hidden_main():
            forkserver.ensure_running()


class _Parked(Exception):
    """The worker saved its run into the park folder and exited."""


class LiveRun:
    """The page's handle on a run training in a worker process; safe to call from any script thread."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.device = pick_device(config.device)
        self._lock = threading.Lock()
        self._status = Status(0, config.steps, "ready", False, "")
        self._last: Snapshot | None = None
        self._slots = _slots
        self._park = Path(tempfile.mkdtemp(prefix="playground-run-"))  # where the worker leaves the run when idle
        self._parked = False
        self._spawn(resume=False)
        theta_init = self._ask("hello")  # a ValueError when the worker refuses the config (e.g. Newton's size)
        if theta_init is None:
            raise ValueError("The training process could not start this run (out of memory?). Try a smaller model.")
        self.theta_init = torch.from_numpy(theta_init).to(self.device)

    def _spawn(self, resume: bool) -> None:
        self._conn, child = _CTX.Pipe()
        self._process = _CTX.Process(target=serve, args=(child, self.config, _slots, IDLE_TIMEOUT, PARK_AFTER,
                                                          self._park, resume), name="trainer", daemon=True)
        with _hidden_main():
            self._process.start()
        child.close()

    @property
    def parked(self) -> bool:
        """Whether the run is in its files and no process holds it."""
        return self._parked

    # ---- requests -------------------------------------------------------------------------------------
    def _ask(self, command: str, argument=None):
        """Send one command and wait for its answer; a parked run answers from its files or is resumed by a new
        worker; a dead worker becomes a 'failed' status, not a crash."""
        with self._lock:
            if not self._parked:
                try:
                    return self._exchange(command, argument)
                except _Parked:
                    self._parked = True
            if command in ("ping", "close") or (command == "snapshot" and self._last is not None
                                                and self._last.step == self._status.step):
                return None  # the status and the last snapshot are the run's: no process needed
            self._spawn(resume=True)
            self._parked = False
            self._exchange("hello", None)
            (self._park / state.META).unlink(missing_ok=True)  # resumed: a later death is a death, not a park
            return self._exchange(command, argument)

    def _exchange(self, command: str, argument):
        """One request and its answer over the pipe (the lock is held). _Parked when the worker saved the run and
        left; a worker that died otherwise becomes a 'failed' status."""
        try:
            self._conn.send((command, argument))
            kind, status, payload = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(5)
            if (self._park / state.META).exists():
                saved = state.summary(self._park)
                self._status = Status(saved["step"], self.config.steps, saved["status"], False, saved["message"])
                raise _Parked from None
            if self._status.training:  # it died holding a training slot: give the slot back
                with contextlib.suppress(ValueError):
                    self._slots.release()
            message = ("This run's worker process is gone (it crashed or ran out of memory). Its last picture "
                       "stays; press Reset to start again.")
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

    def snapshot(self, grid: tuple[float, float, int] | None = None) -> Snapshot:
        """Copy what the page draws, with the line on the alpha grid (lo, hi, n) (the run's own when None); also a
        heartbeat. While parked, or after the worker is gone, the last snapshot (with the run's status)."""
        payload = self._ask("snapshot", grid)
        if payload is None:
            if self._last is None:
                raise ValueError(self._status.message)
            return Snapshot(**{**self._last.__dict__, "status": self._status.status, "message": self._status.message})
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
        """End the worker process and delete the run's files."""
        try:
            self._ask("close")
        finally:
            self._process.join(2)
            if self._process.is_alive():
                self._process.kill()
            shutil.rmtree(self._park, ignore_errors=True)

    def __del__(self):
        process = getattr(self, "_process", None)
        if process is not None and process.is_alive():
            process.kill()
        park = getattr(self, "_park", None)
        if park is not None:
            shutil.rmtree(park, ignore_errors=True)
