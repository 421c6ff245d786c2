"""core.optim against torch.optim step for step, clipping against torch, and convergence on toy problems."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.model import networks
from core.model.optim import ADAM_BETA2, ADAM_EPS, OPTIMIZERS, HyperParams, clip_by_norm

pytestmark = pytest.mark.usefixtures("one_torch_thread")


FIRST_ORDER = ("sgd", "momentum", "nesterov", "adam")
DT = torch.float64


# ---- helpers ------------------------------------------------------------------------------------------
def _spec(activation="tanh"):
    return networks.MLP(n_in=3, hidden=(5, 4), n_out=3, activation=activation)


def _batch(seed=0, n=24):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=gen, dtype=DT), torch.randint(0, 3, (n,), generator=gen)


def _torch_model(spec, theta):
    """nn.Sequential of nn.Linear holding a copy of theta (spec.split gives nn.Linear's layout)."""
    act = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}[spec.activation]
    layers = []
    for k, ((fan_out, fan_in), _) in enumerate(spec.shapes):
        if k:
            layers.append(act())
        layers.append(nn.Linear(fan_in, fan_out, dtype=DT))
    model = nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    parts = spec.split(theta.detach())
    with torch.no_grad():
        for lin, w, b in zip(linears, parts[0::2], parts[1::2]):
            lin.weight.copy_(w)
            lin.bias.copy_(b)
    return model, [p for lin in linears for p in (lin.weight, lin.bias)]


def _flat(params):
    return torch.cat([p.detach().reshape(-1) for p in params])


def _torch_optimizer(name, params, hp: HyperParams):
    if name == "sgd":
        return torch.optim.SGD(params, lr=hp.lr, weight_decay=hp.weight_decay)
    if name == "momentum":
        return torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
    if name == "nesterov":
        return torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum, nesterov=True, weight_decay=hp.weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=hp.lr, betas=(hp.momentum, 0.999), eps=1e-8, weight_decay=hp.weight_decay)
    raise AssertionError(name)


CASES = [
    ("sgd", HyperParams(lr=0.1)),
    ("sgd", HyperParams(lr=0.1, weight_decay=0.05)),
    ("momentum", HyperParams(lr=0.05, momentum=0.9)),
    ("momentum", HyperParams(lr=0.05, momentum=0.9, weight_decay=0.05)),
    ("momentum", HyperParams(lr=0.05, momentum=0.0)),  # momentum 0 is plain SGD
    ("momentum", HyperParams(lr=0.05, momentum=0.5, weight_decay=0.01)),
    ("nesterov", HyperParams(lr=0.05, momentum=0.9)),
    ("nesterov", HyperParams(lr=0.05, momentum=0.9, weight_decay=0.05)),
    ("adam", HyperParams(lr=0.01, momentum=0.9)),
    ("adam", HyperParams(lr=0.01, momentum=0.9, weight_decay=0.05)),
    ("adam", HyperParams(lr=0.03, momentum=0.5, weight_decay=0.01)),
]


# ---- step for step against torch.optim --------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize(("name", "hp"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_optim_step_for_step(name, hp, activation):
    spec = _spec(activation)
    x, y = _batch()
    theta = networks.init_params(spec, scale=1.5, seed=3).to(DT)
    model, params = _torch_model(spec, theta)
    assert torch.equal(_flat(params), theta)
    reference = _torch_optimizer(name, params, hp)
    opt = OPTIMIZERS[name]
    state = opt.init(theta)
    moved = 0.0
    for step in range(20):
        # core: gradient of the functional loss at its own theta, pure update
        th = theta.clone().requires_grad_()
        (g,) = torch.autograd.grad(networks.loss_fn(spec, th, x, y), th)
        delta, state = opt.update(g, state, theta, hp)
        theta = theta + delta
        # torch: its own model, its own optimizer
        reference.zero_grad()
        F.cross_entropy(model(x), y).backward()
        reference.step()
        torch.testing.assert_close(theta, _flat(params), rtol=1e-9, atol=1e-12, msg=f"{name} step {step + 1}")
        moved = max(moved, float(delta.abs().max()))
    assert moved > 1e-4  # the parameters really moved, so the comparison means something


def test_adam_constants_are_torch_defaults_of_the_spec():
    assert ADAM_BETA2 == 0.999
    assert ADAM_EPS == 1e-8


def test_first_adam_step_has_length_lr_per_coordinate():
    """Closed form: after bias correction Adam's first step is -lr * g / (|g| + eps) elementwise."""
    g = torch.tensor([3.0, -0.5, 1e-3, -20.0], dtype=DT)
    theta = torch.zeros(4, dtype=DT)
    delta, state = OPTIMIZERS["adam"].update(g, OPTIMIZERS["adam"].init(theta), theta, HyperParams(0.1, 0.9))
    torch.testing.assert_close(delta, -0.1 * g / (g.abs() + 1e-8), rtol=1e-12, atol=0)
    assert state.t == 1


def test_weight_decay_is_an_l2_term_in_the_gradient():
    """One SGD step with decay equals a step on g + wd * theta (closed form)."""
    theta = torch.tensor([1.0, -2.0, 3.0], dtype=DT)
    g = torch.tensor([0.5, 0.5, -1.0], dtype=DT)
    delta, _ = OPTIMIZERS["sgd"].update(g, OPTIMIZERS["sgd"].init(theta), theta, HyperParams(0.1, weight_decay=0.2))
    torch.testing.assert_close(delta, -0.1 * (g + 0.2 * theta), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_update_is_pure(name):
    """update() leaves its inputs untouched: the state it was given can be replayed to the same result."""
    theta = torch.tensor([1.0, -2.0, 0.5], dtype=DT)
    g = torch.tensor([0.3, 0.1, -0.7], dtype=DT)
    hp = HyperParams(0.1, 0.9, weight_decay=0.01)
    opt = OPTIMIZERS[name]
    _, state = opt.update(g, opt.init(theta), theta, hp)
    saved = [t.clone() if torch.is_tensor(t) else t for t in state]
    theta_saved, g_saved = theta.clone(), g.clone()
    d1, _ = opt.update(g, state, theta, hp)
    d2, _ = opt.update(g, state, theta, hp)
    torch.testing.assert_close(d1, d2, rtol=0, atol=0)
    for a, b in zip(state, saved):
        assert torch.equal(a, b) if torch.is_tensor(a) else a == b
    assert torch.equal(theta, theta_saved) and torch.equal(g, g_saved)


# ---- clipping -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("max_norm", [1e-3, 0.1, 1.0, 2.5, 1e3])
def test_clip_by_norm_matches_clip_grad_norm(max_norm):
    gen = torch.Generator().manual_seed(1)
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    grads = [torch.randn(s, generator=gen) * 0.7 for s in shapes]
    params = [torch.zeros(s, requires_grad=True) for s in shapes]
    for p, gr in zip(params, grads):
        p.grad = gr.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    g = torch.cat([t.reshape(-1) for t in grads])
    norm = torch.linalg.vector_norm(g)
    torch.testing.assert_close(norm, total)
    clipped = clip_by_norm(g, norm, max_norm)
    torch.testing.assert_close(clipped, _flat([p.grad for p in params]), rtol=1e-6, atol=1e-9)
    expected = min(float(norm), max_norm)
    assert float(torch.linalg.vector_norm(clipped)) == pytest.approx(expected, rel=1e-5)


def test_clip_by_norm_zero_means_off():
    g = torch.tensor([30.0, -40.0])
    assert torch.equal(clip_by_norm(g, torch.linalg.vector_norm(g), 0.0), g)
    clipped = clip_by_norm(g, torch.linalg.vector_norm(g), 5.0)
    torch.testing.assert_close(clipped, torch.tensor([3.0, -4.0]), rtol=1e-6, atol=0)


# ---- convergence table: optimizers x problems (optax style) -------------------------------------------
A_QUAD = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=DT)  # SPD, condition ~ 2.6
B_QUAD = torch.tensor([1.0, -2.0], dtype=DT)


def _quad_grad(x):
    return A_QUAD @ x - B_QUAD


def _rosen_grad(x):
    """f = (1 - x)^2 + 5 (y - x^2)^2, minimum at (1, 1)."""
    return torch.stack([-2 * (1 - x[0]) - 20 * x[0] * (x[1] - x[0] ** 2), 10 * (x[1] - x[0] ** 2)])


PROBLEMS = {
    "quadratic": (_quad_grad, torch.tensor([3.0, 2.0], dtype=DT), torch.linalg.solve(A_QUAD, B_QUAD)),
    "rosenbrock": (_rosen_grad, torch.tensor([-1.0, 1.5], dtype=DT), torch.tensor([1.0, 1.0], dtype=DT)),
}
SETTINGS = {
    "sgd": HyperParams(lr=0.02),
    "momentum": HyperParams(lr=0.01, momentum=0.9),
    "nesterov": HyperParams(lr=0.01, momentum=0.9),
    "adam": HyperParams(lr=0.02, momentum=0.9),
}


def _minimise(name, grad, x0, hp, steps=2000):
    opt = OPTIMIZERS[name]
    x, state = x0.clone(), opt.init(x0)
    for _ in range(steps):
        delta, state = opt.update(grad(x), state, x, hp)
        x = x + delta
    return x


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name", FIRST_ORDER)
def test_optimizer_reaches_known_minimum(name, problem):
    grad, x0, x_star = PROBLEMS[problem]
    x = _minimise(name, grad, x0, SETTINGS[name])
    assert float(torch.linalg.vector_norm(x0 - x_star)) > 1.0
    assert float(torch.linalg.vector_norm(x - x_star)) < 1e-4, (name, problem, x)


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_weight_decay_moves_the_minimum_to_the_ridge_solution(name):
    """With decay wd on the quadratic, the fixed point is (A + wd I)^-1 b (closed form)."""
    wd = 0.5
    hp = SETTINGS[name]._replace(weight_decay=wd)
    x = _minimise(name, _quad_grad, torch.tensor([3.0, 2.0], dtype=DT), hp)
    ridge = torch.linalg.solve(A_QUAD + wd * torch.eye(2, dtype=DT), B_QUAD)
    assert float(torch.linalg.vector_norm(ridge - PROBLEMS["quadratic"][2])) > 0.1
    assert float(torch.linalg.vector_norm(x - ridge)) < 1e-4
