"""The live gradient-noise columns of core/train/run.py: grad_cosine and grad_rel_error at a logged row are
cos(g_B, g) and ‖g_B − g‖/‖g‖ of that step's own minibatch gradient against the full training gradient at the θ the
step started from, checked against a naive computation with nn.Sequential and torch.autograd; NaN for full-batch
runs; one extra full gradient per kept row, no more."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.model.config import TrainConfig
from core.train import run as run_mod
from core.train import state
from core.train.run import METRIC_COLUMNS, NOISE_COLUMNS, Run

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]


def cfg(**changes) -> TrainConfig:
    base = {"dataset": "moons", "n_samples": 200, "hidden": (8,), "activation": "tanh", "optimizer": "momentum",
            "lr": 0.1, "momentum": 0.9, "batch_size": 16, "steps": 40, "log_every": 5, "device": "cpu", "seed": 3}
    return TrainConfig(**{**base, **changes})


def _naive_gradient(spec, theta, x, y) -> torch.Tensor:
    """∇ of the mean cross-entropy on (x, y) at theta, by nn.Sequential and torch.autograd.grad, in float64."""
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[spec.activation]
    layers = []
    for k, ((fan_out, fan_in), _) in enumerate(spec.shapes):
        if k:
            layers.append(act())
        layers.append(nn.Linear(fan_in, fan_out))
    model = nn.Sequential(*layers).double()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    parts = spec.split(theta.detach().double())
    with torch.no_grad():
        for lin, w, b in zip(linears, parts[0::2], parts[1::2]):
            lin.weight.copy_(w)
            lin.bias.copy_(b)
    params = [p for lin in linears for p in (lin.weight, lin.bias)]
    grads = torch.autograd.grad(F.cross_entropy(model(x.double()), y), params)
    return torch.cat([g.reshape(-1) for g in grads])


def _naive_noise(gb: torch.Tensor, g: torch.Tensor) -> tuple[float, float]:
    cosine = float(gb @ g / (gb.norm() * g.norm()))
    return cosine, float((gb - g).norm() / g.norm())


def test_the_columns_are_the_steps_own_minibatch_gradient_against_the_full_one():
    c = cfg(steps=23, log_every=5)
    run = Run(c)
    run.train()
    frame = run.metrics_frame().set_index("step")
    assert list(run.metrics_frame().columns) == METRIC_COLUMNS and set(NOISE_COLUMNS) <= set(METRIC_COLUMNS)
    assert frame.index.tolist() == [0, 5, 10, 15, 20, 23]
    assert frame.loc[0, NOISE_COLUMNS].isna().all()  # no step yet
    for t in (5, 10, 15, 20, 23):
        replay = Run(c)  # same seed: the same θ and minibatch order up to step t − 1
        replay.train(max_steps=t - 1)
        xb, yb = replay._batch()  # the minibatch that step t used
        theta = replay.theta.clone()
        gb = _naive_gradient(run.spec, theta, xb, yb)
        g = _naive_gradient(run.spec, theta, run.data.x_train, run.data.y_train)
        cosine, error = _naive_noise(gb, g)
        assert frame.loc[t, "grad_cosine"] == pytest.approx(cosine, abs=1e-5)
        assert frame.loc[t, "grad_rel_error"] == pytest.approx(error, rel=1e-4)
        assert frame.loc[t, "grad_norm"] == pytest.approx(float(gb.norm()), rel=1e-5)  # the same g_B as grad_norm
    values = frame.loc[5:, "grad_rel_error"]
    assert (values > 0).all() and values.nunique() == len(values)  # not trivially 0 or constant


def test_the_gradient_is_taken_before_clipping_and_weight_decay():
    """g_B is the loss gradient the step computed (grad_norm's), not the clipped or decayed update direction."""
    c = cfg(steps=10, log_every=5, clip_norm=0.01, weight_decay=0.1, optimizer="sgd")
    run = Run(c)
    run.train()
    replay = Run(c)
    replay.train(max_steps=9)
    xb, yb = replay._batch()
    gb = _naive_gradient(run.spec, replay.theta, xb, yb)
    g = _naive_gradient(run.spec, replay.theta, run.data.x_train, run.data.y_train)
    row = run.metrics_frame().set_index("step").loc[10]
    assert float(gb.norm()) > 0.05  # well above the clip
    assert (row.grad_cosine, row.grad_rel_error) == pytest.approx(_naive_noise(gb, g), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("batch_size", [0, 160, 500])  # 0 = full batch; 160 = the whole training split; 500 > it
def test_full_batch_runs_leave_the_columns_empty(batch_size):
    run = Run(cfg(batch_size=batch_size, steps=10))
    assert len(run.data.y_train) == 160
    run.train()
    frame = run.metrics_frame()
    assert frame[NOISE_COLUMNS].isna().all().all() and frame["grad_norm"].iloc[1:].notna().all()


def test_the_curvature_monitor_does_not_change_them():
    on, off = Run(cfg(curvature_monitor=True)), Run(cfg())
    on.train()
    off.train()
    pd.testing.assert_frame_equal(on.metrics_frame()[METRIC_COLUMNS], off.metrics_frame(), rtol=1e-5)


def test_one_full_gradient_per_kept_row_even_when_the_log_thins(monkeypatch):
    monkeypatch.setattr(run_mod, "ROWS_MAX", 8)  # the log halves itself and doubles its stride as it fills
    calls = []
    original = Run._full_gradient

    def counted(self):
        calls.append(self.step)
        return original(self)

    rows = []
    make_row = Run._metric_row

    def row(self):
        rows.append(self.step)
        return make_row(self)

    monkeypatch.setattr(Run, "_full_gradient", counted)
    monkeypatch.setattr(Run, "_metric_row", row)
    run = Run(cfg(steps=60, log_every=1))
    run.train()
    frame = run.metrics_frame()
    assert run.metrics.stride > 1 and len(frame) <= 9
    assert frame[NOISE_COLUMNS].iloc[1:].notna().all().all()  # every kept row after step 0 has them
    # one full gradient for each row the log makes (at the θ before that row's step), none for the offers it skips
    assert [s + 1 for s in calls] == sorted({s for s in rows if s > 0})
    assert len(calls) < 60 / 2


def test_a_saved_run_resumes_with_the_same_columns(tmp_path):
    c = cfg(steps=30, log_every=5)
    whole, part = Run(c), Run(c)
    whole.train()
    part.train(max_steps=12)
    state.save(part, tmp_path)
    resumed = state.load(tmp_path)
    resumed.train()
    pd.testing.assert_frame_equal(resumed.metrics_frame(), whole.metrics_frame(), check_exact=True)


def test_the_cost_is_one_gradient_of_the_training_split_per_row():
    """On the Train page's default run the extra gradients are a few per cent of the training time (timed, so loose:
    under a quarter even on a busy machine)."""
    run = Run(TrainConfig(device="cpu", steps=1000))
    spent = []
    original = run._full_gradient

    def timed():
        import time

        start = time.perf_counter()
        out = original()
        spent.append(time.perf_counter() - start)
        return out

    run._full_gradient = timed
    run.train()
    assert len(spent) == len(run.metrics_frame()) - 1
    assert math.fsum(spent) < 0.25 * run.train_seconds
    assert np.isfinite(run.metrics_frame()["grad_cosine"].iloc[1:]).all()
