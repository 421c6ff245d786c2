"""Signal through depth at initialisation (definitions §13; DL §8.2.5, §8.4): how the forward activations and the
backward gradients of an MLP grow or shrink layer by layer, for several initialisation scales.

For the config's data set and activation, each scale s draws θ = init_params(spec, s, config.seed): every weight and
bias U(−s/√fan_in, s/√fan_in). A batch of n training inputs goes forward; per hidden layer ℓ = 1..L the std of its
post-activation h_ℓ over all entries (examples x units), and the norm of ∂J_batch/∂W_ℓ, the gradient of the batch's
mean loss with respect to that layer's weight matrix; layer L + 1 is the output layer (the std of its logits).

With a linear activation each layer multiplies the mean square of its input by fan_in · s²/(3 fan_in) = s²/3 (plus
s²/(3 fan_in) from the bias), so the std changes by about s/√3 a layer: s = √3 keeps it, smaller scales let it die
out, larger ones explode it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch

from core.model import networks
from core.model.build import model_and_data

MAX_SIGNAL_DEPTH = 10  # hidden layers an override may have (TrainConfig itself allows MAX_DEPTH = 6)
MAX_SIGNAL_WIDTH = 1024
MAX_SCALE = 100.0
SIGNAL_COLUMNS = ["scale", "layer", "activation_std", "grad_norm"]


def check_hidden(hidden) -> tuple[int, ...]:
    """The override's widths as a tuple, or one ValueError: 1 to MAX_SIGNAL_DEPTH widths, each 1 to 1024."""
    ok = isinstance(hidden, (list, tuple)) and 1 <= len(hidden) <= MAX_SIGNAL_DEPTH and all(
        isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_SIGNAL_WIDTH for h in hidden)
    if not ok:
        shown = list(hidden) if isinstance(hidden, (list, tuple)) else hidden
        raise ValueError(f"hidden must be 1 to {MAX_SIGNAL_DEPTH} widths, each a whole number from 1 to "
                         f"{MAX_SIGNAL_WIDTH}, got {shown!r}")
    return tuple(hidden)


def check_scales(scales) -> list[float]:
    """The scales as floats, or one ValueError: at least one, each finite, > 0 and <= 100."""
    values = list(scales)
    for s in values:
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s <= MAX_SCALE:
            raise ValueError(f"each init scale must be a number > 0 and <= {MAX_SCALE:g}, got {s!r}")
    if not values:
        raise ValueError("give at least one init scale")
    return [float(s) for s in values]


def signal_batch(n_train: int, n: int, seed: int) -> torch.Tensor:
    """Indices of the batch: the first min(n, N) of torch.randperm(N) under a generator seeded with `seed`."""
    return torch.randperm(n_train, generator=torch.Generator().manual_seed(seed))[: min(n, n_train)]


def layer_signal(spec: networks.MLP, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor):
    """(activation stds, weight-gradient norms), one of each per layer 1..L+1, for θ (P,) on the batch (x, y).

    activation std: the population std (divide by the count) of all entries of h_ℓ = act(W_ℓ h_{ℓ−1} + b_ℓ)
    (h_0 = x; for maxout the max over the pieces), and of the logits at ℓ = L + 1. grad norm: ‖∂J/∂W_ℓ‖_F, J the
    batch's mean loss (networks.loss_fn)."""
    params = spec.split(theta)
    act = networks.ACTIVATIONS[spec.activation]
    stds, h = [], x
    with torch.no_grad():
        for k in range(0, len(params), 2):
            z = torch.nn.functional.linear(h, params[k], params[k + 1])
            h = act(z) if k + 2 < len(params) else z
            stds.append(h.double().std(correction=0).item() if h.numel() else float("nan"))
    theta = theta.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(networks.loss_fn(spec, theta, x, y), theta)
    norms = [torch.linalg.vector_norm(w.double()).item() for w in spec.split(g)[0::2]]
    return stds, norms


def depth_signal(config, scales, n: int = 512, seed: int = 0, hidden=None) -> pd.DataFrame:
    """Rows (scale, layer, activation_std, grad_norm) for layers 1..L+1 of the config's MLP (its data set, activation,
    hidden widths, or `hidden` instead: 1 to 10 layers) at each init scale; θ = init_params(spec, scale,
    config.seed), on a batch of n training inputs (signal_batch; all of them when the split is smaller), on the CPU.
    The definitions are layer_signal's."""
    scales = check_scales(scales)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1 (examples in the batch), got {n!r}")
    widths = None if hidden is None else check_hidden(hidden)
    spec, data = model_and_data(config.replace(device="cpu"))
    if not isinstance(spec, networks.MLP):
        raise ValueError("the signal through depth is defined for an MLP; this config names another network")
    if widths is not None:
        spec = dataclasses.replace(spec, hidden=widths)
    idx = signal_batch(len(data.y_train), n, seed)
    x, y = data.x_train[idx], data.y_train[idx]
    rows = []
    for s in scales:
        stds, norms = layer_signal(spec, networks.init_params(spec, s, config.seed), x, y)
        rows += [(s, layer, a, g) for layer, (a, g) in enumerate(zip(stds, norms), start=1)]
    return pd.DataFrame(rows, columns=SIGNAL_COLUMNS)


def log_slope(frame: pd.DataFrame, scale: float, column: str = "activation_std", first: int = 1,
              last: int | None = None) -> float:
    """Least-squares slope of log(column) against the layer number over layers first..last (default: the hidden
    layers) at one scale: the log of the per-layer growth factor (log(s/√3) for a wide linear network)."""
    rows = frame[(frame["scale"] == scale) & (frame["layer"] >= first)]
    last = int(rows["layer"].max()) - 1 if last is None else last
    rows = rows[(rows["layer"] <= last) & (rows[column] > 0)]
    if len(rows) < 2:
        return float("nan")
    return float(np.polyfit(rows["layer"].to_numpy(float), np.log(rows[column].to_numpy(float)), 1)[0])
