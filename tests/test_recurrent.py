"""The recurrent specs (core/model/recurrent.py) against torch.nn.RNN / nn.LSTM + nn.Linear, their Hessian-vector
products against torch.func.hessian, their config and build, and short training runs on the sequence tasks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from core.model import networks
from core.model.build import model_and_data
from core.model.config import from_dict
from core.model.recurrent import LSTM, RNN, in_functorch
from core.probes import curvature
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODULES = {RNN: nn.RNN, LSTM: nn.LSTM}


def _torch_twin(spec, theta: torch.Tensor):
    """nn.RNN or nn.LSTM (batch first) and nn.Linear holding theta's weights, in theta's dtype."""
    rnn = MODULES[type(spec)](spec.input_size, spec.hidden_size, batch_first=True, dtype=theta.dtype)
    readout = nn.Linear(spec.hidden_size, spec.n_out, dtype=theta.dtype)
    with torch.no_grad():
        for p, v in zip([*rnn.parameters(), *readout.parameters()], spec.split(theta), strict=True):
            p.copy_(v)
    return rnn, readout


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_forward_and_states_equal_torch_nn(cls, dtype):
    spec = cls(input_size=3, seq_len=9, hidden_size=7, n_out=4)
    theta = networks.init_params(spec, 2.0, seed=1).to(dtype)
    x = torch.randn(5, 9 * 3, generator=torch.Generator().manual_seed(0), dtype=dtype)
    rnn, readout = _torch_twin(spec, theta)
    seq, last = rnn(x.view(5, 9, 3))
    expected = readout((last[0] if cls is LSTM else last)[0])
    params = spec.split(theta)
    for fused in (True, False, None):
        torch.testing.assert_close(spec.forward(params, x, fused=fused), expected, rtol=0, atol=1e-6)
        torch.testing.assert_close(spec.states(params, x, fused=fused), seq, rtol=0, atol=1e-6)
    torch.testing.assert_close(networks.forward(spec, params, x), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_layout_and_initialisation_are_torch_nn_s(cls):
    spec = cls(input_size=2, seq_len=4, hidden_size=16, n_out=3)
    rnn, readout = _torch_twin(spec, torch.zeros(spec.n_params))
    assert [tuple(p.shape) for p in [*rnn.parameters(), *readout.parameters()]] == spec.layout
    assert spec.n_params == sum(p.numel() for p in [*rnn.parameters(), *readout.parameters()])
    theta = networks.init_params(spec, 1.0, seed=3)
    bound = 1 / math.sqrt(16)  # nn.RNN / nn.LSTM: U(-1/sqrt(H), 1/sqrt(H)), nn.Linear(H, .) the same
    assert theta.abs().max() <= bound and theta.abs().max() > 0.95 * bound
    assert theta.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert torch.equal(networks.init_params(spec, 2.5, seed=3), theta * 2.5)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_double_backward_hvp_equals_func_hessian(cls):
    spec = cls(input_size=2, seq_len=5, hidden_size=3, n_out=2)
    gen = torch.Generator().manual_seed(0)
    theta = networks.init_params(spec, 3.0, seed=0).double()
    x, y = torch.randn(6, 10, generator=gen, dtype=torch.float64), torch.randint(0, 2, (6,), generator=gen)
    v = torch.randn(spec.n_params, generator=gen, dtype=torch.float64)
    leaf = theta.clone().requires_grad_()
    (g,) = torch.autograd.grad(networks.loss_fn(spec, leaf, x, y), leaf, create_graph=True)  # the fused kernel
    (hv,) = torch.autograd.grad(g @ v, leaf)
    hessian = torch.func.hessian(lambda th: networks.loss_fn(spec, th, x, y))(theta)  # the loop (torch.func)
    torch.testing.assert_close(hv, hessian @ v, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(hessian, hessian.T, rtol=1e-10, atol=1e-12)


def test_torch_func_transforms_take_the_loop():
    spec = LSTM(input_size=2, seq_len=4, hidden_size=5, n_out=1, task="regression")
    thetas = torch.stack([networks.init_params(spec, 1.0, seed=s) for s in range(3)])
    x = torch.randn(7, 8, generator=torch.Generator().manual_seed(1))
    seen = []
    torch.func.vmap(lambda th: seen.append(in_functorch()) or th.sum())(thetas)
    assert seen == [True] and not in_functorch()
    batched = torch.func.vmap(lambda th: networks.forward(spec, spec.split(th), x))(thetas)  # no batching rule: loop
    for i in range(3):
        torch.testing.assert_close(batched[i], networks.forward(spec, spec.split(thetas[i]), x), rtol=0, atol=1e-6)
    tangent = torch.ones(spec.n_params)  # forward mode: oneDNN's float32 LSTM has none, the loop does
    _, jvp = torch.func.jvp(lambda th: networks.forward(spec, spec.split(th), x).sum(), (thetas[0],), (tangent,))
    assert torch.isfinite(jvp)


SEQ = {"hidden": [8], "seq_len": 6, "n_samples": 200, "device": "cpu"}


@pytest.mark.parametrize("model", ["rnn", "lstm"])
@pytest.mark.parametrize("dataset", ["adding", "copy", "parity"])
def test_build_and_a_short_run_lowers_the_loss(model, dataset):
    config = from_dict({**SEQ, "dataset": dataset, "model": model, "optimizer": "adam", "lr": 0.01, "steps": 150,
                        "batch_size": 32, "seq_len": 4, "hidden": [16]})
    spec, data = model_and_data(config)
    d = {"adding": 2, "copy": 4, "parity": 1}[dataset]
    assert type(spec) is {"rnn": RNN, "lstm": LSTM}[model] and spec.kind == model
    assert (spec.input_size, spec.seq_len, spec.hidden_size, spec.n_out) == (d, 4, 16, data.n_outputs)
    assert spec.task == ("regression" if dataset == "adding" else "classification")
    run = Run(config)
    run.train()
    assert run.status == "done", run.message
    loss = run.metrics_frame().train_loss
    assert loss.iloc[-1] < 0.7 * loss.iloc[0]


def test_curvature_monitor_and_newton_run_on_recurrent_networks():
    lstm = Run(from_dict({**SEQ, "dataset": "copy", "model": "lstm", "steps": 20, "curvature_monitor": True,
                          "log_every": 10}))  # double backward through oneDNN's float32 LSTM
    lstm.train()
    frame = lstm.metrics_frame()
    assert lstm.status == "done" and frame.gHg.notna().iloc[1:].all() and frame.lambda_max.notna().iloc[1:].all()
    rnn = Run(from_dict({**SEQ, "dataset": "parity", "model": "rnn", "hidden": [3], "steps": 5,
                         "optimizer": "newton", "lr": 0.5}))  # torch.func.hessian: the loop
    rnn.train()
    assert rnn.status == "done", rnn.message
    spec, data = model_and_data(rnn.config)
    exact = curvature.exact_spectrum(lambda th: networks.loss_fn(spec, th, data.x_train, data.y_train), rnn.theta)
    assert len(exact) == spec.n_params


@pytest.mark.parametrize(("changes", "words"), [
    ({"dataset": "moons", "model": "rnn", "hidden": [8]}, "an rnn reads sequences: adding, copy, parity"),
    ({"dataset": "adding", "model": "cnn"}, "mlp (on the flattened sequence), rnn or lstm for dataset adding"),
    ({"dataset": "copy", "model": "lstm", "hidden": [8, 8]}, "exactly one width for model lstm"),
    ({"dataset": "copy", "model": "lstm", "hidden": []}, "exactly one width for model lstm"),
    ({"dataset": "parity", "seq_len": 1}, "seq_len must be >= 2 and <= 200"),
    ({"dataset": "parity", "seq_len": 201}, "seq_len must be <= 200"),
    ({"dataset": "parity", "seq_len": 2.5}, "seq_len must be a finite integer"),
])
def test_config_refusals(changes, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        from_dict(changes)


def test_a_sequence_set_trains_an_mlp_on_the_flat_sequence():
    config = from_dict({"dataset": "adding", "seq_len": 7, "hidden": [16], "steps": 3, "device": "cpu"})
    spec, data = model_and_data(config)
    assert spec.kind == "mlp" and spec.n_in == 14 and data.input_shape == (7, 2)
    assert from_dict({"model": "rnn", "dataset": "copy", "hidden": [4]}).seq_len == 20
