"""Live training: each run trains in its own worker process, so the page never competes with it for the GIL.

The page's LiveRun sends commands (start, pause, step, hot changes, snapshot) over a pipe; the worker trains in
short chunks and answers between them. Every request is also a heartbeat: a worker that hears nothing for
IDLE_TIMEOUT seconds while training pauses itself (the tab was closed). A worker that has not trained for PARK_AFTER
seconds saves its run into this LiveRun's folder (core.train.state: safetensors and JSON) and gives its process
back; the page answers from the last snapshot, and the next command that needs the run (start, step, a hot change,
a record, a fresher snapshot) starts a new worker that resumes from the files, exactly where the run stopped.
A run gets a process only through core.train.trainers, which holds the server to MAX_PROCESSES of them: when all
are taken it parks an idle one, or the run waits in line (status "waiting") until one is free.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from core.model import records
from core.model.config import TrainConfig
from core.model.device import pick_device
from core.train import state, trainers
from core.train.worker import MAX_ACTIVE, Status, record_payload, serve

IDLE_TIMEOUT = 20.0  # seconds without a request before a training worker pauses itself
REDRAW_FAST, REDRAW_SLOW = 0.5, 1.0  # seconds between live redraws: normally, and while training is starved
PACES = (REDRAW_FAST, REDRAW_SLOW, 2.0, 4.0, 8.0)  # the redraw intervals a page may take (seconds)
DRAW_SHARE = 0.5  # of one core: what all sessions' live redraws may take together; the rest answers clicks
SLACK = 1.5  # a page redraws faster again only when the faster pace would use at most 1/SLACK of DRAW_SHARE
STARVED_BELOW, FED_ABOVE = 0.85, 0.95  # cpu_share thresholds (with hysteresis) between the two
PARK_AFTER = 40.0  # seconds without training before a worker saves its run and exits (an abandoned run: 20 + 40)
FRESH = 0.25  # seconds a status read from the worker stays good enough for touch() (a page run asks several times)

_slots = trainers.CONTEXT.BoundedSemaphore(MAX_ACTIVE)  # runs training at once, shared by the workers


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
    task: str = "classification"  # the data's: a regression's error columns hold the RMSE
    fit: pd.DataFrame | None = None  # a 1-D regression's points and prediction (probes.boundary.fit_grid), else None


def redraw_interval(cpu_share: float, current: float, draw_load: float = 0.0) -> float:
    """Seconds between live redraws, one of PACES: fast unless drawing starves the training of CPU (cpu_share, with
    hysteresis), and never so fast that the server's live redraws of every session together (draw_load: the CPU
    seconds of one redraw each) take more than DRAW_SHARE of a core, which would leave the clicks of a class waiting
    behind them. It moves up at once, and down only when the next lower pace has room to spare (SLACK)."""
    needed = draw_load / DRAW_SHARE
    if cpu_share < STARVED_BELOW or (cpu_share <= FED_ABOVE and current >= REDRAW_SLOW):
        needed = max(needed, REDRAW_SLOW)
    if current < needed or current not in PACES:
        return next((p for p in PACES if p >= needed), PACES[-1])
    lower = [p for p in PACES if p < current]
    if lower and lower[-1] >= SLACK * needed:
        return next(p for p in PACES if p >= SLACK * needed)
    return current


def _waiting(ahead: int) -> str:
    others = f" ({ahead} other run{'s' if ahead > 1 else ''} ahead of it)" if ahead else ""
    return (f"Waiting for a free trainer: this server trains {trainers.MAX_PROCESSES} runs at once. This run starts "
            f"as soon as one of them finishes{others}.")


class _Parked(Exception):
    """The worker saved its run into the park folder and exited."""


class LiveRun:
    """The page's handle on a run training in a worker process; safe to call from any script thread."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.device = pick_device(config.device)
        self._lock = threading.Lock()
        self._status = Status(0, config.steps, "ready", False, "")
        self._heard = 0.0  # time.monotonic() of the worker's last answer
        self._last: Snapshot | None = None
        self._slots = _slots
        self._park = Path(tempfile.mkdtemp(prefix="playground-run-"))  # where the worker leaves the run when idle
        self._parked = False
        self._process = None  # none yet while the run waits in line for one
        self._start_when_ready = False  # Train was pressed while waiting
        self.theta_init: torch.Tensor | None = None
        try:
            with self._lock:
                self._get_process(queue=False)
        except ValueError:  # the worker refused the config (e.g. Newton's size), or could not start
            self.close()
            raise

    def _get_process(self, queue: bool = True) -> bool:
        """Start a worker (resuming a parked run from its files); False while every trainer is taken (the run
        waits, with a status that says so; in line for one unless queue=False). The lock is held."""
        try:
            trainers.claim(self, queue)
        except trainers.Full as full:
            if self._process is None:
                message = _waiting(full.ahead) if queue else (
                    f"All {trainers.MAX_PROCESSES} trainers of this server are busy with other runs. Press Train, "
                    "and this run starts as soon as one is free.")
                self._status = Status(0, self.config.steps, "waiting", False, message)
            return False
        self._conn, child = trainers.CONTEXT.Pipe()
        self._process = trainers.CONTEXT.Process(target=serve, args=(
            child, self.config, _slots, IDLE_TIMEOUT, PARK_AFTER, self._park, self._parked), name="trainer",
            daemon=True)
        with trainers.hidden_main():
            self._process.start()
        child.close()
        theta_init = self._exchange("hello", None)
        if self._parked:
            (self._park / state.META).unlink(missing_ok=True)  # resumed: a later death is a death, not a park
            self._parked = False
        elif theta_init is None:
            raise ValueError("The training process could not start this run (out of memory?). Try a smaller model.")
        else:
            self.theta_init = torch.from_numpy(theta_init).to(self.device)
        if self._start_when_ready:
            self._start_when_ready = False
            self._exchange("start", None)
        return True

    @property
    def parked(self) -> bool:
        """Whether the run is in its files and no process holds it."""
        return self._parked

    @property
    def waiting(self) -> bool:
        """Whether the run waits for its first process."""
        return self._process is None

    @property
    def wants_start(self) -> bool:
        """Whether Train was pressed while the run waited: it starts training as soon as it has a process."""
        return self._start_when_ready

    # ---- the trainers' registry (core.train.trainers) -------------------------------------------------------------
    def idle(self) -> bool:
        return self._process is not None and not self._parked and not self._status.training

    def try_park(self) -> bool:
        """Save the run to files and end its worker now, to give the process to another run; False when busy."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._process is None or self._parked:
                return False
            try:  # the worker refuses while it trains; one that parked itself already answers with its end
                self._exchange("park", None)
            except _Parked:
                pass
            except ValueError:
                return False
            self._process.join(5)
            trainers.release(self)
            self._parked = (self._park / state.META).exists()  # not if it had died: then the run is 'failed'
            return True
        finally:
            self._lock.release()

    # ---- requests -------------------------------------------------------------------------------------
    def _ask(self, command: str, argument=None):
        """Send one command and wait for its answer. A run without a process (parked, or waiting for its first)
        answers from what it has, or gets a process; a dead worker becomes a 'failed' status, not a crash."""
        with self._lock:
            if self._process is not None and not self._parked:
                try:
                    return self._exchange(command, argument)
                except _Parked:
                    self._parked = True
            if command == "close" or (command == "hot" and self._process is None):
                return None  # nothing to end; a waiting run's worker will start with the new config
            if command == "ping" and self._process is None:  # waiting: try again (in line once Train was pressed)
                self._get_process(queue=self._start_when_ready)
                return None
            if command == "ping":
                return None  # parked: the status is the run's, no process needed
            if command == "snapshot" and self._last is not None and self._last.step == self._status.step:
                return None
            if command == "start" and self._process is None:
                self._start_when_ready = True
            if not self._get_process():
                if command == "start" or (command == "snapshot" and self._last is not None):
                    return None
                if command == "record" and self._parked:  # from the files, in this process
                    return record_payload(state.load(self._park))
                raise CapacityError(self._status.message if self._process is None else _waiting(0))
            if command == "start" and self._status.training:
                return None  # the start this run waited for has happened
            return self._exchange(command, argument)

    def _exchange(self, command: str, argument):
        """One request and its answer over the pipe (the lock is held). _Parked when the worker saved the run and
        left; a worker that died otherwise becomes a 'failed' status."""
        try:
            self._conn.send((command, argument))
            kind, status, payload = self._conn.recv()
        except (EOFError, OSError):
            self._process.join(5)
            trainers.release(self)
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
        self._status, self._heard = status, time.monotonic()
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
        """A heartbeat that returns the run's status without copying its history; a status heard less than FRESH
        seconds ago is returned as it is (the worker answers between training chunks: each question waits)."""
        if time.monotonic() - self._heard > FRESH:
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
            if self._process is not None:
                self._process.join(2)
                if self._process.is_alive():
                    self._process.kill()
            trainers.release(self)
            shutil.rmtree(self._park, ignore_errors=True)

    def __del__(self):
        process = getattr(self, "_process", None)
        if process is not None and process.is_alive():
            process.kill()
        with contextlib.suppress(Exception):  # at interpreter exit the registry may be gone already
            trainers.release(self)
        park = getattr(self, "_park", None)
        if park is not None:
            shutil.rmtree(park, ignore_errors=True)
