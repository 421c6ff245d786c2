"""A 2-D plane through θ_i in parameter space, a trajectory projected onto it, and the loss over it (definitions §5).

The plane is θ(a, b) = θ_i + a d₁ + b d₂ with d₁ = (θ_f − θ_i)/‖θ_f − θ_i‖ and d₂ ⟂ d₁, both of unit length, so
(a, b) are in parameter units: θ_i sits at (0, 0) and θ_f at (‖θ_f − θ_i‖, 0). d₂ is either
  - "pca": the top principal direction of the trajectory's residuals R_t = D_t − (D_t·d₁) d₁, D_t = θ_t − θ_i,
    uncentred (the plane through θ_i that holds d₁ and is nearest the trajectory in the least-squares sense, as in
    Li et al. 2018's PCA of the trajectory), or
  - "random": a seeded Gaussian direction normalised per neuron (each row of each weight matrix scaled to the norm
    of the same row of θ_f, biases zero, Li et al. 2018's filter normalisation), then made orthogonal to d₁ and
    of unit length.
Everything here is float64 and runs over the (K, P) trajectory a few rows at a time, so no float64 (K, P) copy is
made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from core.model.networks import MLP, evaluate, finish_error, forward_on_line, sample_errors, sample_losses
from core.probes.interpolation import interpolate

DIRECTIONS = ("pca", "random")
ROWS = 32  # trajectory rows per float64 chunk


@dataclass(frozen=True)
class Plane:
    """θ(a, b) = origin + a d1 + b d2; d1, d2 orthonormal float64 (P,); length = ‖θ_f − θ_i‖."""

    origin: torch.Tensor
    d1: torch.Tensor
    d2: torch.Tensor
    length: float
    direction: str

    def point(self, a: float, b: float) -> torch.Tensor:
        """θ(a, b) in the origin's dtype."""
        return (self.origin.double() + a * self.d1 + b * self.d2).to(self.origin.dtype)


def _chunks(thetas: torch.Tensor, origin: torch.Tensor):
    """(start, D (rows, P) float64) of thetas − origin, ROWS at a time."""
    o = origin.double()
    for start in range(0, len(thetas), ROWS):
        yield start, thetas[start : start + ROWS].double() - o


def axis(theta_i: torch.Tensor, theta_f: torch.Tensor) -> tuple[torch.Tensor, float]:
    """(d₁ float64 (P,), ‖θ_f − θ_i‖); raises when the run has not moved."""
    diff = theta_f.double() - theta_i.double()
    length = float(torch.linalg.vector_norm(diff))
    if not np.isfinite(length) or length == 0:
        raise ValueError("θ_f equals θ_i (or is not finite), so there is no plane through them; train the run first.")
    return diff / length, length


def orthonormal_to(d1: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """v with its d₁ component removed (twice, for rounding), of unit length; raises when v lies along d₁."""
    v = v.double()
    scale = float(torch.linalg.vector_norm(v))
    for _ in range(2):
        v = v - (v @ d1) * d1
    norm = float(torch.linalg.vector_norm(v))
    if not norm > 1e-9 * scale:
        raise ValueError("the second direction lies along θ_f − θ_i, so it spans no plane with it")
    return v / norm


def pca_direction(thetas: torch.Tensor, theta_i: torch.Tensor, d1: torch.Tensor) -> torch.Tensor:
    """Top uncentred principal direction of the residuals R_t = D_t − (D_t·d₁) d₁ of thetas (K, P), unit, ⟂ d₁.

    From the K x K Gram matrix R Rᵀ = D Dᵀ − p pᵀ (p = D d₁): its top eigenvector v gives Rᵀ v.
    """
    k = len(thetas)
    gram, p = torch.zeros(k, k, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    for start, d in _chunks(thetas, theta_i):
        p[start : start + len(d)] = d @ d1
        for other, e in _chunks(thetas, theta_i):
            gram[start : start + len(d), other : other + len(e)] = d @ e.T
    resid = gram - torch.outer(p, p)
    values, vectors = torch.linalg.eigh(resid)
    if not float(values[-1]) > 1e-12 * max(float(torch.diagonal(gram).sum()), 1e-300):
        raise ValueError("the trajectory lies on the line θ_i → θ_f, so it has no principal direction off it; "
                         "use the random direction.")
    v = vectors[:, -1]
    combo = torch.zeros_like(d1)
    for start, d in _chunks(thetas, theta_i):
        combo += v[start : start + len(d)] @ d
    return orthonormal_to(d1, combo)


def filter_normalized(spec: MLP, direction: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """direction (P,) with each filter of each weight scaled to the norm of that filter of reference; biases 0. A
    filter is what one output unit reads: a row (in,) of a dense weight, an (in, k[, k]) block of a convolution's."""
    out = direction.double().clone()
    parts, refs = spec.split(out), spec.split(reference.double())
    for w, r in zip(parts, refs):  # weights (out, in, ...) and biases (out,), in whatever order the model keeps them
        if w.dim() == 1:
            w.zero_()
            continue
        dims = tuple(range(1, w.dim()))
        norms = torch.linalg.vector_norm(w, dim=dims, keepdim=True)
        w.mul_(torch.linalg.vector_norm(r, dim=dims, keepdim=True) / norms.clamp_min(1e-300))
    return out


def random_direction(spec: MLP, reference: torch.Tensor, seed: int) -> torch.Tensor:
    """A seeded Gaussian direction (P,) float64, filter-normalised against reference (Li et al. 2018)."""
    gen = torch.Generator().manual_seed(int(seed))
    return filter_normalized(spec, torch.randn(spec.n_params, generator=gen, dtype=torch.float64), reference)


def make_plane(spec: MLP, thetas: torch.Tensor, direction: str = "pca", seed: int = 0) -> Plane:
    """The plane through thetas[0] = θ_i holding thetas[-1] = θ_f, with the second direction `direction`."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if thetas.ndim != 2 or thetas.shape[1] != spec.n_params or len(thetas) < 2:
        raise ValueError(f"the trajectory must be (K ≥ 2, {spec.n_params:,}) parameters, got {tuple(thetas.shape)}")
    theta_i, theta_f = thetas[0], thetas[-1]
    d1, length = axis(theta_i, theta_f)
    if direction == "pca":
        d2 = pca_direction(thetas, theta_i, d1)
    else:
        d2 = orthonormal_to(d1, random_direction(spec, theta_f, seed))
    return Plane(theta_i.detach().cpu(), d1, d2, length, direction)


def project(plane: Plane, steps, thetas: torch.Tensor) -> pd.DataFrame:
    """step, a, b and distance (‖θ_t − θ(a, b)‖₂, how far θ_t lies from the plane) per row of thetas (K, P)."""
    a, b, dist = [], [], []
    for _, d in _chunks(thetas.cpu(), plane.origin):
        pa, pb = d @ plane.d1, d @ plane.d2
        rest = d - pa[:, None] * plane.d1 - pb[:, None] * plane.d2
        a.append(pa)
        b.append(pb)
        dist.append(torch.linalg.vector_norm(rest, dim=1))
    return pd.DataFrame({"step": [int(s) for s in steps], "a": torch.cat(a).numpy(), "b": torch.cat(b).numpy(),
                         "distance": torch.cat(dist).numpy()})


def captured_variance(plane: Plane, thetas: torch.Tensor) -> dict:
    """Shares of Σ_t ‖θ_t − θ_i‖² that lie along d₁, along d₂, and in the plane (the two summed); 1 = all of it."""
    total = along1 = along2 = 0.0
    for _, d in _chunks(thetas.cpu(), plane.origin):
        total += float((d * d).sum())
        along1 += float(((d @ plane.d1) ** 2).sum())
        along2 += float(((d @ plane.d2) ** 2).sum())
    if total == 0:
        return {"d1": float("nan"), "d2": float("nan"), "plane": float("nan")}
    return {"d1": along1 / total, "d2": along2 / total, "plane": (along1 + along2) / total}


def honesty(plane: Plane, trajectory: pd.DataFrame, thetas: torch.Tensor) -> dict:
    """What the reader needs to trust the picture: captured variance, mean and max distance (also / ‖θ_f − θ_i‖)."""
    shares = captured_variance(plane, thetas)
    dist = trajectory["distance"]
    off_line = 1 - shares["d1"]  # what the straight line θ_i → θ_f misses; d₂ can catch some of it
    return {"captured": shares["plane"], "captured_d1": shares["d1"], "captured_d2": shares["d2"],
            "off_line_captured": shares["d2"] / off_line if off_line > 1e-12 else float("nan"),
            "mean_distance": float(dist.mean()), "max_distance": float(dist.max()),
            "mean_share": float(dist.mean()) / plane.length, "max_share": float(dist.max()) / plane.length,
            "length": plane.length}


def trust_sentence(h: dict) -> str:
    """One sentence telling the reader how far to trust the projected path on the picture."""
    worst = h["max_share"]
    where = (f"The trajectory lies at most {h['max_distance']:.3g} from the plane ({worst:.0%} of ‖θ_f − θ_i‖, "
             f"mean {h['mean_share']:.0%}); the plane holds {h['captured']:.1%} of its squared distance from θ_i.")
    if worst <= 0.05:
        verdict = " The path is close to the plane: the contours under it are close to what training met."
    elif worst <= 0.25:
        verdict = (" Read the path with care: where it is drawn dashed it runs off the plane, and the loss it met "
                   "there can differ from the colour under it (hover a point to compare).")
    else:
        verdict = (" Do not read the contours under the path as what training met: the path runs far off this plane, "
                   "and crossing a contour here need not mean it crossed that loss (hover a point to compare).")
    return where + verdict


def spans(trajectory: pd.DataFrame, length: float, margin: float = 0.25, min_b: float = 0.5):
    """((a_lo, a_hi), (b_lo, b_hi)) covering θ_i, θ_f and the projected trajectory with margin x ‖θ_f − θ_i‖ on
    every side; b reaches at least ±min_b x ‖θ_f − θ_i‖ / 2, so the picture is not a thin strip."""
    if not 0 <= margin <= 10:
        raise ValueError(f"the margin must be between 0 and 10 (a share of ‖θ_f − θ_i‖), got {margin:g}")
    pad = margin * length
    a_lo, a_hi = min(0.0, float(trajectory["a"].min())) - pad, max(length, float(trajectory["a"].max())) + pad
    b_lo, b_hi = min(0.0, float(trajectory["b"].min())) - pad, max(0.0, float(trajectory["b"].max())) + pad
    half = min_b * length / 2
    return (a_lo, a_hi), (min(b_lo, -half), max(b_hi, half))


def grid_values(lo: float, hi: float, n: int) -> np.ndarray:
    """n evenly spaced values on [lo, hi] (float64), checked."""
    if not 2 <= n <= 401:
        raise ValueError(f"the grid needs 2 to 401 points a side, got {n}")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"a grid range needs finite lo < hi, got [{lo:g}, {hi:g}]")
    return np.linspace(lo, hi, n)


def _row_losses(spec: MLP, w, da, zrow, za, a_values, y_all, n_train: int) -> np.ndarray:
    """(len(a), 4) train loss, val loss, train error, val error along one row, one point at a time.

    w: the row's parameters [W1, b1, W2, ...] at a = 0 and da those of d₁; zrow, za (N, units1): layer 1's
    pre-activation at a = 0 and its slope, on the train and validation samples stacked (N = n_train + n_val).
    """
    out = torch.empty(len(a_values), 4, dtype=torch.float64)
    for i, a in enumerate(a_values.tolist()):
        z = forward_on_line(spec, w, da, zrow, za, a)
        losses, wrong = sample_losses(spec, z, y_all), sample_errors(spec, z, y_all)
        out[i, 0], out[i, 1] = losses[:n_train].mean(), losses[n_train:].mean()
        out[i, 2] = finish_error(spec, wrong[:n_train].mean())
        out[i, 3] = finish_error(spec, wrong[n_train:].mean())
    return out.numpy()


@torch.no_grad()
def loss_grid(spec: MLP, data, plane: Plane, a_values, b_values, progress=None) -> pd.DataFrame:
    """a, b, train_loss, val_loss, train_error, val_error at every θ(a, b) of the grid, a row of b at a time.

    Layer 1's pre-activation is linear in (a, b): z₁ = z₀ + a z_a + b z_b from three products for the whole grid,
    so each point costs the later layers only, with both splits in one pass. On a CPU that is a plain product per
    layer per point (the fastest there at grid sizes, see bench/plane.py); elsewhere a row is one
    interpolation.interpolate call (batched products over a). progress(fraction) is called after each row (a caller
    may raise in it to stop).
    """
    a_values, b_values = np.asarray(a_values, dtype=np.float64), np.asarray(b_values, dtype=np.float64)
    if len(a_values) < 2 or not np.all(np.diff(a_values) > 0):
        raise ValueError("the a values of the grid must be at least two and strictly increasing")
    x_all, y_all = torch.cat([data.x_train, data.x_val]), torch.cat([data.y_train, data.y_val])
    device, dtype, n_train = x_all.device, x_all.dtype, len(data.y_train)
    d1, d2 = (d.to(device, dtype) for d in (plane.d1, plane.d2))
    origin = plane.origin.to(device, dtype)
    pa, pb = spec.split(d1), spec.split(d2)
    shortcut = device.type == "cpu" and spec.kind == "mlp"  # layer 1's output linear in (a, b), see above
    if shortcut:
        z0 = F.linear(x_all, spec.split(origin)[0], spec.split(origin)[1])
        za, zb = F.linear(x_all, pa[0], pa[1]), F.linear(x_all, pb[0], pb[1])
    parts = []
    for i, b in enumerate(b_values.tolist()):
        if shortcut:
            row0 = (plane.origin.double() + b * plane.d2).to(dtype)
            values = _row_losses(spec, spec.split(row0), pa, torch.add(z0, zb, alpha=b), za, a_values, y_all, n_train)
            frame = pd.DataFrame(values, columns=["train_loss", "val_loss", "train_error", "val_error"])
            frame.insert(0, "a", a_values)
        else:
            row0 = plane.origin.double() + b * plane.d2
            theta0, theta1 = row0.to(device, dtype), (row0 + plane.d1).to(device, dtype)
            frame = interpolate(spec, theta0, theta1, data, a_values).rename(columns={"alpha": "a"})
        frame.insert(1, "b", b)
        parts.append(frame)
        if progress is not None:
            progress((i + 1) / len(b_values))
    return pd.concat(parts, ignore_index=True)


@torch.no_grad()
def losses_at(spec: MLP, thetas: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Mean loss J(θ_k) on (x, y) for each row of thetas (K, P)."""
    return np.array([evaluate(spec, t.to(x.device, x.dtype), x, y)[0] for t in thetas])


def shadows(plane: Plane, trajectory: pd.DataFrame) -> torch.Tensor:
    """θ(a_t, b_t) (K, P), the points of the plane the trajectory is drawn at, in the origin's dtype."""
    a = torch.tensor(trajectory["a"].to_numpy(dtype=np.float64))
    b = torch.tensor(trajectory["b"].to_numpy(dtype=np.float64))
    pts = plane.origin.double() + a[:, None] * plane.d1 + b[:, None] * plane.d2
    return pts.to(plane.origin.dtype)


# ---- paper Fig. 7: the two coordinates of θ that move most ---------------------------------------------------
# ---- the whole experiment, for the page and the command line ------------------------------------------------
@dataclass(frozen=True)
class Landscape:
    """A plane, the trajectory on it (step, a, b, distance), the honesty readouts and the loss grid."""

    plane: Plane
    trajectory: pd.DataFrame
    honesty: dict
    grid: pd.DataFrame


def landscape(spec: MLP, data, steps, thetas: torch.Tensor, direction: str = "pca", seed: int = 0, points: int = 41,
              margin: float = 0.25, progress=None) -> Landscape:
    """The plane through thetas[0] and thetas[-1] (K, P), the trajectory projected onto it, and the loss on a
    points x points grid covering it with `margin` x ‖θ_f − θ_i‖ to spare; progress(fraction) as in loss_grid."""
    thetas = thetas.detach().cpu().float()
    plane = make_plane(spec, thetas, direction, seed)
    trajectory = project(plane, steps, thetas)
    (a_lo, a_hi), (b_lo, b_hi) = spans(trajectory, plane.length, margin)
    grid = loss_grid(spec, data, plane, grid_values(a_lo, a_hi, points), grid_values(b_lo, b_hi, points), progress)
    return Landscape(plane, trajectory, honesty(plane, trajectory, thetas), grid)
