"""Damped Newton: exact on quadratics, the hand formula when damped, the Hessian it uses, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model import networks
from core.model.config import TrainConfig
from core.model.networks import EXACT_HESSIAN_MAX_PARAMS as NEWTON_MAX_PARAMS
from core.model.optim import OPTIMIZERS, HyperParams, check_newton_size, newton_direction
from core.train.run import Run

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]


DT = torch.float64
NEWTON = OPTIMIZERS["newton"]


def _spd(n, seed, cond=50.0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eig = np.geomspace(1.0, cond, n)
    return (q * eig) @ q.T, rng.normal(size=n)


def _tiny_config(**changes):
    base = {"dataset": "moons", "n_samples": 60, "hidden": (3,), "activation": "tanh", "optimizer": "newton",
            "lr": 1.0, "damping": 0.5, "batch_size": 16, "steps": 5, "device": "cpu", "seed": 2}
    return TrainConfig(**{**base, **changes})


def _naive_hessian(fn, theta):
    """Double loop of autograd: row i is the gradient of the i-th gradient component."""
    th = theta.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(fn(th), th, create_graph=True)
    rows = [torch.autograd.grad(g[i], th, retain_graph=True)[0] for i in range(len(th))]
    return torch.stack(rows)


# ---- quadratics ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [1, 2, 7, 30])
def test_undamped_newton_solves_a_quadratic_in_one_step(n, seed):
    a, b = _spd(n, seed)
    x_star = np.linalg.solve(a, b)
    A, B = torch.tensor(a, dtype=DT), torch.tensor(b, dtype=DT)
    theta = torch.tensor(np.random.default_rng(seed + 100).normal(scale=5.0, size=n), dtype=DT)
    g = A @ theta - B  # gradient of 1/2 theta^T A theta - b^T theta
    delta, _ = NEWTON.update(g, NEWTON.init(theta), theta, HyperParams(lr=1.0, damping=0.0), hessian=A)
    np.testing.assert_allclose((theta + delta).numpy(), x_star, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("lr", "damping", "wd"), [(1.0, 0.3, 0.0), (0.5, 2.0, 0.0), (0.7, 0.1, 0.25), (0.2, 0.0, 0.1)])
def test_damped_step_is_minus_lr_times_damped_inverse_times_gradient(lr, damping, wd):
    a, _ = _spd(6, 3, cond=1e3)
    rng = np.random.default_rng(4)
    g, theta = rng.normal(size=6), rng.normal(size=6)
    delta, _ = NEWTON.update(torch.tensor(g), NEWTON.init(None), torch.tensor(theta),
                             HyperParams(lr=lr, damping=damping, weight_decay=wd), hessian=torch.tensor(a))
    # weight decay is an L2 term: it adds wd * theta to g and wd * I to H
    by_hand = -lr * np.linalg.inv(a + (wd + damping) * np.eye(6)) @ (g + wd * theta)
    np.testing.assert_allclose(delta.numpy(), by_hand, rtol=1e-9, atol=1e-12)


def test_newton_direction_keeps_the_gradient_dtype():
    g = torch.tensor([1.0, 2.0])
    d = newton_direction(g, torch.eye(2) * 4, 0.0)
    assert d.dtype == torch.float32
    torch.testing.assert_close(d, torch.tensor([0.25, 0.5]))


# ---- singular systems ----------------------------------------------------------------------------------
def test_exactly_singular_system_is_a_readable_value_error():
    h = torch.diag(torch.tensor([2.0, 1.0, 0.0], dtype=DT))
    with pytest.raises(ValueError, match=r"singular.*damping") as info:
        newton_direction(torch.ones(3, dtype=DT), h, 0.0)
    assert "\n" not in str(info.value)


def test_singular_system_becomes_solvable_with_damping():
    h = torch.diag(torch.tensor([2.0, 1.0, 0.0], dtype=DT))
    d = newton_direction(torch.ones(3, dtype=DT), h, 0.5)
    np.testing.assert_allclose(d.numpy(), [1 / 2.5, 1 / 1.5, 1 / 0.5], rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rank_deficient_hessian_is_a_value_error(dtype):
    gen = torch.Generator().manual_seed(0)
    low = torch.randn(6, 3, generator=gen, dtype=DT)
    h64 = low @ low.T  # rank 3 of 6, PSD
    assert torch.linalg.matrix_rank(h64).item() == 3
    h = h64.to(dtype)
    g = torch.randn(6, generator=gen, dtype=DT).to(dtype)
    with pytest.raises(ValueError, match="singular"):
        newton_direction(g, h, 0.0)


def test_run_with_undamped_newton_on_a_singular_hessian_fails_at_once():
    run = Run(_tiny_config(damping=0.0, batch_size=0))
    theta0 = run.theta.clone()
    run.train()
    assert run.status == "failed"
    assert run.step == 0 and torch.equal(run.theta, theta0)
    assert "damping" in run.message


# ---- the Hessian Run uses -------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "maxout"])
def test_run_hessian_matches_func_hessian_and_naive_double_loop(activation):
    run = Run(_tiny_config(activation=activation))
    run.train(max_steps=2)  # away from the initial point
    xb, yb = run._batch()
    h = run._hessian(xb, yb)
    P = run.spec.n_params
    assert h.shape == (P, P)

    def fn(th):
        return networks.loss_fn(run.spec, th, xb, yb)

    reference = torch.func.hessian(fn)(run.theta.detach().clone())
    torch.testing.assert_close(h, reference, rtol=1e-5, atol=1e-6)
    naive = _naive_hessian(fn, run.theta)
    torch.testing.assert_close(h, naive, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(h, h.T, rtol=1e-4, atol=1e-5)
    assert float(h.abs().max()) > 1e-3


def test_run_newton_step_equals_the_hand_formula():
    """One full-batch Run step from theta_init: theta_1 = theta_0 - lr (H + lambda I)^-1 g (float64 by hand)."""
    cfg = _tiny_config(batch_size=0, lr=0.7, damping=0.3)
    run = Run(cfg)
    theta0 = run.theta.clone()
    x, y = run.data.x_train, run.data.y_train

    def fn(th):
        return networks.loss_fn(run.spec, th, x.double(), y)

    th = theta0.double().requires_grad_()
    (g,) = torch.autograd.grad(fn(th), th)
    h = _naive_hessian(fn, theta0.double())
    expected = theta0.double() - 0.7 * torch.linalg.solve(h + 0.3 * torch.eye(len(g), dtype=DT), g)
    run.train(max_steps=1)
    assert run.step == 1
    torch.testing.assert_close(run.theta.double(), expected, rtol=1e-4, atol=1e-5)
    assert float(torch.linalg.vector_norm(run.theta - theta0)) > 1e-3


# ---- size limit -------------------------------------------------------------------------------------------
def test_newton_refuses_a_model_above_the_limit():
    cfg = TrainConfig(optimizer="newton", hidden=(64, 64), n_samples=40, device="cpu")
    n_params = networks.MLP(2, (64, 64), 2).n_params
    assert n_params > NEWTON_MAX_PARAMS
    with pytest.raises(ValueError) as info:
        Run(cfg)
    assert str(NEWTON_MAX_PARAMS) in str(info.value)
    assert str(n_params) in str(info.value)


def test_newton_accepts_a_model_at_or_below_the_limit():
    check_newton_size(NEWTON_MAX_PARAMS)
    with pytest.raises(ValueError, match=str(NEWTON_MAX_PARAMS)):
        check_newton_size(NEWTON_MAX_PARAMS + 1)
    run = Run(_tiny_config())  # 17 parameters
    assert run.spec.n_params == 17
    assert run.train(max_steps=1) == 1


def test_other_optimizers_have_no_size_limit():
    run = Run(TrainConfig(optimizer="sgd", hidden=(64, 64), n_samples=40, device="cpu", steps=1))
    assert run.spec.n_params > NEWTON_MAX_PARAMS
