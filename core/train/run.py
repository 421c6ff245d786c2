"""A training run: config, parameters, optimizer state, bounded history and trajectory, theta_init forever."""

from __future__ import annotations

import math
import time

import pandas as pd
import torch

from core.model import networks
from core.model.build import model_and_data
from core.model.config import HOT_FIELDS, TrainConfig
from core.model.device import pick_device
from core.model.optim import OPTIMIZERS, HyperParams, check_newton_size, clip_by_norm
from core.probes import curvature
from core.probes.gradient_noise import CHUNK_EXAMPLES
from core.probes.straying import straying
from core.train.store import POINTS_MAX, ROWS_MAX, ThinningLog, Trajectory

# grad_cosine, grad_rel_error: cos(g_B, g) and ‖g_B − g‖/‖g‖ of the row's step, its minibatch gradient g_B (before
# clipping) against the full training split's gradient g at the same θ (one extra full gradient per logged row,
# definitions §12). NaN for full-batch runs (batch_size 0 or >= N), whose g_B is g: cosine 1 and error 0 by definition.
NOISE_COLUMNS = ["grad_cosine", "grad_rel_error"]
METRIC_COLUMNS = ["step", "train_loss", "val_loss", "train_error", "val_error", "grad_norm", "param_norm",
                  "step_length", "lr", *NOISE_COLUMNS]
CURVATURE_COLUMNS = ["gTg", "gHg", "curvature_ratio", "lambda_max"]  # with config.curvature_monitor
POINT_COLUMNS = ["step", "grad_norm", "batch_loss", "gTg", "gHg", "curvature_ratio"]
LAMBDA_TOL, LAMBDA_MAX_ITERATIONS = 1e-3, 20  # warm-started Lanczos for lambda_max at each logged row


def auto_log_every(spec, n_eval: int, batch: int, steps: int) -> int:
    """Steps between full-split evaluations so that they cost about 5% of training, at least 20 per run.

    Deterministic (a cost model, not a clock): a step costs ~ 6 P batch flops plus a fixed overhead,
    an evaluation ~ 2 P n_eval flops plus two overheads; the overhead is ~ 4M flops' worth of time.
    """
    overhead = 4e6
    step_cost = 6 * spec.n_params * batch + overhead
    eval_cost = 2 * spec.n_params * n_eval + 2 * overhead
    every = math.ceil(20 * eval_cost / step_cost)
    return int(max(1, min(every, steps // 20)))


class Run:
    """One training run. Not thread-safe by itself: the live worker wraps it in a lock."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.device = pick_device(config.device)
        self.spec, self.data = model_and_data(config, self.device)
        if OPTIMIZERS[config.optimizer].needs_hessian:
            check_newton_size(self.spec.n_params)
        self.theta_init = networks.init_params(self.spec, config.init_scale, config.seed).to(self.device)
        self.theta = self.theta_init.clone()
        self._leaves = [p.detach().requires_grad_() for p in self.spec.split(self.theta)]  # views of theta
        self.opt_state = OPTIMIZERS[config.optimizer].init(self.theta)
        self.step = 0
        self.status, self.message = "ready", ""
        self.metrics = ThinningLog(ROWS_MAX)
        self.points = ThinningLog(POINTS_MAX)  # every step: step, grad_norm, batch_loss
        self.trajectory = Trajectory(self.spec.n_params, self.device)
        self.trajectory.add(0, self.theta)
        self.log_every = self.config.log_every or auto_log_every(
            self.spec, len(self.data.y_train) + len(self.data.y_val), config.batch_size or len(self.data.y_train),
            config.steps,
        )
        self._gen = torch.Generator().manual_seed(config.seed + 1)
        self._order, self._cursor = torch.empty(0, dtype=torch.long), 0
        self._last = {"grad_norm": None, "step_length": None, "terms": None, "before": None, "noise": None}
        self._lambda_vector = None  # the last top eigenvector: warm start of the next lambda_max
        self._curvature_seen = config.curvature_monitor
        self.train_seconds = 0.0
        self.metrics.offer(self._metric_row, force=True)

    # ---- state -----------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.step >= self.config.steps or self.status in ("diverged", "failed")

    def set_hot(self, **changes) -> None:
        """Change learning rate, momentum, damping, clipping, weight decay or step count mid-run."""
        bad = sorted(set(changes) - set(HOT_FIELDS))
        if bad:
            raise ValueError(f"{bad[0]} cannot change during a run; reset to apply it")
        self.config = self.config.replace(**changes)
        if self.status == "done" and self.step < self.config.steps:
            self.status = "paused"
        self._curvature_seen |= self.config.curvature_monitor

    # ---- training --------------------------------------------------------------------------------
    def _batch(self):
        x, y = self.data.x_train, self.data.y_train
        size = self.config.batch_size
        if size == 0 or size >= len(y):
            return x, y
        if self._cursor + size > len(self._order):
            self._order = torch.randperm(len(y), generator=self._gen).to(self.device)
            self._cursor = 0
        idx = self._order[self._cursor : self._cursor + size]
        self._cursor += size
        return x[idx], y[idx]

    def _hessian(self, xb, yb) -> torch.Tensor:
        return torch.func.hessian(lambda th: networks.loss_fn(self.spec, th, xb, yb))(self.theta.detach())

    def _one_step(self) -> bool:
        """One optimizer step; False (and theta untouched) when it would leave the finite numbers."""
        c, opt = self.config, OPTIMIZERS[self.config.optimizer]
        xb, yb = self._batch()
        loss = networks.batch_loss(self.spec, networks.forward(self.spec, self._leaves, xb), yb)
        if c.curvature_monitor:  # eq. 8.10 for this very step: g and H of this minibatch at this theta
            g, gHg = curvature.gradient_and_gHg(loss, self._leaves)
            loss = loss.detach()
        else:
            g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, self._leaves)])  # (P,)
        g_norm = torch.linalg.vector_norm(g)
        hess = self._hessian(xb, yb) if opt.needs_hessian else None
        noise = self._noise(g) if self._row_kept(self.step + 1) else None  # at this θ, before the update
        hp = HyperParams(c.lr, c.momentum, c.damping, c.weight_decay)
        with torch.no_grad():
            delta, state = opt.update(clip_by_norm(g, g_norm, c.clip_norm), self.opt_state, self.theta, hp, hess)
            new_theta = self.theta + delta
            # one sync: the sum is finite iff the loss, the gradient and the new parameters all are
            if not math.isfinite((loss + g_norm + torch.linalg.vector_norm(new_theta)).item()):
                self._diverge(loss.item(), g_norm.item())
                return False
            theta_before = self.theta.clone() if c.curvature_monitor and self._logs(self.step + 1) else None
            self.theta.copy_(new_theta)
        self.opt_state = state
        self.step += 1
        terms = self._terms(g, gHg) if c.curvature_monitor else None
        before = None if theta_before is None else (theta_before, xb, yb)
        self._last = {"grad_norm": g_norm.item(), "step_length": delta, "terms": terms, "before": before,
                      "noise": noise}
        self.points.offer(lambda: {"step": self.step, "grad_norm": self._last["grad_norm"], "batch_loss": loss.item(),
                                   **(terms or {})})
        return True

    def _terms(self, g, gHg) -> dict:
        gTg, gHg = (g @ g).item(), gHg.item()
        return {"gTg": gTg, "gHg": gHg, "curvature_ratio": curvature.step_ratio(gTg, gHg, self.config.lr)}

    def _logs(self, step: int) -> bool:
        """Whether the metrics row at this step will be computed (the step's update is that row's update)."""
        return step % self.log_every == 0 or step >= self.config.steps

    def _row_kept(self, step: int) -> bool:
        """Whether the metrics row at this step will be computed and kept (the log's thinning included)."""
        log = self.metrics
        return step >= self.config.steps or (step % self.log_every == 0 and log._offered % log.stride == 0)

    def _noise(self, g: torch.Tensor) -> tuple[float, float] | None:
        """(cos(g_B, g), ‖g_B − g‖/‖g‖) of the step's minibatch gradient g_B = g against the full training gradient at
        this θ, in float64; None for a full-batch run (NaN where a gradient is 0)."""
        n = len(self.data.y_train)
        if self.config.batch_size == 0 or self.config.batch_size >= n:
            return None
        full, gb = self._full_gradient().double(), g.detach().double()
        full_norm, gb_norm = torch.linalg.vector_norm(full).item(), torch.linalg.vector_norm(gb).item()
        if full_norm == 0 or gb_norm == 0:
            return math.nan, math.nan
        cosine = max(-1.0, min(1.0, (gb @ full).item() / (gb_norm * full_norm)))
        return cosine, torch.linalg.vector_norm(gb - full).item() / full_norm

    def _full_gradient(self) -> torch.Tensor:
        """∇J(θ) of the mean loss over the whole training split (P,): plain autograd, as the step's own gradient (no
        torch.func, whose first call costs a worker seconds), chunk by chunk, each chunk's mean weighted by its size."""
        x, y = self.data.x_train, self.data.y_train
        total = torch.zeros_like(self.theta)
        for s in range(0, len(y), CHUNK_EXAMPLES):
            xb, yb = x[s : s + CHUNK_EXAMPLES], y[s : s + CHUNK_EXAMPLES]
            loss = networks.batch_loss(self.spec, networks.forward(self.spec, self._leaves, xb), yb)
            parts = torch.autograd.grad(loss * (len(yb) / len(y)), self._leaves)
            total += torch.cat([t.reshape(-1) for t in parts])
        return total

    def _lambda_max(self, theta, xb, yb) -> float:
        """lambda_max of the minibatch loss's Hessian at theta: a few Lanczos steps, warm-started."""
        value, vector, _ = curvature.top_eigenvalue(lambda th: networks.loss_fn(self.spec, th, xb, yb), theta,
                                                    tol=LAMBDA_TOL, max_iterations=LAMBDA_MAX_ITERATIONS,
                                                    v0=self._lambda_vector)
        self._lambda_vector = vector
        return value

    def _diverge(self, loss: float, g_norm: float) -> None:
        self.status = "diverged"
        self.message = (
            f"Training diverged at step {self.step + 1}: the minibatch loss was {loss:.3g} and the gradient norm "
            f"{g_norm:.3g}, so the step would leave the finite numbers. The run stopped at step {self.step} "
            "with its last finite parameters. Lower the learning rate (or turn on gradient clipping) and reset."
        )

    def train(self, max_steps: int | None = None, max_seconds: float | None = None) -> int:
        """Take steps until the run ends, max_steps are done or max_seconds pass; returns the steps taken."""
        start, done = time.perf_counter(), 0
        if self.finished:
            return 0
        self.status = "running"
        try:
            while not self.finished and (max_steps is None or done < max_steps):
                if not self._one_step():
                    break
                done += 1
                self._record()
                if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                    break
        except (ValueError, RuntimeError) as exc:  # e.g. a singular Newton system, out of memory
            self.status, self.message = "failed", f"Training stopped at step {self.step}: {exc}"
        self.train_seconds += time.perf_counter() - start
        if self.status == "running":
            self.status = "done" if self.finished else "paused"
        if self.finished:
            self._record(force=True)
        return done

    def _record(self, force: bool = False) -> None:
        if force or self.trajectory.wants(self.step):
            self.trajectory.add(self.step, self.theta)
        if force or self.step % self.log_every == 0:
            self.metrics.offer(self._metric_row, force=force)

    def _metric_row(self) -> dict:
        train_loss, train_error = networks.evaluate(self.spec, self.theta, self.data.x_train, self.data.y_train)
        val_loss, val_error = networks.evaluate(self.spec, self.theta, self.data.x_val, self.data.y_val)
        length, terms, before = self._last["step_length"], self._last["terms"], self._last["before"]
        noise = self._last.get("noise") or (None, None)  # a run saved before these columns has no "noise"
        return {
            "step": self.step, "train_loss": train_loss, "val_loss": val_loss, "train_error": train_error,
            "val_error": val_error, "grad_norm": self._last["grad_norm"],
            "param_norm": torch.linalg.vector_norm(self.theta).item(),
            "step_length": None if length is None else torch.linalg.vector_norm(length).item(),
            "lr": self.config.lr, "grad_cosine": noise[0], "grad_rel_error": noise[1],
            **(terms or {}), "lambda_max": None if before is None else self._lambda_max(*before),
        }

    # ---- read-outs ---------------------------------------------------------------------------------
    def metrics_frame(self) -> pd.DataFrame:
        """The logged rows; the curvature columns are there once the monitor has been on in this run."""
        columns = METRIC_COLUMNS + (CURVATURE_COLUMNS if self._curvature_seen else [])
        return pd.DataFrame(self.metrics.rows, columns=columns).astype({c: float for c in columns[5:]})

    def points_frame(self) -> pd.DataFrame:
        """Every step (thinned when long): step, grad_norm, batch_loss, and the eq. 8.10 terms (NaN when off)."""
        return pd.DataFrame(self.points.rows, columns=POINT_COLUMNS).astype({c: float for c in POINT_COLUMNS[1:]})

    def straying_frame(self, dtype: torch.dtype = torch.float64) -> pd.DataFrame:
        """Straying of every stored snapshot, plus the current theta, against the axis theta_init -> theta now."""
        steps, thetas = self.trajectory.view()
        if steps[-1] != self.step:
            steps, thetas = steps + [self.step], torch.cat([thetas, self.theta[None]])
        return straying(steps, thetas, self.theta_init, self.theta, dtype=dtype)

    @property
    def steps_per_second(self) -> float:
        return self.step / self.train_seconds if self.train_seconds > 0 else math.nan
