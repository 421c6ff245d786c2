"""Long-term dependencies in a recurrent network (DL §8.2.5, §10.7): how the loss's gradient reaches each hidden
state, the loss along a line through a cliff, and what one plain or clipped gradient step does there.

All three evaluate J, the mean loss (cross-entropy, or the mean squared error of a regression) of theta on the data
given, full batch. Definitions: docs/definitions.md, the last section.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from core.model import networks
from core.model.optim import clip_by_norm

CLIFF_COLUMNS = ["s", "loss", "error", "grad_norm"]
DESCENT_COLUMNS = ["step", "loss", "grad_norm", "step_length", "distance"]


def _recurrent(spec) -> None:
    if spec.kind not in ("rnn", "lstm"):
        raise ValueError(f"this probe reads a recurrent network's hidden states; the model is an {spec.kind}")


def state_gradient_norms(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """‖∂J/∂h_t‖ for t = 1..T, (T,) float64: the Frobenius norm over the batch of the gradient of the mean loss J on
    (x, y) with respect to the hidden states h_t (N, H), through every later step (autograd on the step-by-step
    states, recurrent.RNN.loop_states). For the LSTM, h_t is the output state; its cell c_t is held fixed."""
    _recurrent(spec)
    params = spec.split(theta.detach().to(x.dtype).requires_grad_())
    states = spec.loop_states(params, x)
    loss = networks.batch_loss(spec, F.linear(states[-1], params[4], params[5]), y)
    grads = torch.autograd.grad(loss, states)
    return torch.stack([torch.linalg.vector_norm(g.double()) for g in grads])


def _loss_and_gradient(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor):
    """(J, ∇J) at theta: a float and a (P,) tensor."""
    leaf = theta.detach().requires_grad_()
    loss = networks.loss_fn(spec, leaf, x, y)
    (g,) = torch.autograd.grad(loss, leaf)
    return loss.item(), g


def cliff_line(spec, data, theta: torch.Tensor, direction: torch.Tensor, span, points: int = 201,
               gradient: bool = True) -> pd.DataFrame:
    """The loss along θ + s·direction on the training split: CLIFF_COLUMNS per s, s evenly spaced over span, a pair
    (s_min, s_max) or a number (0 to span); error as networks.evaluate; grad_norm ‖∇J‖₂ there (NaN when gradient is
    False). The direction is taken as given (not normalised)."""
    lo, hi = (0.0, float(span)) if np.isscalar(span) else (float(span[0]), float(span[1]))
    if not int(points) >= 2 or not np.isfinite([lo, hi]).all() or hi <= lo:
        raise ValueError(f"a cliff line needs at least 2 points over a finite span lo < hi, got {points} over "
                         f"{lo}..{hi}")
    x, y = data.x_train, data.y_train
    theta, direction = theta.to(x.device), direction.to(x.device, theta.dtype)
    rows = []
    for s in np.linspace(lo, hi, int(points)):
        at = theta + float(s) * direction
        loss, error = networks.evaluate(spec, at, x, y)
        g_norm = torch.linalg.vector_norm(_loss_and_gradient(spec, at, x, y)[1]).item() if gradient else np.nan
        rows.append({"s": float(s), "loss": loss, "error": error, "grad_norm": g_norm})
    return pd.DataFrame(rows, columns=CLIFF_COLUMNS)


def cliff_step(spec, data, theta: torch.Tensor, lr: float, clip_norm: float) -> dict:
    """One full-batch gradient step from theta, plain and clipped to clip_norm (optim.clip_by_norm, as Run clips):
    the loss before, the gradient norm, each step's length and the loss after it."""
    x, y = data.x_train, data.y_train
    theta = theta.to(x.device)
    loss, g = _loss_and_gradient(spec, theta, x, y)
    g_norm = torch.linalg.vector_norm(g)
    out = {"loss": loss, "grad_norm": g_norm.item()}
    for name, step in (("unclipped", g), ("clipped", clip_by_norm(g, g_norm, clip_norm))):
        out[f"{name}_length"] = lr * torch.linalg.vector_norm(step).item()
        out[f"{name}_loss"] = networks.evaluate(spec, theta - lr * step, x, y)[0]
    return out


def descend(spec, data, theta: torch.Tensor, lr: float, clip_norm: float, steps: int) -> pd.DataFrame:
    """Full-batch gradient descent θ ← θ − lr·clip(∇J) from theta (clip_norm 0: none, else optim.clip_by_norm):
    DESCENT_COLUMNS per step k = 0..steps, the loss and gradient norm at θ_k, the length of the step that led there
    and the distance ‖θ_k − θ_0‖₂."""
    x, y = data.x_train, data.y_train
    start = theta.to(x.device)
    at, length, rows = start, float("nan"), []
    for k in range(int(steps) + 1):
        loss, g = _loss_and_gradient(spec, at, x, y)
        g_norm = torch.linalg.vector_norm(g)
        rows.append({"step": k, "loss": loss, "grad_norm": g_norm.item(), "step_length": length,
                     "distance": torch.linalg.vector_norm(at - start).item()})
        step = lr * clip_by_norm(g, g_norm, clip_norm)
        at, length = at - step, torch.linalg.vector_norm(step).item()
    return pd.DataFrame(rows, columns=DESCENT_COLUMNS)
