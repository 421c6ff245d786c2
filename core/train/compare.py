"""Several optimizers from one initialisation on one model and data set (issue 4, definitions §6).

Every optimizer trains a copy of the same config (same θ_i, same minibatch order) with its own settings. At each
logged step: the full training loss, the norm of the full training gradient at that θ, and, for small models, the
index of the Hessian (the fraction of negative eigenvalues): a saddle shows as a loss plateau with a positive index.
"""

from __future__ import annotations

import math
import time

import pandas as pd
import torch

from core.model.config import TrainConfig
from core.probes import spectrum
from core.train.run import Run

COLUMNS = ["optimizer", "step", "train_loss", "grad_norm", "index"]
MAX_ROWS_PER_OPTIMIZER = 40


def parse_settings(items: list[str]) -> dict[str, dict]:
    """['newton.lr=1', 'saddle-free.damping=0.01'] -> {'newton': {'lr': 1.0}, 'saddle-free': {'damping': 0.01}}."""
    out: dict[str, dict] = {}
    for item in items:
        name, _, value = item.partition("=")
        optimizer, _, field = name.partition(".")
        if not value or field not in ("lr", "momentum", "damping"):
            raise ValueError(f"a setting is OPTIMIZER.FIELD=VALUE with FIELD lr, momentum or damping, got {item!r}")
        try:
            out.setdefault(optimizer.strip(), {})[field] = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: {value!r} is not a number") from None
    return out


def _point(run: Run, with_index: bool) -> dict:
    theta = run.theta.detach()
    loss = spectrum.split_loss(run.spec, run.data, "train")
    t = theta.clone().requires_grad_()
    value = loss(t)
    g = torch.autograd.grad(value, t)[0]
    index = spectrum.exact(loss, theta).index if with_index else math.nan
    return {"step": run.step, "train_loss": value.item(), "grad_norm": g.norm().item(), "index": index}


def _index_by_default(run: Run) -> bool:
    """The index is drawn up to spectrum.FAST_EXACT_PARAMS parameters, where its exact spectra fit the memory budget."""
    return (run.spec.n_params <= spectrum.FAST_EXACT_PARAMS
            and spectrum.exact_memory_problem(run.spec, run.data) is None)


def estimate_seconds(config: TrainConfig, settings: dict[str, dict], probe: int = 2) -> float:
    """Seconds compare() will take: each optimizer's measured time per step (after one warm-up step) times the
    steps, plus the index's full spectra where it is drawn. A few steps of each optimizer are spent measuring."""
    total = 0.0
    for name, values in settings.items():
        run = Run(config.replace(optimizer=name, **values))
        run.train(max_steps=1)
        start = time.perf_counter()
        run.train(max_steps=probe)
        total += (time.perf_counter() - start) / probe * config.steps
    if settings and _index_by_default(run):
        start = time.perf_counter()
        _point(run, True)
        total += (time.perf_counter() - start) * len(settings) * (MAX_ROWS_PER_OPTIMIZER + 1)
    return total


def compare(config: TrainConfig, optimizers: list[str], settings: dict[str, dict] | None = None,
            with_index: bool | None = None, progress=None) -> tuple[pd.DataFrame, dict[str, str]]:
    """(rows, messages): the COLUMNS rows of every optimizer, and why any of them stopped early.

    with_index None means: when the model has at most spectrum.FAST_EXACT_PARAMS parameters and its exact spectrum fits
    the memory budget (spectrum.exact_memory_problem).
    progress(done, total) is called as the optimizers move on (total = optimizers x logged points).
    """
    settings = settings or {}
    unknown = sorted(set(settings) - set(optimizers))
    if unknown:
        raise ValueError(f"settings given for {unknown[0]!r}, which is not among the optimizers compared")
    runs = {name: Run(config.replace(optimizer=name, **settings.get(name, {}))) for name in optimizers}
    if with_index is None:
        with_index = bool(runs) and _index_by_default(next(iter(runs.values())))
    every = max(1, math.ceil(config.steps / MAX_ROWS_PER_OPTIMIZER))
    points = -(-config.steps // every) + 1
    rows, messages = [], {}
    for k, (name, run) in enumerate(runs.items()):
        rows.append({"optimizer": name, **_point(run, with_index)})
        for j in range(1, points):
            run.train(max_steps=every)
            rows.append({"optimizer": name, **_point(run, with_index)})
            if progress is not None:
                progress(k * (points - 1) + j, len(runs) * (points - 1))
            if run.status in ("diverged", "failed"):
                messages[name] = run.message
                break
            if run.finished:
                break
    return pd.DataFrame(rows, columns=COLUMNS), messages
