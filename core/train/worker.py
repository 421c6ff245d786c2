"""One live run inside a trainer process (core.train.host): its Run, its training flag, and the answers to the
page's commands, with the summaries the page draws (core.train.summaries): the page asks for a snapshot and draws
it, and never rebuilds what the trainer has (data, curves, regions)."""

from __future__ import annotations

import time
from typing import NamedTuple

import pandas as pd
import torch

from core.model import records
from core.probes.boundary import decision_grid, draws_fit, fit_grid, fit_points, points_frame
from core.probes.interpolation import PAST_ENDS, alpha_grid, interpolate
from core.train.run import Run
from core.train.summaries import curvature_points, grad_norm_points

STRAYING_EVERY = 1.0  # seconds between recomputations of the straying plot while training (a K x P pass)
VIEW_SHARE = 0.1  # while training, the line, the regions and the fit are recomputed at most this share of the time


class Status(NamedTuple):
    step: int
    steps: int
    status: str  # ready, running, paused, done, diverged, failed
    training: bool
    message: str
    cpu_share: float = 1.0  # share of wall time the training thread got on a CPU lately (1 = not starved)


def record_payload(run: Run) -> dict:
    """What records.from_arrays needs to keep a run: a few checkpoints, the metrics and the straying frame."""
    steps, thetas = run.trajectory.view()
    steps, checkpoints = records.checkpoint_arrays(steps, thetas, run.theta, run.step)
    return {"steps": steps, "checkpoints": checkpoints, "metrics": run.metrics_frame(),
            "straying": run.straying_frame()}


def _copy(theta: torch.Tensor):
    """A plain numpy copy: torch's pickler would share a tensor's memory with the page instead of copying it."""
    return theta.detach().cpu().numpy().copy()


class _View(NamedTuple):
    key: object
    step: int
    frame: pd.DataFrame
    at: float
    took: float


class RunWorker:
    """The run and its training flag inside a trainer process."""

    def __init__(self, run: Run):
        self.run = run
        self.training, self.notice = False, ""
        self.cpu_share = 1.0  # of the trainer process's wall time, lately (set by the host)
        self.served = 0.0  # seconds of training since the last start (the host's scheduler reads it)
        self.served_at = 0.0  # time.monotonic() of its last chunk, or of its start
        self._straying, self._straying_at = None, 0.0
        self._views: dict[str, _View] = {}
        data = run.data
        planar = data.is_2d and data.task == "classification"  # regions: classes over the plane
        self.points_2d = points_frame(data.x_train, data.y_train) if planar else None
        self.points_1d = fit_points(data.x_train, data.y_train) if draws_fit(data) else None

    def view(self, name: str, key, make) -> tuple[pd.DataFrame, int]:
        """(frame, step it was made at): make() again when the key or the step changed, but while training at most
        VIEW_SHARE of the time (a view costs full passes over the data)."""
        old, now = self._views.get(name), time.monotonic()
        if old is not None and old.key == key and (old.step == self.run.step or (
                self.training and now - old.at < old.took / VIEW_SHARE)):
            return old.frame, old.step
        frame = make()
        self._views[name] = _View(key, self.run.step, frame, now, time.monotonic() - now)
        return frame, self.run.step

    def line(self, grid: tuple[float, float, int]) -> tuple[pd.DataFrame, int]:
        """J along θ_i → θ now on the alpha grid (lo, hi, n) and just past its ends (PAST_ENDS, stacked after it
        with `past_ends` True), both splits (core.probes.interpolation)."""
        r = self.run

        def make() -> pd.DataFrame:
            line = interpolate(r.spec, r.theta_init, r.theta, r.data, alpha_grid(*grid)).assign(past_ends=False)
            ends = interpolate(r.spec, r.theta_init, r.theta, r.data, PAST_ENDS).assign(past_ends=True)
            return pd.concat([line, ends], ignore_index=True)

        return self.view("line", tuple(grid), make)

    def regions(self) -> pd.DataFrame | None:
        """The decision regions on 2-D data (None otherwise)."""
        r = self.run
        if self.points_2d is None:
            return None
        return self.view("regions", None, lambda: decision_grid(r.spec, r.theta, r.data.x_train))[0]

    def fit(self) -> pd.DataFrame | None:
        """A 1-D regression's training points and the prediction on a grid over them (None for other data)."""
        r = self.run
        if self.points_1d is None:
            return None
        line = self.view("fit", None, lambda: fit_grid(r.spec, r.theta, r.data.x_train))[0]
        return pd.concat([self.points_1d, line], ignore_index=True)

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
        self.training = False
        self.notice = notice or self.notice

    def train_chunk(self, seconds: float) -> float:
        """Train for about `seconds`; returns the wall time it took."""
        wall = time.perf_counter()
        self.run.train(max_seconds=seconds)
        wall = time.perf_counter() - wall
        self.served += wall
        self.served_at = time.monotonic()
        if self.run.finished:
            self.stop("")
        return wall

    def footprint(self) -> int:
        """Bytes this run holds in tensors (data, parameters, trajectory, optimizer state), plus a fixed 2 MB for the
        rest: what the trainer's memory budget counts."""
        r = self.run
        tensors = [r.theta, r.theta_init, r.trajectory.thetas, r.data.x_train, r.data.y_train, r.data.x_val,
                   r.data.y_val, *(v for v in r.opt_state if isinstance(v, torch.Tensor))]
        return 2**21 + sum(t.numel() * t.element_size() for t in tensors)

    def remaining(self) -> float:
        """Seconds of training this run still needs, from its pace so far (a run without one: a second per 1,000
        steps)."""
        r = self.run
        pace = r.steps_per_second if r.step and r.train_seconds > 0 else 1000.0
        return max(0, r.config.steps - r.step) / max(pace, 1e-9)

    def handle(self, command: str, argument):
        """(kind, payload) for one command; kind is 'ok', or 'error' or 'busy' with a message as payload."""
        r = self.run
        try:
            if command == "hello":
                return "ok", _copy(r.theta_init)
            if command == "start" and not self.training and not r.finished:
                self.training, self.notice = True, ""
                self.served, self.served_at = 0.0, time.monotonic()
            elif command in ("pause", "close"):
                self.stop("")
            elif command == "step":
                self.stop("")
                r.train(max_steps=1)
            elif command == "hot":
                r.set_hot(**argument)
            elif command == "record":
                return "ok", record_payload(r)
            elif command == "snapshot":
                points = r.points_frame()
                line, line_step = self.line(argument or (r.config.interp_min, r.config.interp_max,
                                                         r.config.interp_points))
                return "ok", {
                    "config": r.config, "step": r.step, "status": self.status().status,
                    "message": self.status().message, "steps_per_second": r.steps_per_second,
                    "cpu_share": self.cpu_share,
                    "metrics": r.metrics_frame(), "points": grad_norm_points(points),
                    "curvature": curvature_points(points),
                    "straying": self.straying(),
                    "theta": _copy(r.theta),
                    "line": line, "line_step": line_step, "regions": self.regions(), "points_2d": self.points_2d,
                    "task": r.data.task, "fit": self.fit(),
                }
            return "ok", None
        except ValueError as exc:
            return "error", str(exc)
