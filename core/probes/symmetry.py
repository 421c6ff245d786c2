"""Weight-space symmetry (DL §8.2.2, definitions §7): permuting a layer's hidden units, or rescaling a ReLU or maxout
unit's incoming weights by a > 0 and its outgoing weights by 1/a, leaves the network's function unchanged; and
weight matching (Ainsworth et al. 2023, Git Re-Basin) finds the permutation of B's units that best lines them up
with A's, so that the line between two solutions can be drawn between like units."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from core.model.networks import MAXOUT_PIECES, MLP

RESCALABLE = ("relu", "linear", "maxout")  # positive scaling commutes with these activations
MAX_SWEEPS = 100


def _pieces(spec: MLP) -> int:
    return MAXOUT_PIECES if spec.activation == "maxout" else 1


def _rows(perm: torch.Tensor, pieces: int) -> torch.Tensor:
    """Row order of a layer's weights for a permutation of its units (a maxout unit owns `pieces` adjacent rows)."""
    return (perm[:, None] * pieces + torch.arange(pieces)).reshape(-1)


def permute(spec: MLP, theta: torch.Tensor, perms: list[torch.Tensor]) -> torch.Tensor:
    """θ with hidden layer l's units reordered by perms[l] (new unit i = old unit perms[l][i]): the rows (and bias)
    of the layer's weights and the matching columns of the next layer's. The function is the same."""
    if len(perms) != len(spec.hidden):
        raise ValueError(f"need one permutation per hidden layer ({len(spec.hidden)}), got {len(perms)}")
    params = [p.clone() for p in spec.split(theta)]
    for layer, perm in enumerate(perms):
        if sorted(perm.tolist()) != list(range(spec.hidden[layer])):
            raise ValueError(f"layer {layer + 1}'s permutation must reorder 0..{spec.hidden[layer] - 1}")
        rows = _rows(perm, _pieces(spec))
        params[2 * layer] = params[2 * layer][rows]
        params[2 * layer + 1] = params[2 * layer + 1][rows]
        params[2 * layer + 2] = params[2 * layer + 2][:, perm]
    return torch.cat([p.reshape(-1) for p in params])


def random_permutations(spec: MLP, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(int(seed))
    return [torch.randperm(width, generator=generator) for width in spec.hidden]


def rescale(spec: MLP, theta: torch.Tensor, layer: int, unit: int, a: float) -> torch.Tensor:
    """θ with hidden unit `unit` of layer `layer` (0-based) scaled: incoming weights and bias × a, outgoing × 1/a.
    The function is the same for relu, linear and maxout units and a > 0 (Dinh et al. 2017)."""
    if spec.activation not in RESCALABLE:
        raise ValueError(f"rescaling keeps the function only for {', '.join(RESCALABLE)} units, not "
                         f"{spec.activation}")
    if not a > 0:
        raise ValueError(f"the scale must be positive, got {a}")
    params = [p.clone() for p in spec.split(theta)]
    rows = _rows(torch.tensor([unit]), _pieces(spec))
    params[2 * layer][rows] *= a
    params[2 * layer + 1][rows] *= a
    params[2 * layer + 2][:, unit] /= a
    return torch.cat([p.reshape(-1) for p in params])


def _unit_rows(weight: torch.Tensor, bias: torch.Tensor, pieces: int) -> torch.Tensor:
    """(units, pieces·(in + 1)): each unit's incoming weights and bias as one vector."""
    both = torch.cat([weight, bias[:, None]], dim=1)
    return both.reshape(-1, pieces * both.shape[1])


def match_objective(spec: MLP, theta_a: torch.Tensor, theta_b: torch.Tensor) -> float:
    """Σ over layers of <W_A, W_B> (weights and biases): what weight matching maximises over B's permutations."""
    return float(torch.dot(theta_a.double(), theta_b.double()))


def weight_matching(spec: MLP, theta_a: torch.Tensor, theta_b: torch.Tensor, seed: int = 0) -> list[torch.Tensor]:
    """The permutations of B's hidden units that maximise Σ_l <W_A,l, P_l W_B,l P_{l−1}ᵀ> (Ainsworth et al. 2023):
    one layer at a time by linear assignment, the others held, sweeping the layers in random order until no
    permutation changes."""
    pieces, n = _pieces(spec), len(spec.hidden)
    a = [p.double() for p in spec.split(theta_a)]
    perms = [torch.arange(width) for width in spec.hidden]
    rng = np.random.default_rng(seed)
    for _ in range(MAX_SWEEPS):
        changed = False
        for layer in rng.permutation(n).tolist():
            b = [p.double() for p in spec.split(permute(spec, theta_b, perms))]
            incoming = _unit_rows(a[2 * layer], a[2 * layer + 1], pieces) @ _unit_rows(
                b[2 * layer], b[2 * layer + 1], pieces).T  # (units, units): A's unit i against B's unit j
            outgoing = a[2 * layer + 2].T @ b[2 * layer + 2]
            _, cols = linear_sum_assignment((incoming + outgoing).numpy(), maximize=True)
            step = torch.as_tensor(cols)
            if not torch.equal(step, torch.arange(len(step))):
                perms[layer], changed = perms[layer][step], True
        if not changed:
            break
    return perms
