"""A functional MLP whose parameters are one flat vector theta (P,) in a fixed order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

MAXOUT_PIECES = 2
EXACT_HESSIAN_MAX_PARAMS = 2500  # the full P x P Hessian (Newton, exact spectra) is built only up to here

ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda z: z,
    "maxout": lambda z: z.unflatten(-1, (-1, MAXOUT_PIECES)).amax(-1),
}


@dataclass(frozen=True)
class MLP:
    """Layer sizes and activation; theta holds W1, b1, W2, b2, ... row-major, nn.Linear's layout. task:
    "classification" (n_out logits, cross-entropy) or "regression" (one output, mean squared error)."""

    n_in: int
    hidden: tuple[int, ...]
    n_out: int
    activation: str = "relu"
    task: str = "classification"
    kind: ClassVar[str] = "mlp"

    @property
    def shapes(self) -> list[tuple[tuple[int, int], tuple[int]]]:
        """(weight shape, bias shape) per layer; a maxout layer has PIECES x width units."""
        pieces = MAXOUT_PIECES if self.activation == "maxout" else 1
        sizes_in = (self.n_in, *self.hidden)
        sizes_out = [h * pieces for h in self.hidden] + [self.n_out]
        return [((o, i), (o,)) for i, o in zip(sizes_in, sizes_out)]

    @property
    def n_params(self) -> int:
        return sum(math.prod(w) + b[0] for w, b in self.shapes)

    def split(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """Views [W1, b1, W2, b2, ...] into theta (P,), or into a batch (..., P)."""
        return split_flat(self.shapes, theta)


def split_flat(shapes, theta: torch.Tensor) -> list[torch.Tensor]:
    """Views [W1, b1, W2, b2, ...] of the (weight shape, bias shape) pairs into theta (P,), or a batch (..., P)."""
    out, at = [], 0
    lead = theta.shape[:-1]
    for w, b in shapes:
        for shape in (w, b):
            n = math.prod(shape)
            out.append(theta[..., at : at + n].view(*lead, *shape))
            at += n
    return out


def check_exact_hessian(n_params: int, what: str, instead: str) -> None:
    """Refuse an exact P x P Hessian above EXACT_HESSIAN_MAX_PARAMS, with a sentence naming `what` needs it."""
    if n_params > EXACT_HESSIAN_MAX_PARAMS:
        raise ValueError(f"{what} needs the exact {n_params} x {n_params} Hessian; this model has {n_params} "
                         f"parameters, above the limit of {EXACT_HESSIAN_MAX_PARAMS}. {instead}")


def init_params(spec, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """PyTorch's nn.Linear and nn.Conv default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, times
    scale; (P,) on the CPU. fan_in = prod(weight shape[1:]): inputs of a linear unit, in-channels x kernel of a conv.
    A spec with init_bounds() (recurrent.RNN: U(-1/sqrt(H), 1/sqrt(H))) gives its own bound per entry of shapes."""
    gen = torch.Generator().manual_seed(seed)
    parts = []
    own = spec.init_bounds() if hasattr(spec, "init_bounds") else None
    for k, (w, b) in enumerate(spec.shapes):
        bound = scale * own[k] if own else scale / math.sqrt(math.prod(w[1:]))
        parts.append((torch.rand(math.prod(w) + b[0], generator=gen) * 2 - 1) * bound)
    return torch.cat(parts)


def forward_hidden(spec: MLP, params: list[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """Logits from the first layer's pre-activation z (N, units1) and the remaining params."""
    act = ACTIVATIONS[spec.activation]
    for i in range(1, len(params) // 2):
        z = F.linear(act(z), params[2 * i], params[2 * i + 1])
    return z


def forward_on_line(spec: MLP, p0: list[torch.Tensor], d: list[torch.Tensor], z0: torch.Tensor, dz: torch.Tensor,
                    a: float) -> torch.Tensor:
    """Logits (N, n_out) at θ = θ₀ + a·d from layer 1's pre-activation z0 + a·dz (N, units1): the one forward pass
    with weights on a line (interpolation, the loss plane), plain matrix products, fastest on a CPU. p0 and d are
    spec.split(θ₀) and spec.split(d)."""
    z = torch.add(z0, dz, alpha=a)
    for k in range(2, len(p0), 2):
        h = z.relu_() if spec.activation == "relu" else ACTIVATIONS[spec.activation](z)
        z = F.linear(h, torch.add(p0[k], d[k], alpha=a), torch.add(p0[k + 1], d[k + 1], alpha=a))
    return z


def forward(spec, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Outputs (N, n_out) for flat inputs x (N, n_in): logits, or the prediction (N, 1) of a regression."""
    if spec.kind != "mlp":
        return spec.forward(params, x)
    return forward_hidden(spec, params, F.linear(x, params[0], params[1]))


def sample_losses(spec, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample loss of outputs out (..., N, n_out) against y (N,): cross-entropy, or the squared error of a
    regression's one output; any leading dims (several θ at once) are kept."""
    if spec.task == "regression":
        return (out[..., 0] - y).square()
    if out.dim() == 2:
        return F.cross_entropy(out, y, reduction="none")
    return F.cross_entropy(out.flatten(0, -2), y.expand(*out.shape[:-1]).reshape(-1), reduction="none").view(
        out.shape[:-1])


def sample_errors(spec, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample error (..., N), float64: 1 where the class is wrong, or the squared error of a regression (whose
    error over a split is then the RMSE: finish_error)."""
    if spec.task == "regression":
        return (out[..., 0].double() - y.double()).square()
    return (out.argmax(-1) != y).double()


def finish_error(spec, mean_error: float | torch.Tensor):
    """The error of a split from the mean of sample_errors: the error rate, or a regression's root mean square."""
    return mean_error**0.5 if spec.task == "regression" else mean_error


def batch_loss(spec, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean loss of outputs (N, n_out) against y: what training minimises (cross-entropy, or the mean squared error)."""
    if spec.task == "regression":
        return F.mse_loss(out[:, 0], y)
    return F.cross_entropy(out, y)


def loss_fn(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean loss of theta (P,) on (x, y): cross-entropy, or the mean squared error; a pure function for torch.func."""
    return batch_loss(spec, forward(spec, spec.split(theta), x), y)


@torch.no_grad()
def evaluate(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, chunk: int = 8192):
    """(mean loss, error) over a whole split, as Python floats: the error rate, or a regression's RMSE."""
    params = spec.split(theta)
    loss_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    err_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    for i in range(0, len(y), chunk):
        out, yc = forward(spec, params, x[i : i + chunk]), y[i : i + chunk]
        if spec.task == "regression":
            loss_sum += sample_losses(spec, out, yc).double().sum()
        else:
            loss_sum += F.cross_entropy(out, yc, reduction="sum").double()
        err_sum += sample_errors(spec, out, yc).sum()
    n = max(len(y), 1)
    return loss_sum.item() / n, finish_error(spec, err_sum.item() / n)


def from_config(config, n_in: int, n_out: int, task: str = "classification") -> MLP:
    """The MLP a TrainConfig names."""
    return MLP(n_in, tuple(config.hidden), n_out, config.activation, task)
