"""A finished (or paused) run kept for later study: its config, a few checkpoints, its metrics and straying."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

MAX_CHECKPOINTS = 17  # theta_init, theta now and up to 15 in between, evenly spread over the stored trajectory


@dataclass(frozen=True)
class RunRecord:
    """What the Interpolation and Straying pages need from a run, without its worker process."""

    name: str
    config: object  # TrainConfig
    status: str
    steps: tuple[int, ...]  # checkpoint steps, ascending; the first is 0 and the last is the run's step
    checkpoints: torch.Tensor  # (K, P), float32, on the CPU
    metrics: pd.DataFrame
    straying: pd.DataFrame

    @property
    def theta_init(self) -> torch.Tensor:
        return self.checkpoints[0]

    @property
    def theta_final(self) -> torch.Tensor:
        return self.checkpoints[-1]

    @property
    def step(self) -> int:
        return self.steps[-1]

    def checkpoint(self, step: int) -> torch.Tensor:
        if step not in self.steps:
            raise ValueError(f"{self.name} has no checkpoint at step {step}; it has {list(self.steps)}")
        return self.checkpoints[self.steps.index(step)]

    def final_value(self, column: str) -> float:
        return float(self.metrics[column].iloc[-1]) if len(self.metrics) else float("nan")


def pick_checkpoints(steps: list[int], limit: int = MAX_CHECKPOINTS) -> list[int]:
    """Indices of at most `limit` evenly spread entries of steps, always the first and the last."""
    if len(steps) <= limit:
        return list(range(len(steps)))
    return sorted(set(np.linspace(0, len(steps) - 1, limit).round().astype(int).tolist()))


def checkpoint_arrays(steps: list[int], thetas: torch.Tensor, theta_now: torch.Tensor, step_now: int):
    """(steps, numpy (K, P)) from a stored trajectory plus the current parameters, thinned to MAX_CHECKPOINTS."""
    if not steps or steps[-1] != step_now:
        steps, thetas = steps + [step_now], torch.cat([thetas, theta_now[None]])
    keep = pick_checkpoints(steps)
    picked = thetas[keep].detach().to("cpu", torch.float32).numpy().copy()
    return [steps[i] for i in keep], picked


def from_arrays(name: str, config, status: str, steps, checkpoints, metrics: pd.DataFrame,
                straying: pd.DataFrame) -> RunRecord:
    return RunRecord(name=name, config=config, status=status, steps=tuple(int(s) for s in steps),
                     checkpoints=torch.as_tensor(np.asarray(checkpoints, dtype=np.float32)), metrics=metrics,
                     straying=straying)


def from_run(run, name: str) -> RunRecord:
    """The record of an in-process core.train.run.Run (the CLI and the presets)."""
    steps, thetas = run.trajectory.view()
    steps, picked = checkpoint_arrays(steps, thetas, run.theta, run.step)
    return from_arrays(name, run.config, run.status, steps, picked, run.metrics_frame(), run.straying_frame())


def network_label(config, short: bool = False) -> str:
    """'relu [256, 256]', 'cnn [8, 16]', 'lstm 32', or 'logistic' (short) / 'logistic regression'."""
    model = getattr(config, "model", "mlp")
    if model == "cnn":
        return f"cnn {list(config.channels)}"
    if model != "mlp":
        return f"{model} {config.hidden[0] if config.hidden else ''}".strip()
    if not config.hidden:
        return "logistic" if short else "logistic regression"
    return f"{config.activation} {list(config.hidden)}"


def short_name(config, number: int) -> str:
    """'#3 relu [256, 256] seed 1': a run's label in tables, legends and the CLI's output."""
    return f"#{number} {network_label(config, short=True)} seed {config.seed}"


def describe(config) -> str:
    """A short label for a run's settings: 'relu [256, 256] on digits, momentum ε=0.05, seed 0'."""
    return f"{network_label(config)} on {config.dataset}, {config.optimizer} ε={config.lr:g}, seed {config.seed}"
