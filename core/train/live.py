"""Live training: each session's run trains in one of the server's trainer processes (core.train.pool), so the
page never competes with it for the GIL, and a few processes serve a whole room.

A LiveRun is the one owner of its run: every event (a click, a hot change, the heartbeat, a snapshot, a trainer that
died) goes through its lock, one at a time, as a request to the trainer that holds the run. The run's life, as the
page sees it (Status.status): ready (step 0), waiting (no trainer has room yet), running, paused, done, diverged,
failed. Parking is the trainer's affair: a run idle for a while is saved to its folder and dropped from memory, and
the next request takes it up again from there, exactly where it stopped. When a trainer dies (kill -9, out of
memory), only its runs notice: each owner's next request starts another trainer, which takes the run up from its
last save (at most core.train.host.CHECKPOINT_EVERY seconds of training old), and the page says how many steps were
lost; a run that was training trains on.
"""

from __future__ import annotations

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
from core.train import state
from core.train.host import BUSY
from core.train.pool import Pool, TrainerGone, shared
from core.train.worker import Status, record_payload

REDRAW_FAST, REDRAW_SLOW = 0.5, 1.0  # seconds between live redraws: normally, and while training is starved
PACES = (REDRAW_FAST, REDRAW_SLOW, 2.0, 4.0, 8.0)  # the redraw intervals a page may take (seconds)
DRAW_SHARE = 0.5  # of one core: what all sessions' live redraws may take together; the rest answers clicks
SLACK = 1.5  # a page redraws faster again only when the faster pace would use at most 1/SLACK of DRAW_SHARE
STARVED_BELOW, FED_ABOVE = 0.85, 0.95  # cpu_share thresholds (with hysteresis) between the two
FRESH = 0.25  # seconds a status read from the trainer stays good enough for touch() (a page run asks several times)
ENDED = ("done", "diverged", "failed")
PASSIVE = ("ping", "snapshot", "record", "hot")  # requests that are no click: a take-up keeps the run training


class CapacityError(ValueError):
    """No trainer has room for this run now (the memory budget is full of training runs): it waits."""


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



class LiveRun:
    """The page's handle on a run in a trainer; safe to call from any script thread (one event at a time)."""

    def __init__(self, config: TrainConfig, pool: Pool | None = None):
        self.config = config
        self.device = pick_device(config.device)
        self._pool = pool or shared()
        self._folder = Path(tempfile.mkdtemp(prefix="playground-run-"))  # the run's saves, for any trainer
        self._key = str(self._folder)
        self._lock = threading.Lock()
        self._status = Status(0, config.steps, "ready", False, "")
        self._heard = 0.0  # time.monotonic() of the trainer's last answer
        self._last: Snapshot | None = None
        self._opened = False  # a trainer has made the run (and saved its step 0)
        self._start_owed = False  # Train was pressed and the run has not started yet (it waits for room)
        self._notice = ""  # what taking the run up after a dead trainer lost; shown until the next click
        self._taking_up: tuple[int, bool] | None = None  # (step, training) last heard before its trainer died
        self.theta_init: torch.Tensor | None = None
        try:
            with self._lock:
                self._open()
        except ValueError:  # the trainer refused the config (e.g. Newton's size)
            self.close()
            raise

    # ---- talking to the trainer (the lock is held) ------------------------------------------------------------
    def _request(self, command: str, argument=None):
        """(kind, status, payload) of one request. A trainer that died is replaced: the request goes to another
        trainer, which takes the run up from its last save, and the first answer from there finishes the take-up."""
        for _ in range(4):
            try:
                kind, status, payload = self._pool.call(self._key, command, argument)
            except TrainerGone as gone:
                if not gone.clean and self._opened and self._taking_up is None:
                    self._taking_up = (self._status.step, self._status.training)
                continue
            if status is not None:  # a trainer's answer for a run it could not load knows no step count
                status = status if status.steps else status._replace(steps=self.config.steps)
                self._status, self._heard = status, time.monotonic()
            if self._taking_up is not None and kind != BUSY:
                self._took_up(command, kind, status)
            return kind, status, payload
        self._status = Status(self._status.step, self.config.steps, "failed", False,
                              "The trainers of this server keep failing (out of memory?); press Reset to try again.")
        return "error", self._status, self._status.message

    def _took_up(self, command: str, kind: str, status: Status | None) -> None:
        """The first answer after the run's trainer died: say what was lost, and train on if the run was training
        (unless this request was a click, which says itself what the run should do)."""
        before, was_training = self._taking_up
        self._taking_up = None
        if kind != "ok" or status is None:  # its saves are damaged: the answer's message says so
            return
        lost = max(0, before - status.step)
        self._notice = (f"This run's trainer process stopped (killed, or out of memory). The run went on from its "
                        f"last save at step {status.step:,}: " + (f"{lost:,} steps were lost." if lost else
                                                                  "nothing was lost."))
        if was_training and command in PASSIVE and not status.training and status.status not in ENDED:
            self._request("start")

    def _open(self) -> bool:
        """Have a trainer make the run at step 0; False while none has room (status 'waiting')."""
        kind, status, payload = self._request("open", self.config)
        if kind == BUSY:
            self._status = Status(0, self.config.steps, "waiting", False, payload)
            return False
        if kind != "ok":
            raise ValueError(payload)
        self._opened = True
        self.theta_init = torch.tensor(payload, device=self.device)  # a copy: Ray hands read-only arrays
        if self._start_owed and self._request("start")[0] == "ok":
            self._start_owed = False
        return True

    def _ask(self, command: str, argument=None, click: bool = False):
        """One request for the run; None when it waits for room. A click clears the last take-up notice."""
        with self._lock:
            if click:
                self._notice = ""
                if command in ("start", "pause", "step"):
                    self._start_owed = command == "start"
            if not self._opened:
                if command == "close":
                    return None
                if not self._open():
                    if command in ("start", "ping", "hot"):  # kept: Train and hot changes apply once it has room
                        return None
                    raise CapacityError(self._status.message)
            kind, status, payload = self._request(command, argument)
            if command == "start" and kind == "ok":
                self._start_owed = False
            if kind == BUSY:  # parked, and no trainer has room to take it up
                if command == "record":  # from its files, in this process
                    return record_payload(state.load(self._folder))
                if command in ("snapshot", "ping", "start", "hot") and (command != "snapshot" or self._last):
                    return None
                raise CapacityError(payload)
            if kind != "ok":
                raise ValueError(payload)
            return payload

    # ---- the run's status --------------------------------------------------------------------------------------
    @property
    def status(self) -> Status:
        """The status as last heard, with the take-up notice in place of the message while there is one."""
        s = self._status
        return s._replace(message=self._notice) if self._notice else s

    @property
    def waiting(self) -> bool:
        """Whether the run waits for a trainer with room to make it."""
        return not self._opened

    @property
    def wants_start(self) -> bool:
        """Whether Train was pressed and the run has not started yet (it starts once a trainer has room)."""
        return self._start_owed

    def touch(self) -> Status:
        """A heartbeat that returns the run's status without copying its history; a status heard less than FRESH
        seconds ago is returned as it is (the trainer answers between training chunks). A run that waits for room
        tries again, and starts if Train was pressed."""
        if time.monotonic() - self._heard > FRESH:
            try:
                self._ask("start" if self._start_owed else "ping")
            except ValueError:  # e.g. its saves are damaged: the status says so ('failed', with the sentence)
                pass
        return self.status

    @property
    def training(self) -> bool:
        return self.touch().training

    # ---- clicks -------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Train in the background until the run ends, pause() is called, or nobody watches."""
        self._ask("start", click=True)

    def pause(self) -> None:
        self._ask("pause", click=True)

    def step_once(self) -> None:
        """One optimizer step while paused."""
        self._ask("step", click=True)

    def set_hot(self, **changes) -> None:
        """Apply learning-rate-like changes; the next chunk uses them."""
        self._ask("hot", changes, click=True)
        self.config = self.config.replace(**changes)

    # ---- what the page draws ------------------------------------------------------------------------------------
    def snapshot(self, grid: tuple[float, float, int] | None = None) -> Snapshot:
        """Copy what the page draws, with the line on the alpha grid (lo, hi, n) (the run's own when None); also a
        heartbeat. While no trainer has room for the run, the last snapshot (with the run's status)."""
        payload = self._ask("snapshot", grid)
        if payload is None:
            if self._last is None:
                raise CapacityError(self.status.message)
            s = self.status
            return Snapshot(**{**self._last.__dict__, "status": s.status, "message": s.message})
        payload["theta"] = torch.tensor(payload["theta"], device=self.device)
        if self._notice:
            payload["message"] = self._notice
        self._last = Snapshot(theta_init=self.theta_init, **payload)
        return self._last

    def record(self, name: str):
        """A RunRecord of the run now (a few checkpoints, metrics, straying), to keep after the run is closed."""
        payload = self._ask("record")
        if payload is None:
            raise ValueError(self.status.message)
        return records.from_arrays(name, self.config, self._status.status, **payload)

    def close(self) -> None:
        """Take the run off its trainer and delete its files."""
        try:
            with self._lock:
                if self._opened:
                    try:
                        self._pool.call(self._key, "close", timeout=30)
                    except (TrainerGone, ValueError):
                        pass
                self._opened = False
                self._status = self._status._replace(training=False)
        finally:
            self._pool.forget(self._key)
            shutil.rmtree(self._folder, ignore_errors=True)

    def __del__(self):
        pool, folder = getattr(self, "_pool", None), getattr(self, "_folder", None)
        if pool is not None and getattr(self, "_opened", False):
            pool.discard(self._key)  # closed by the pool's next request (no pipe work inside a collection)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
