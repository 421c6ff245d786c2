"""Optimizers as pure pairs init(theta) -> state, update(g, state, theta, hp) -> (delta, state).

Every optimizer works on the flat parameter vector theta (P,). `delta` is added to theta by the caller.
sgd, momentum and nesterov follow torch.optim.SGD and adam follows torch.optim.Adam, step for step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from core.model.networks import check_exact_hessian

ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


class HyperParams(NamedTuple):
    lr: float
    momentum: float = 0.0
    damping: float = 0.0
    weight_decay: float = 0.0


class SGDState(NamedTuple):
    buf: torch.Tensor  # (P,) momentum buffer, zeros before the first step


class AdamState(NamedTuple):
    t: int
    m: torch.Tensor  # (P,) first moment
    v: torch.Tensor  # (P,) second moment


class NoState(NamedTuple):
    pass


class Optimizer(NamedTuple):
    init: Callable
    update: Callable  # update(g, state, theta, hp, hessian=None) -> (delta, state)
    description: str = ""
    needs_hessian: bool = False  # Newton-like: uses the exact Hessian and the damping λ
    uses_momentum: bool = False  # reads hp.momentum (μ, or Adam's β₁)


def _decayed(g, theta, hp):
    return g + hp.weight_decay * theta if hp.weight_decay else g


def _sgd_init(theta):
    return SGDState(torch.zeros_like(theta))


def _make_sgd(use_momentum: bool, nesterov: bool, description: str) -> Optimizer:
    def update(g, state, theta, hp, hessian=None):
        g = _decayed(g, theta, hp)
        if not use_momentum or hp.momentum == 0:
            return -hp.lr * g, state
        buf = torch.add(g, state.buf, alpha=hp.momentum)  # torch: buf = g on the first step, same as zeros here
        direction = g + hp.momentum * buf if nesterov else buf
        return -hp.lr * direction, SGDState(buf)

    return Optimizer(_sgd_init, update, description, uses_momentum=use_momentum)


def _adam_init(theta):
    return AdamState(0, torch.zeros_like(theta), torch.zeros_like(theta))


def _adam_update(g, state, theta, hp, hessian=None):
    g = _decayed(g, theta, hp)
    beta1, t = hp.momentum, state.t + 1
    m = beta1 * state.m + (1 - beta1) * g
    v = ADAM_BETA2 * state.v + (1 - ADAM_BETA2) * g * g
    bias1, bias2 = 1 - beta1**t, 1 - ADAM_BETA2**t
    denom = v.sqrt() / (bias2**0.5) + ADAM_EPS
    return -(hp.lr / bias1) * m / denom, AdamState(t, m, v)


def newton_direction(g: torch.Tensor, hessian: torch.Tensor, damping: float) -> torch.Tensor:
    """(H + damping I)^-1 g through the eigendecomposition of the symmetrised H, in float64.

    A system that is singular at the precision H was computed in (smallest |eigenvalue| of H + damping I
    below P * eps * largest) is a ValueError rather than a huge step.
    """
    h = hessian.double()
    evals, evecs = torch.linalg.eigh(0.5 * (h + h.T))
    shifted = evals + damping
    scale = shifted.abs().max()
    if not torch.isfinite(scale) or shifted.abs().min() <= len(g) * torch.finfo(hessian.dtype).eps * scale:
        raise ValueError(
            f"Newton's step is undefined here: H + {damping:g} I is singular (smallest eigenvalue "
            f"{shifted.abs().min().item():.3g}). Raise the damping."
        )
    return (evecs @ ((evecs.T @ g.double()) / shifted)).to(g.dtype)


def saddle_free_direction(g: torch.Tensor, hessian: torch.Tensor, damping: float) -> torch.Tensor:
    """(|H| + damping I)^-1 g with |H| = V|Λ|Vᵀ (Dauphin et al. 2014), in float64: Newton's step with every
    negative curvature turned positive, so that it moves away from a saddle along the directions Newton
    moves towards it. A zero curvature with no damping is a ValueError."""
    h = hessian.double()
    evals, evecs = torch.linalg.eigh(0.5 * (h + h.T))
    scale = evals.abs() + damping
    top = scale.max()
    if not torch.isfinite(top) or scale.min() <= len(g) * torch.finfo(hessian.dtype).eps * top:
        raise ValueError(
            f"The saddle-free step is undefined here: |H| + {damping:g} I is singular (a zero curvature). "
            "Raise the damping."
        )
    return (evecs @ ((evecs.T @ g.double()) / scale)).to(g.dtype)


def _with_decay(g, theta, hp, hessian):
    if hp.weight_decay:
        g = g + hp.weight_decay * theta
        hessian = hessian + hp.weight_decay * torch.eye(len(g), dtype=hessian.dtype, device=g.device)
    return g, hessian


def _newton_update(g, state, theta, hp, hessian=None):
    g, hessian = _with_decay(g, theta, hp, hessian)
    return -hp.lr * newton_direction(g, hessian, hp.damping), state


def _saddle_free_update(g, state, theta, hp, hessian=None):
    g, hessian = _with_decay(g, theta, hp, hessian)
    return -hp.lr * saddle_free_direction(g, hessian, hp.damping), state


OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": _make_sgd(False, False, "plain stochastic gradient descent: theta -= lr * g"),
    "momentum": _make_sgd(True, False, "heavy-ball momentum (torch.optim.SGD with momentum)"),
    "nesterov": _make_sgd(True, True, "Nesterov momentum (torch.optim.SGD with nesterov=True)"),
    "adam": Optimizer(_adam_init, _adam_update, "Adam, as torch.optim.Adam (beta1 = momentum, beta2 = 0.999)",
                      uses_momentum=True),
    "newton": Optimizer(lambda theta: NoState(), _newton_update, "damped Newton: theta -= lr (H + damping I)^-1 g, "
                        "exact Hessian of the minibatch loss", needs_hessian=True),
    "saddle-free": Optimizer(lambda theta: NoState(), _saddle_free_update, "saddle-free Newton: theta -= lr "
                             "(|H| + damping I)^-1 g, |H| with absolute eigenvalues", needs_hessian=True),
}
"""The optimizers by name: the config, the sidebar, the CLI and the surface races read their names from here."""


def check_newton_size(n_params: int) -> None:
    """Refuse Newton (and saddle-free Newton) where the exact Hessian would not fit comfortably."""
    check_exact_hessian(n_params, "Newton's method (and saddle-free Newton)", "Use fewer or narrower hidden layers, "
                        "or another optimizer.")


def clip_by_norm(g: torch.Tensor, norm: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Scale g to at most max_norm, as torch.nn.utils.clip_grad_norm_ (0 = off)."""
    if not max_norm:
        return g
    return g * torch.clamp(max_norm / (norm + 1e-6), max=1.0)
