"""Run: determinism, what the metrics rows mean, divergence, hot changes, bounded memory, straying."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.model import networks
from core.model.config import TrainConfig
from core.train import run as run_mod
from core.train import store
from core.train.run import METRIC_COLUMNS, Run

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]


def cfg(**changes) -> TrainConfig:
    base = {"dataset": "moons", "n_samples": 200, "hidden": (8,), "activation": "tanh", "optimizer": "momentum",
            "lr": 0.1, "momentum": 0.9, "batch_size": 16, "steps": 40, "log_every": 5, "device": "cpu", "seed": 3}
    return TrainConfig(**{**base, **changes})


def _sequential(spec, theta):
    """An nn.Sequential holding a copy of theta (independent forward for the reference gradients)."""
    act = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}[spec.activation]
    layers = []
    for k, ((fan_out, fan_in), _) in enumerate(spec.shapes):
        if k:
            layers.append(act())
        layers.append(nn.Linear(fan_in, fan_out))
    model = nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    parts = spec.split(theta.detach())
    with torch.no_grad():
        for lin, w, b in zip(linears, parts[0::2], parts[1::2]):
            lin.weight.copy_(w)
            lin.bias.copy_(b)
    return model, [p for lin in linears for p in (lin.weight, lin.bias)]


def _grad_norm(spec, theta, x, y) -> float:
    model, params = _sequential(spec, theta)
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), params)
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))


# ---- determinism ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_same_config_twice_is_identical(optimizer):
    c = cfg(optimizer=optimizer, lr=0.05, steps=30)
    a, b = Run(c), Run(c)
    a.train()
    b.train()
    pd.testing.assert_frame_equal(a.metrics_frame(), b.metrics_frame(), check_exact=True)
    pd.testing.assert_frame_equal(a.points_frame(), b.points_frame(), check_exact=True)
    assert torch.equal(a.theta, b.theta) and torch.equal(a.theta_init, b.theta_init)
    other = Run(c.replace(seed=4))
    other.train()
    assert not torch.equal(other.theta, a.theta)  # the seed matters, so equality above is not vacuous


def test_training_in_pieces_equals_training_at_once():
    c = cfg(steps=30)
    a, b = Run(c), Run(c)
    a.train()
    for _ in range(6):
        b.train(max_steps=7)
    assert b.step == a.step == 30
    assert torch.equal(a.theta, b.theta)
    pd.testing.assert_frame_equal(a.metrics_frame(), b.metrics_frame(), check_exact=True)


# ---- metrics rows ---------------------------------------------------------------------------------------------
def test_metrics_rows_cover_step_zero_and_the_last_step():
    c = cfg(steps=23, log_every=5)
    run = Run(c)
    run.train()
    frame = run.metrics_frame()
    assert list(frame.columns) == METRIC_COLUMNS
    assert frame.step.tolist() == [0, 5, 10, 15, 20, 23]
    assert run.status == "done" and run.step == 23
    first, last = frame.iloc[0], frame.iloc[-1]
    assert math.isnan(first.grad_norm) and math.isnan(first.step_length)
    assert frame.grad_norm.iloc[1:].notna().all()
    # full-split metrics of the row are evaluate() at that theta
    for theta, row in ((run.theta_init, first), (run.theta, last)):
        expected = networks.evaluate(run.spec, theta, run.data.x_train, run.data.y_train)[0]
        assert row.train_loss == pytest.approx(expected)
        assert row.val_error == pytest.approx(networks.evaluate(run.spec, theta, run.data.x_val, run.data.y_val)[1])
        assert row.param_norm == pytest.approx(float(torch.linalg.vector_norm(theta.double())), rel=1e-6)


@pytest.mark.parametrize("batch_size", [16, 0])
def test_grad_norm_is_the_minibatch_gradient_of_the_step_that_made_the_row(batch_size):
    c = cfg(batch_size=batch_size, log_every=1, steps=12)
    run = Run(c)
    run.train()
    frame = run.metrics_frame().set_index("step")
    points = run.points_frame().set_index("step")
    for t in (1, 2, 7, 12):
        replay = Run(c)  # same seed: same theta and same minibatch order up to step t - 1
        replay.train(max_steps=t - 1)
        assert replay.step == t - 1
        if batch_size:
            xb, yb = replay._batch()  # the minibatch that step t used
        else:
            xb, yb = replay.data.x_train, replay.data.y_train
        expected = _grad_norm(run.spec, replay.theta, xb, yb)
        assert frame.loc[t, "grad_norm"] == pytest.approx(expected, rel=1e-5)
        assert points.loc[t, "grad_norm"] == pytest.approx(expected, rel=1e-5)
        # and the row's step length is |theta_t - theta_{t-1}|
        length = float(torch.linalg.vector_norm(_theta_at(c, t) - replay.theta))
        assert frame.loc[t, "step_length"] == pytest.approx(length, rel=1e-4)
    assert len({round(v, 6) for v in frame.grad_norm.iloc[1:]}) > 3


def _theta_at(c, t):
    r = Run(c)
    r.train(max_steps=t)
    return r.theta.clone()


def test_step_length_and_grad_norm_before_clipping():
    c = cfg(optimizer="sgd", lr=0.5, clip_norm=0.01, batch_size=0, log_every=1, steps=3)
    run = Run(c)
    thetas = [run.theta.clone()]
    for _ in range(3):
        run.train(max_steps=1)
        thetas.append(run.theta.clone())
    frame = run.metrics_frame().set_index("step")
    for t in (1, 2, 3):
        g_norm = _grad_norm(run.spec, thetas[t - 1], run.data.x_train, run.data.y_train)
        assert g_norm > 0.05  # well above the clip, so clipping is active
        assert frame.loc[t, "grad_norm"] == pytest.approx(g_norm, rel=1e-5)  # unclipped
        length = float(torch.linalg.vector_norm(thetas[t] - thetas[t - 1]))
        assert frame.loc[t, "step_length"] == pytest.approx(length, rel=1e-4)
        assert length == pytest.approx(0.5 * 0.01, rel=1e-3)  # lr x clip_norm


def test_full_batch_run_matches_a_plain_torch_loop():
    """End to end: Run(momentum, weight decay, full batch) against nn.Sequential + torch.optim.SGD."""
    c = cfg(batch_size=0, weight_decay=0.01, steps=25, log_every=25)
    run = Run(c)
    model, params = _sequential(run.spec, run.theta_init)
    opt = torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
    for _ in range(25):
        opt.zero_grad()
        F.cross_entropy(model(run.data.x_train), run.data.y_train).backward()
        opt.step()
    run.train()
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    torch.testing.assert_close(run.theta, flat, rtol=1e-4, atol=1e-5)


# ---- divergence -----------------------------------------------------------------------------------------------
def test_divergence_stops_with_a_message_and_finite_theta():
    c = TrainConfig(activation="relu", lr=900, init_scale=3, optimizer="sgd", n_samples=200, steps=200, device="cpu")
    run = Run(c)
    done = run.train()
    assert run.status == "diverged"
    assert "diverged" in run.message and "learning rate" in run.message
    assert run.step == done < c.steps
    assert torch.isfinite(run.theta).all()
    assert run.finished and run.train() == 0 and run.step == done  # it stays stopped
    frame = run.metrics_frame()
    assert frame.step.iloc[0] == 0 and frame.step.iloc[-1] == run.step
    assert np.isfinite(frame.param_norm).all()
    # the stopped theta is the theta after the last finite step
    replay = Run(c)
    replay.train(max_steps=run.step)
    assert torch.equal(replay.theta, run.theta)


# ---- hot changes ----------------------------------------------------------------------------------------------
def test_set_hot_changes_lr_without_resetting_state():
    """lr 0.1 for 10 steps then 0.02 for 10: equals torch.optim.SGD with the same change (momentum kept)."""
    c = cfg(batch_size=0, steps=20, log_every=1)
    run = Run(c)
    model, params = _sequential(run.spec, run.theta_init)
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    for i in range(20):
        if i == 10:
            for group in opt.param_groups:
                group["lr"] = 0.02
        opt.zero_grad()
        F.cross_entropy(model(run.data.x_train), run.data.y_train).backward()
        opt.step()
    run.train(max_steps=10)
    run.set_hot(lr=0.02)
    assert run.step == 10 and run.config.lr == 0.02
    run.train()
    assert run.step == 20
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    torch.testing.assert_close(run.theta, flat, rtol=1e-4, atol=1e-5)
    frame = run.metrics_frame().set_index("step")
    assert frame.loc[10, "lr"] == 0.1 and frame.loc[11, "lr"] == 0.02
    # a restart at step 10 (fresh momentum) would end elsewhere
    fresh = Run(c.replace(lr=0.02))
    fresh.theta.copy_(_theta_at(c, 10))
    fresh.train(max_steps=10)
    assert not torch.allclose(fresh.theta, run.theta, rtol=1e-4, atol=1e-5)


def test_set_hot_rejects_other_fields_and_bad_values():
    run = Run(cfg())
    for field, value in (("hidden", (4,)), ("dataset", "xor"), ("seed", 9), ("batch_size", 8)):
        with pytest.raises(ValueError, match=field):
            run.set_hot(**{field: value})
    with pytest.raises(ValueError, match="lr"):
        run.set_hot(lr=-1.0)
    assert run.config == cfg()


def test_set_hot_steps_extends_a_finished_run():
    run = Run(cfg(steps=10))
    run.train()
    assert run.status == "done"
    run.set_hot(steps=15)
    assert run.status == "paused"
    assert run.train() == 5 and run.step == 15 and run.status == "done"
    assert run.metrics_frame().step.iloc[-1] == 15


# ---- memory stays flat ----------------------------------------------------------------------------------------
def test_long_run_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(run_mod, "ROWS_MAX", 16)
    monkeypatch.setattr(run_mod, "POINTS_MAX", 32)
    monkeypatch.setattr(store, "TRAJECTORY_MAX", 16)
    run = Run(cfg(optimizer="sgd", lr=0.05, steps=300, log_every=1, batch_size=8, hidden=(4,), n_samples=60))
    assert run.trajectory.capacity == 16
    for _ in range(3):
        run.train()
        assert len(run.metrics.rows) <= 16
        assert len(run.points.rows) <= 32
        steps, thetas = run.trajectory.view()
        assert len(steps) <= run.trajectory.capacity and thetas.shape[0] == len(steps)
        frame = run.metrics_frame()
        assert frame.step.iloc[0] == 0 and frame.step.iloc[-1] == run.step
        assert steps[0] == 0 and torch.equal(thetas[0], run.theta_init)
        assert steps[-1] == run.step and torch.equal(thetas[-1], run.theta)
        run.set_hot(steps=run.step + 300)  # keep going past the planned length: the stores must thin
    assert run.step == 900
    assert run.metrics.stride > 1 and run.points.stride > 1 and run.trajectory.stride > 1
    # a stored snapshot is the theta of its step
    steps, thetas = run.trajectory.view()
    k = len(steps) // 2
    replay = Run(run.config)
    replay.train(max_steps=steps[k])
    assert torch.equal(thetas[k], replay.theta)


def test_real_limits_are_sane():
    assert store.ROWS_MAX >= 100 and store.POINTS_MAX >= store.ROWS_MAX
    assert run_mod.ROWS_MAX == store.ROWS_MAX and run_mod.POINTS_MAX == store.POINTS_MAX


# ---- straying during training ---------------------------------------------------------------------------------
@pytest.mark.parametrize("steps_done", [0, 7, 40])
def test_straying_frame_is_zero_at_both_ends(steps_done):
    run = Run(cfg())
    run.train(max_steps=steps_done)
    frame = run.straying_frame()
    assert frame.step.iloc[0] == 0 and frame.step.iloc[-1] == run.step == steps_done
    length = float(torch.linalg.vector_norm(run.theta.double() - run.theta_init.double()))
    assert frame.residual.iloc[0] == 0.0
    assert frame.residual.iloc[-1] <= 1e-9 * max(length, 1.0)
    assert frame.projection.iloc[-1] == pytest.approx(length, rel=1e-9, abs=1e-12)
    if steps_done:
        assert length > 1e-3 and frame.residual.max() > 0
    steps, _ = run.trajectory.view()
    assert set(steps) <= set(frame.step)


def test_auto_log_every_spends_about_five_percent_on_evaluations_and_keeps_twenty_rows():
    spec = networks.MLP(64, (256, 256), 10, "relu")
    overhead = 4e6
    step_cost = 6 * spec.n_params * 64 + overhead
    eval_cost = 2 * spec.n_params * 1797 + 2 * overhead
    every = run_mod.auto_log_every(spec, 1797, 64, 10**7)
    assert every == math.ceil(20 * eval_cost / step_cost)  # evaluations cost 1/20 of the steps between them
    assert run_mod.auto_log_every(spec, 1797, 64, 400) == 20  # never fewer than 20 rows a run
    assert run_mod.auto_log_every(spec, 1797, 64, 10) == 1
