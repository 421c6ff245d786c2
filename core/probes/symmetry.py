"""Weight-space symmetry (DL §8.2.2, definitions §7): permuting a layer's hidden units, or rescaling a ReLU or maxout
unit's incoming weights by a > 0 and its outgoing weights by 1/a, leaves the network's function unchanged; and
weight matching (Ainsworth et al. 2023, Git Re-Basin) finds the permutation of B's units that best lines them up
with A's, so that the line between two solutions can be drawn between like units. The Minima page's numbers come
from here: a permuted copy, rescaled copies with their λ_max, two runs aligned, and the aligned barrier per width."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
import torch
from scipy.optimize import linear_sum_assignment

from core.model.build import model_and_data
from core.model.networks import MAXOUT_PIECES, MLP, evaluate, forward
from core.probes import curvature, spectrum
from core.probes.interpolation import alpha_grid, curve_metrics, interpolate

RESCALABLE = ("relu", "linear", "maxout")  # positive scaling commutes with these activations
MAX_SWEEPS = 100
ALPHAS = alpha_grid(0.0, 1.0, 41)  # the lines of the Minima page
SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # the rescaled copies drawn (a = 1 is the run itself)
LAMBDA_TOL = 1e-4  # relative tolerance of λ_max (Lanczos)


def units_problem(spec, verb: str) -> str | None:
    """Why a network has no hidden units to `verb` (permute, align, rescale) here, or None when it has."""
    if spec.kind != "mlp":
        return (f"This page's permutations and rescalings are written for fully connected networks; a "
                f"{spec.kind.upper()} has its own symmetries (its channels), which it does not {verb} yet.")
    if not spec.hidden:
        return f"Logistic regression has no hidden units to {verb}: its loss is convex, with one minimum."
    return None


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


def rescale(spec: MLP, theta: torch.Tensor, layer: int, unit: int | None, a: float) -> torch.Tensor:
    """θ with hidden unit `unit` of layer `layer` (0-based; None: every unit of the layer) scaled: incoming weights
    and bias × a, outgoing × 1/a. The function is the same for relu, linear and maxout units and a > 0 (Dinh et al.
    2017): relu(a·z) = a·relu(z), max(a·z₁, a·z₂) = a·max(z₁, z₂); tanh(a·z) ≠ a·tanh(z)."""
    if spec.activation not in RESCALABLE:
        raise ValueError(f"rescaling keeps the function only for {', '.join(RESCALABLE)} units, not "
                         f"{spec.activation}")
    if not a > 0:
        raise ValueError(f"the scale must be positive, got {a}")
    if not 0 <= layer < len(spec.hidden) or not (unit is None or 0 <= unit < spec.hidden[layer]):
        raise ValueError(f"no hidden unit {unit} in layer {layer} of a network with hidden layers {spec.hidden}")
    params = [p.clone() for p in spec.split(theta)]
    rows = slice(None) if unit is None else _rows(torch.tensor([unit]), _pieces(spec))
    params[2 * layer][rows] *= a
    params[2 * layer + 1][rows] *= a
    params[2 * layer + 2][:, slice(None) if unit is None else unit] /= a
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


# ---- what the Minima page draws ---------------------------------------------------------------------------------
def output_gap(spec: MLP, theta0: torch.Tensor, theta1: torch.Tensor, x: torch.Tensor) -> float:
    """The largest difference of any logit on any input between two parameter vectors of one network."""
    with torch.no_grad():
        return float((forward(spec, spec.split(theta0), x) - forward(spec, spec.split(theta1), x)).abs().max())


def line(spec: MLP, data, theta0: torch.Tensor, theta1: torch.Tensor, alphas=ALPHAS) -> tuple[pd.DataFrame, float]:
    """The interpolation frame from θ₀ to θ₁ and the barrier of its train loss (definitions §2)."""
    frame = interpolate(spec, theta0, theta1, data, alphas)
    return frame, curve_metrics(frame["alpha"], frame["train_loss"])["barrier"]


def permuted_copy(spec: MLP, data, theta: torch.Tensor, seed: int = 0, alphas=ALPHAS):
    """(the copy, the line to it, numbers): every hidden layer's units in random order (seeded); numbers holds
    max_output_difference (train and validation inputs), distance ‖θ − θ_perm‖, norm ‖θ‖, distance_ratio and the
    line's barrier."""
    copy = permute(spec, theta, random_permutations(spec, seed))
    frame, barrier = line(spec, data, theta, copy, alphas)
    numbers = {"max_output_difference": output_gap(spec, theta, copy, torch.cat([data.x_train, data.x_val])),
               "distance": float(torch.linalg.vector_norm(copy - theta)),
               "norm": float(torch.linalg.vector_norm(theta)), "barrier": barrier}
    numbers["distance_ratio"] = numbers["distance"] / numbers["norm"] if numbers["norm"] > 0 else float("nan")
    return copy, frame, numbers


def sharpness(spec: MLP, data, theta: torch.Tensor) -> float:
    """λ_max of the Hessian of the mean training loss at θ, in float64 (curvature.top_eigenvalue, Lanczos)."""
    loss = spectrum.split_loss(spec, data, "train", torch.float64)
    return curvature.top_eigenvalue(loss, theta.detach().double(), tol=LAMBDA_TOL)[0]


def rescaled_table(spec: MLP, data, theta: torch.Tensor, layer: int = 0, unit: int | None = None,
                   scales: Sequence[float] = SCALES) -> pd.DataFrame:
    """One row per scale a: the rescaled copy's max_output_difference from θ, its norm ‖θ_a‖ and its λ_max."""
    x, rows = torch.cat([data.x_train, data.x_val]), []
    for a in scales:
        copy = rescale(spec, theta, layer, unit, float(a))
        rows.append({"a": float(a), "max_output_difference": output_gap(spec, theta, copy, x),
                     "norm": float(torch.linalg.vector_norm(copy)), "lambda_max": sharpness(spec, data, copy)})
    return pd.DataFrame(rows, columns=["a", "max_output_difference", "norm", "lambda_max"])


def aligned(spec: MLP, data, theta_a: torch.Tensor, theta_b: torch.Tensor, alphas=ALPHAS):
    """(B with its units matched to A's, the lines A → B and A → aligned B, numbers): barrier_before,
    barrier_after, their ratio, and loss_shift (B's train loss after matching minus before: 0 up to rounding)."""
    matched = permute(spec, theta_b, weight_matching(spec, theta_a, theta_b))
    before, barrier_before = line(spec, data, theta_a, theta_b, alphas)
    after, barrier_after = line(spec, data, theta_a, matched, alphas)
    shift = float(after["train_loss"].iloc[-1] - before["train_loss"].iloc[-1])
    numbers = {"barrier_before": barrier_before, "barrier_after": barrier_after, "loss_shift": shift,
               "loss_shift_size": abs(shift),
               "barrier_ratio": barrier_after / barrier_before if barrier_before > 0 else float("nan")}
    return matched, {"before": before, "after": after}, numbers


BARRIER_COLUMNS = ["width", "seed_a", "seed_b", "barrier_before", "barrier_after", "loss_a", "loss_b"]


def barrier_width_sweep(config, widths: Sequence[int], seeds: Sequence[int],
                        train: Callable[..., torch.Tensor], alphas=ALPHAS,
                        progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The barrier between every pair of seeds' solutions, before and after weight matching, per width.

    Width w makes every hidden layer of `config` w wide (its depth kept); train(config, seeds) returns the final θ
    of each seed, (N, P) (core.train.restarts.train_restarts(...).theta: this layer cannot import training).
    One row per width and pair (BARRIER_COLUMNS); progress(k) is called after the k-th width."""
    if len(seeds) < 2 or not config.hidden:
        raise ValueError("the aligned barrier needs two seeds or more and a network with hidden layers")
    rows = []
    for k, width in enumerate(widths, start=1):
        net = config.replace(hidden=[int(width)] * len(config.hidden))
        spec, data = model_and_data(net.replace(device="cpu"))
        thetas = train(net, list(seeds)).detach().to("cpu", torch.float32)
        losses = [evaluate(spec, t, data.x_train, data.y_train)[0] for t in thetas]
        for i, j in combinations(range(len(seeds)), 2):
            _, _, numbers = aligned(spec, data, thetas[i], thetas[j], alphas)
            rows.append({"width": int(width), "seed_a": seeds[i], "seed_b": seeds[j],
                         "barrier_before": numbers["barrier_before"], "barrier_after": numbers["barrier_after"],
                         "loss_a": float(losses[i]), "loss_b": float(losses[j])})
        if progress is not None:
            progress(k)
    return pd.DataFrame(rows, columns=BARRIER_COLUMNS)
