"""A functional MLP whose parameters are one flat vector theta (P,) in a fixed order."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """Layer sizes and activation; theta holds W1, b1, W2, b2, ... row-major, nn.Linear's layout."""

    n_in: int
    hidden: tuple[int, ...]
    n_out: int
    activation: str = "relu"

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
        out, at = [], 0
        lead = theta.shape[:-1]
        for w, b in self.shapes:
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


def init_params(spec: MLP, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """PyTorch's nn.Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), times scale; (P,) on the CPU."""
    gen = torch.Generator().manual_seed(seed)
    parts = []
    for (fan_out, fan_in), _ in spec.shapes:
        bound = scale / math.sqrt(fan_in)
        parts.append((torch.rand(fan_out * fan_in + fan_out, generator=gen) * 2 - 1) * bound)
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


def forward(spec: MLP, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits (N, n_out) for inputs x (N, n_in)."""
    return forward_hidden(spec, params, F.linear(x, params[0], params[1]))


def loss_fn(spec: MLP, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of theta (P,) on (x, y); a pure function for torch.func."""
    return F.cross_entropy(forward(spec, spec.split(theta), x), y)


@torch.no_grad()
def evaluate(spec: MLP, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, chunk: int = 8192):
    """(mean loss, error rate) over a whole split, as Python floats."""
    params = spec.split(theta)
    loss_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    wrong = torch.zeros((), device=x.device, dtype=torch.int64)
    for i in range(0, len(y), chunk):
        logits = forward(spec, params, x[i : i + chunk])
        loss_sum += F.cross_entropy(logits, y[i : i + chunk], reduction="sum").double()
        wrong += (logits.argmax(1) != y[i : i + chunk]).sum()
    n = max(len(y), 1)
    return loss_sum.item() / n, wrong.item() / n


def from_config(config, n_in: int, n_out: int) -> MLP:
    """The MLP a TrainConfig names."""
    return MLP(n_in, tuple(config.hidden), n_out, config.activation)
