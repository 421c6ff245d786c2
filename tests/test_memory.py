"""Long-term dependencies: the state-gradient norms and the cliff probes (core/probes/memory.py) against plain torch,
and restarts of recurrent networks and regressions (core/train/restarts.py) against a Run per seed."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.model import networks
from core.model.build import model_and_data
from core.model.config import from_dict
from core.model.recurrent import LSTM, RNN
from core.probes import memory
from core.train import restarts
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _naive_state_gradients(spec, theta, x, y) -> list[float]:
    """‖∂J/∂h_t‖ by an unrolled nn.RNNCell / nn.LSTMCell loop with retain_grad on every h_t."""
    cell = (nn.LSTMCell if spec.kind == "lstm" else nn.RNNCell)(spec.input_size, spec.hidden_size, dtype=x.dtype)
    readout = nn.Linear(spec.hidden_size, spec.n_out, dtype=x.dtype)
    with torch.no_grad():
        for p, v in zip([*cell.parameters(), *readout.parameters()], spec.split(theta.to(x.dtype)), strict=True):
            p.copy_(v)
    xs = x.view(len(x), spec.seq_len, spec.input_size)
    h = torch.zeros(len(x), spec.hidden_size, dtype=x.dtype)
    c, hs = torch.zeros_like(h), []
    for t in range(spec.seq_len):
        if spec.kind == "lstm":
            h, c = cell(xs[:, t], (h, c))
        else:
            h = cell(xs[:, t], h)
        h.retain_grad()
        hs.append(h)
    out = readout(h)
    loss = nn.functional.mse_loss(out[:, 0], y) if spec.task == "regression" else nn.functional.cross_entropy(out, y)
    loss.backward()
    return [torch.linalg.vector_norm(h.grad).item() for h in hs]


@pytest.mark.parametrize(("cls", "task"), [(RNN, "classification"), (LSTM, "regression"), (RNN, "regression")])
def test_state_gradient_norms_equal_an_unrolled_loop_with_retain_grad(cls, task):
    spec = cls(input_size=2, seq_len=12, hidden_size=6, n_out=1 if task == "regression" else 3, task=task)
    gen = torch.Generator().manual_seed(0)
    theta = networks.init_params(spec, 2.0, seed=4)
    x = torch.randn(9, 24, generator=gen, dtype=torch.float64)
    y = torch.randn(9, generator=gen, dtype=torch.float64) if task == "regression" else torch.randint(0, 3, (9,))
    got = memory.state_gradient_norms(spec, theta, x, y)
    assert got.shape == (12,) and got.dtype == torch.float64
    torch.testing.assert_close(got, torch.tensor(_naive_state_gradients(spec, theta, x, y), dtype=torch.float64),
                               rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="recurrent network"):
        memory.state_gradient_norms(networks.MLP(2, (3,), 2), torch.zeros(17), x[:, :2], y)


def test_an_rnn_s_state_gradients_vanish_backwards_at_initialisation():
    config = from_dict({"dataset": "copy", "model": "rnn", "hidden": [32], "seq_len": 30, "n_samples": 100,
                        "device": "cpu"})
    spec, data = model_and_data(config)
    norms = memory.state_gradient_norms(spec, networks.init_params(spec), data.x_train, data.y_train)
    assert norms[0] < 1e-4 * norms[-1]  # the spectral radius of W_hh is about 0.6 at PyTorch's default


def _tiny_sequence_problem():
    config = from_dict({"dataset": "adding", "model": "rnn", "hidden": [4], "seq_len": 5, "n_samples": 60,
                        "device": "cpu"})
    spec, data = model_and_data(config)
    return spec, data, networks.init_params(spec, 1.0, seed=0)


def test_cliff_line_evaluates_the_loss_along_the_line():
    spec, data, theta = _tiny_sequence_problem()
    direction = torch.randn(spec.n_params, generator=torch.Generator().manual_seed(1))
    frame = memory.cliff_line(spec, data, theta, direction, (-1.0, 2.0), points=7)
    assert list(frame.columns) == memory.CLIFF_COLUMNS and frame.s.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]
    for s, loss, error in zip(frame.s, frame.loss, frame.error):
        assert (loss, error) == networks.evaluate(spec, theta + s * direction, data.x_train, data.y_train)
    leaf = theta.clone().requires_grad_()
    (g,) = torch.autograd.grad(networks.loss_fn(spec, leaf, data.x_train, data.y_train), leaf)
    assert frame.grad_norm[2] == pytest.approx(torch.linalg.vector_norm(g).item(), rel=1e-6)
    assert memory.cliff_line(spec, data, theta, direction, 1.0, points=3, gradient=False).grad_norm.isna().all()
    for span, points in (((1.0, 1.0), 5), (1.0, 1), (float("inf"), 4)):
        with pytest.raises(ValueError, match="at least 2 points"):
            memory.cliff_line(spec, data, theta, direction, span, points)


def test_cliff_step_clips_the_length():
    spec, data, theta = _tiny_sequence_problem()
    got = memory.cliff_step(spec, data, theta, lr=0.5, clip_norm=0.01)
    assert got["unclipped_length"] == pytest.approx(0.5 * got["grad_norm"], rel=1e-6)
    assert got["clipped_length"] == pytest.approx(0.5 * 0.01, rel=1e-3)
    assert got["loss"] == pytest.approx(networks.evaluate(spec, theta, data.x_train, data.y_train)[0], rel=1e-6)
    assert got["clipped_loss"] < got["loss"]
    walk = memory.descend(spec, data, theta, lr=0.5, clip_norm=0.01, steps=4)
    assert list(walk.columns) == memory.DESCENT_COLUMNS and walk.step.tolist() == [0, 1, 2, 3, 4]
    assert walk.loss[0] == pytest.approx(got["loss"]) and walk.loss[1] == pytest.approx(got["clipped_loss"], rel=1e-6)
    assert walk.step_length[1:].to_numpy() == pytest.approx(0.005, rel=1e-3) and walk.loss.is_monotonic_decreasing
    plain = memory.descend(spec, data, theta, lr=0.5, clip_norm=0.0, steps=1)
    assert plain.loss[1] == pytest.approx(got["unclipped_loss"], rel=1e-6)
    assert plain.distance[1] == pytest.approx(got["unclipped_length"], rel=1e-5)


SEQ = {"hidden": [6], "seq_len": 5, "n_samples": 80, "steps": 25, "batch_size": 16, "lr": 0.1, "device": "cpu",
       "clip_norm": 1.0, "weight_decay": 0.001}


@pytest.mark.parametrize(("model", "dataset", "optimizer"), [("rnn", "parity", "momentum"), ("rnn", "adding", "adam"),
                                                             ("lstm", "copy", "nesterov"), ("mlp", "sine", "sgd")])
def test_a_vmapped_restart_is_the_run_of_its_seed(model, dataset, optimizer):
    config = from_dict({**SEQ, "model": model, "dataset": dataset, "optimizer": optimizer,
                        "lr": 0.01 if optimizer == "adam" else 0.1})
    got = restarts.train_restarts(config, [2, 9])
    for i, seed in enumerate((2, 9)):
        run = Run(config.replace(seed=seed))
        run.train()
        last = run.metrics_frame().iloc[-1]
        torch.testing.assert_close(got.theta[i], run.theta, rtol=0, atol=1e-5)
        assert got.train_loss[i].item() == pytest.approx(last.train_loss, rel=1e-5, abs=1e-6)
        assert got.train_error[i].item() == pytest.approx(last.train_error, rel=1e-5, abs=1e-6)
    assert not got.diverged.any()


def test_float64_rnn_restarts_equal_a_float64_loop_of_the_run_s_steps():
    config = from_dict({**SEQ, "model": "rnn", "dataset": "parity", "optimizer": "sgd", "clip_norm": 0.0,
                        "weight_decay": 0.0})
    got = restarts.train_restarts(config, [4], dtype=torch.float64)
    spec, data = model_and_data(config)
    theta, x, y = networks.init_params(spec, 1.0, 4).double(), data.x_train.double(), data.y_train
    gen, order = torch.Generator().manual_seed(5), []
    for _ in range(config.steps):
        if len(order) < config.batch_size:
            order = torch.randperm(len(y), generator=gen).tolist()
        idx, order = order[: config.batch_size], order[config.batch_size :]
        leaf = theta.requires_grad_()
        (g,) = torch.autograd.grad(networks.loss_fn(spec, leaf, x[idx], y[idx]), leaf)  # the fused kernel
        theta = (leaf - config.lr * g).detach()
    torch.testing.assert_close(got.theta[0], theta, rtol=0, atol=1e-12)


def test_regression_fits_against_the_variance():
    config = from_dict({**SEQ, "model": "lstm", "dataset": "adding", "optimizer": "adam", "lr": 0.01})
    got = restarts.train_restarts(config, [0, 1], max_relative_mse=1.0)
    spec, data = model_and_data(config)
    var = data.y_train.double().var(correction=0).item()
    assert got.fits.tolist() == (got.train_loss <= var).tolist()
    assert torch.allclose(got.train_error, got.train_loss.sqrt())  # a regression's error is the RMSE
    assert not restarts.train_restarts(config, [0, 1], max_relative_mse=1e-9).fits.any()


def test_memory_sweep_frame():
    config = from_dict({**SEQ, "model": "rnn", "dataset": "copy", "steps": 5})
    frame = restarts.memory_sweep(config, [2, 4], [0, 1, 2], chunk=2)
    assert list(frame.columns) == restarts.MEMORY_COLUMNS
    assert frame[["seq_len", "seed"]].values.tolist() == [[2, 0], [2, 1], [2, 2], [4, 0], [4, 1], [4, 2]]
    assert (frame.fits == (frame.final_train_error == 0)).all()
    with pytest.raises(ValueError, match="seq_len must be"):
        restarts.memory_sweep(config, [4, 300], [0])
    with pytest.raises(ValueError, match="which the moons data do not read"):
        restarts.memory_sweep(from_dict({"dataset": "moons"}), [4], [0])
