"""Racing the project's optimizers (core/optim.py) on a 2-D surface from one start, and random restarts.

race() returns one row per step per optimizer (optimizer, step, x, y, f), starting at step 0. A path that leaves
the finite numbers, goes more than one window width or height outside the window, or meets an undefined Newton
step stops there: its rows so far are kept and the reason is in `frame.attrs["stopped"][optimizer]`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from core.model.optim import OPTIMIZERS, HyperParams, clip_by_norm
from core.toys.surfaces import Surface

COLUMNS = ["optimizer", "step", "x", "y", "f"]
MAX_STEPS = 10_000
MAX_RESTARTS = 500
DEFAULT_MOMENTUM = 0.9  # heavy ball μ, Nesterov μ, Adam β₁
DEFAULT_LR = 0.01


class Runner(NamedTuple):
    name: str  # the label in the race (unique)
    kind: str  # a key of OPTIMIZERS
    hp: HyperParams
    clip_norm: float | None = None  # None: the race's clip_norm


def default_hp(surface: Surface, kind: str) -> HyperParams:
    """The settings a runner of this kind starts with on this surface: Newton's textbook step (lr 1, no damping)."""
    if kind not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{kind}'; choose one of {', '.join(OPTIMIZERS)}.")
    if OPTIMIZERS[kind].needs_hessian:
        return HyperParams(lr=1.0, damping=0.0)
    return HyperParams(lr=surface.lrs.get(kind, DEFAULT_LR), momentum=0.0 if kind == "sgd" else DEFAULT_MOMENTUM)


def runner(surface: Surface, kind: str, name: str | None = None, clip_norm: float | None = None,
           **settings) -> Runner:
    """A runner with the surface's defaults for `kind`, any of lr, momentum, damping, weight_decay overridden."""
    return Runner(name or kind, kind, default_hp(surface, kind)._replace(**settings), clip_norm)


def check_runner(r: Runner) -> None:
    """ValueError naming the first bad setting of a runner."""
    if r.kind not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{r.kind}' for '{r.name}'; choose one of {', '.join(OPTIMIZERS)}.")
    hp = r.hp
    if not (math.isfinite(hp.lr) and hp.lr > 0):
        raise ValueError(f"the learning rate of '{r.name}' must be a positive number, got {hp.lr:g}.")
    if not 0 <= hp.momentum < 1:
        raise ValueError(f"the momentum of '{r.name}' must be in [0, 1), got {hp.momentum:g}.")
    if not (math.isfinite(hp.damping) and hp.damping >= 0):
        raise ValueError(f"the damping of '{r.name}' must be 0 or more, got {hp.damping:g}.")
    if r.clip_norm is not None and not (math.isfinite(r.clip_norm) and r.clip_norm >= 0):
        raise ValueError(f"the clipping norm of '{r.name}' must be 0 (off) or more, got {r.clip_norm:g}.")


def check_start(start) -> tuple[float, float]:
    """The start as two finite floats."""
    try:
        x, y = (float(v) for v in start)
    except (TypeError, ValueError):
        raise ValueError(f"the start must be two numbers x, y, got {start!r}.") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"the start must be two finite numbers, got ({x:g}, {y:g}).")
    return x, y


def _outside(surface: Surface, p: torch.Tensor) -> bool:
    """More than one window width (height) beyond the window's edge."""
    x0, x1, y0, y1 = surface.window
    w, h = x1 - x0, y1 - y0
    x, y = float(p[0]), float(p[1])
    return not (x0 - w <= x <= x1 + w and y0 - h <= y <= y1 + h)


def path(surface: Surface, r: Runner, start, steps: int, noise: float = 0.0, seed: int = 0,
         clip_norm: float = 0.0) -> tuple[np.ndarray, str | None]:
    """(K, 2) points θ_0..θ_{K-1} of one runner (K ≤ steps + 1) and why it stopped early (None if it did not).

    The gradient used at each step is the analytic one plus N(0, noise² I) drawn from `seed` (every runner of a
    race sees the same draws), then clipped to clip_norm (0 = off), as a minibatch step would be.
    """
    opt, clip = OPTIMIZERS[r.kind], clip_norm if r.clip_norm is None else r.clip_norm
    theta = torch.tensor(start, dtype=torch.float64)
    state, gen = opt.init(theta), torch.Generator().manual_seed(int(seed))
    points, reason = [theta], None
    for t in range(steps):
        g = surface.grad(theta)
        if noise:
            g = g + noise * torch.randn(2, generator=gen, dtype=torch.float64)
        g = clip_by_norm(g, g.norm(), clip)
        try:
            delta, state = opt.update(g, state, theta, r.hp, surface.hessian(theta) if opt.needs_hessian else None)
        except ValueError as exc:
            reason = f"stopped after step {t}: {exc}"
            break
        theta = theta + delta
        if not torch.isfinite(theta).all():
            reason = f"left the finite numbers at step {t + 1}"
            break
        points.append(theta)
        if _outside(surface, theta):
            reason = f"left the map at step {t + 1}, at ({float(theta[0]):.3g}, {float(theta[1]):.3g})"
            break
    return torch.stack(points).numpy(), reason


def _values(surface: Surface, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """f at the points, cut before the first non-finite value; (points, f, cut)."""
    f = surface.f(torch.from_numpy(points)).numpy()
    bad = ~np.isfinite(f)
    if bad.any():
        k = int(bad.argmax())
        return points[:k], f[:k], True
    return points, f, False


def race(surface: Surface, runners, start, steps: int, noise: float = 0.0, seed: int = 0,
         clip_norm: float = 0.0) -> pd.DataFrame:
    """optimizer, step, x, y, f for every runner from one start; attrs["stopped"] maps early stops to reasons."""
    start = check_start(start)
    if not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"the number of steps must be from 1 to {MAX_STEPS:,}, got {steps}.")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"the gradient noise must be 0 or more, got {noise:g}.")
    if not (math.isfinite(clip_norm) and clip_norm >= 0):
        raise ValueError(f"the clipping norm must be 0 (off) or more, got {clip_norm:g}.")
    runners = list(runners)
    if not runners:
        raise ValueError("pick at least one optimizer to race.")
    names = [r.name for r in runners]
    if len(set(names)) != len(names):
        raise ValueError(f"every optimizer in a race needs its own name, got {', '.join(names)}.")
    parts, stopped = [], {}
    for r in runners:
        check_runner(r)
        points, reason = path(surface, r, start, int(steps), noise, seed, clip_norm)
        points, f, cut = _values(surface, points)
        if cut:
            reason = f"left the finite numbers at step {len(points)}"
        if reason:
            stopped[r.name] = reason
        parts.append(pd.DataFrame({"optimizer": r.name, "step": np.arange(len(points)), "x": points[:, 0],
                                   "y": points[:, 1], "f": f}))
    frame = pd.concat(parts, ignore_index=True)[COLUMNS]
    frame.attrs["stopped"] = stopped
    return frame


def at_step(frame: pd.DataFrame, step: int) -> pd.DataFrame:
    """Each optimizer's row at `step`, or its last row when it stopped before."""
    upto = frame[frame["step"] <= step]
    return upto.groupby("optimizer", sort=False).tail(1).reset_index(drop=True)


def random_starts(surface: Surface, n: int, seed: int = 0) -> np.ndarray:
    """(n, 2) starts uniform over the window."""
    x0, x1, y0, y1 = surface.window
    u = np.random.default_rng(seed).random((n, 2))
    return np.column_stack([x0 + (x1 - x0) * u[:, 0], y0 + (y1 - y0) * u[:, 1]])


def restarts(surface: Surface, r: Runner, n: int, steps: int, seed: int = 0) -> pd.DataFrame:
    """One row per random start: start_x, start_y, x, y, f at the end, steps taken, stopped (reason or ''), and
    end: the known minimum it reached ("(3, 2)") or "elsewhere"."""
    if not 1 <= int(n) <= MAX_RESTARTS:
        raise ValueError(f"the number of restarts must be from 1 to {MAX_RESTARTS}, got {n}.")
    if not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"the number of steps must be from 1 to {MAX_STEPS:,}, got {steps}.")
    check_runner(r)
    rows = []
    for sx, sy in random_starts(surface, int(n), seed):
        points, reason = path(surface, r, (sx, sy), int(steps))
        points, f, cut = _values(surface, points)
        if cut or len(points) == 0:
            reason = reason or "left the finite numbers"
        x, y, fx = (points[-1, 0], points[-1, 1], f[-1]) if len(points) else (np.nan, np.nan, np.nan)
        rows.append({"start_x": sx, "start_y": sy, "x": x, "y": y, "f": fx, "steps": len(points) - 1,
                     "stopped": reason or ""})
    frame = pd.DataFrame(rows)
    labels = [f"({x:.4g}, {y:.4g})" for x, y in surface.minima] + ["elsewhere"]
    frame["end"] = [labels[i] for i in nearest_minimum(surface, frame)]
    return frame


def nearest_minimum(surface: Surface, ends: pd.DataFrame, tol: float = 1e-2) -> pd.Series:
    """For each end point, the index of the known minimum within `tol` of it, or -1."""
    if not surface.minima:
        return pd.Series(-1, index=ends.index)
    m = np.asarray(surface.minima)  # (M, 2)
    d = np.hypot(ends["x"].to_numpy()[:, None] - m[:, 0], ends["y"].to_numpy()[:, None] - m[:, 1])  # (N, M)
    best = np.nan_to_num(d, nan=np.inf).argmin(1)
    ok = np.nan_to_num(d, nan=np.inf).min(1) <= tol
    return pd.Series(np.where(ok, best, -1), index=ends.index)
