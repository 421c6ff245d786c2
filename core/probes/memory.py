"""Long-term dependencies in a recurrent network (DL §8.2.5, §10.7): how the loss's gradient reaches each hidden
state, the loss along a line through a cliff, and what one plain or clipped gradient step does there.

All three evaluate J, the mean loss (cross-entropy, or the mean squared error of a regression) of theta on the data
given, full batch. Definitions: docs/definitions.md, the last section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from core.model import networks
from core.model.config import TrainConfig, from_dict
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


# ---- the cliff of a trained RNN (the Long-term dependencies page's cliff view) ---------------------------------
CLIFF_SETTING = {"dataset": "copy", "model": "rnn", "hidden": [16], "n_samples": 500, "optimizer": "adam",
                 "lr": 0.01, "batch_size": 32, "steps": 1500, "device": "cpu"}
SPAN_SHARE, LINE_POINTS = 0.01, 201  # the line runs over 1% of ‖θ_final‖, in steps of 0.005% of it


def cliff_config(seq_len: int = 30, init_scale: float = 3.0, seed: int = 0) -> TrainConfig:
    """The run whose loss has a cliff near θ_final (measured: docs/definitions.md, Cliffs): a tanh RNN, H = 16, on
    copy with 500 sequences, Adam ε = 0.01, batch 32, 1,500 steps, at T, init_scale and seed given."""
    return from_dict({**CLIFF_SETTING, "seq_len": int(seq_len), "init_scale": float(init_scale), "seed": int(seed)})


@dataclass
class CliffProbe:
    """cliff_probe's answer: the line (CLIFF_COLUMNS) along u = −∇J/‖∇J‖ from θ, the face s_face on it (its largest
    ‖∇J‖), and the plain and clipped descents (DESCENT_COLUMNS) from θ_c = θ + s_face·u."""

    line: pd.DataFrame
    plain: pd.DataFrame
    clipped: pd.DataFrame
    face_s: float
    theta_norm: float
    grad_norm: float


def cliff_probe(spec, data, theta: torch.Tensor, lr: float, clip_norm: float, steps: int,
                span_share: float = SPAN_SHARE, points: int = LINE_POINTS) -> CliffProbe:
    """Walk from theta down its own gradient's direction u = −∇J/‖∇J‖ for s in 0..span_share·‖θ‖ (cliff_line, with
    ‖∇J‖), take the point of the largest ‖∇J‖ after s = 0 as the cliff face θ_c, and descend from θ_c for `steps`
    full-batch steps of lr, plain and clipped to clip_norm (descend)."""
    if not (lr > 0 and clip_norm > 0 and int(steps) >= 1):
        raise ValueError(f"the cliff probe needs lr > 0, clip_norm > 0 and steps >= 1, got {lr}, {clip_norm}, {steps}")
    theta = theta.to(data.x_train.device)
    _, g = _loss_and_gradient(spec, theta, data.x_train, data.y_train)
    g_norm, theta_norm = torch.linalg.vector_norm(g).item(), torch.linalg.vector_norm(theta).item()
    if not g_norm > 0 or not np.isfinite(g_norm):
        raise ValueError(f"the gradient at θ is {g_norm}: no direction to walk")
    u = -g / g_norm
    line = cliff_line(spec, data, theta, u, span_share * theta_norm, points)
    face_s = float(line.s[int(line.grad_norm.iloc[1:].fillna(-1.0).to_numpy().argmax()) + 1])
    face = theta + face_s * u
    return CliffProbe(line, descend(spec, data, face, lr, 0.0, steps), descend(spec, data, face, lr, clip_norm, steps),
                      face_s, theta_norm, g_norm)
