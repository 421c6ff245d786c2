"""The Hessian spectrum of a network's loss at saved points (definitions §6): exact, Lanczos extremes, and the index.

The loss is the mean cross-entropy on a whole split. Eigenvalues within ZERO_TOL·max|λ| of 0 count as zero: an
over-parameterised network has many flat directions, and round-off would otherwise make half of them "negative".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pandas as pd
import torch

from core.model import networks
from core.probes import curvature
from core.probes.curvature import ZERO_TOL

FAST_EXACT_PARAMS = 600  # along training, the exact spectrum is the default only up to here (it costs P HVPs each)
SLQ_ITERATIONS, SLQ_PROBES = 60, 3


def split_loss(spec, data, split: str = "train", dtype: torch.dtype | None = None):
    """θ -> mean cross-entropy on the train or validation split (optionally in another dtype, e.g. float64)."""
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_val, data.y_val)
    x = x.to(dtype) if dtype is not None else x
    return lambda theta: networks.loss_fn(spec, theta, x, y)


class Spectrum(NamedTuple):
    eigenvalues: torch.Tensor  # ascending, float64; all of them (exact) or the k smallest and k largest (lanczos)
    method: str  # "exact" or "lanczos"
    n_params: int

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def lambda_min(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def scale(self) -> float:
        return float(self.eigenvalues.abs().max()) if self.eigenvalues.numel() else 0.0

    @property
    def index(self) -> float:
        """Fraction of negative eigenvalues (below −ZERO_TOL·max|λ|); NaN unless the spectrum is complete."""
        if self.method != "exact":
            return math.nan
        return curvature.hessian_index(self.eigenvalues)

    @property
    def zeros(self) -> int:
        return int((self.eigenvalues.abs() <= ZERO_TOL * self.scale).sum()) if self.method == "exact" else -1

    @property
    def condition(self) -> float:
        """max|λ| / min|λ| over the eigenvalues that are not zero; NaN unless the spectrum is complete."""
        if self.method != "exact":
            return math.nan
        nonzero = self.eigenvalues.abs()[self.eigenvalues.abs() > ZERO_TOL * self.scale]
        return self.scale / float(nonzero.min()) if nonzero.numel() else math.nan


def exact(loss, theta: torch.Tensor) -> Spectrum:
    """All P eigenvalues from the full Hessian (refused above networks.EXACT_HESSIAN_MAX_PARAMS)."""
    return Spectrum(curvature.exact_spectrum(loss, theta), "exact", theta.numel())


def extremes(loss, theta: torch.Tensor, top: int, iterations: int | None = None, seed: int = 0) -> Spectrum:
    """The `top` largest and `top` smallest eigenvalues by Lanczos (they converge first); 2·top of them in all."""
    if top < 1:
        raise ValueError(f"--top must be at least 1, got {top}")
    p = theta.numel()
    k = min(p, iterations or max(4 * top, 40))
    ritz = curvature.lanczos(loss, theta, k, seed=seed).ritz
    if len(ritz) <= 2 * top:
        return Spectrum(ritz, "lanczos", p)
    return Spectrum(torch.cat([ritz[:top], ritz[-top:]]), "lanczos", p)


def at_point(loss, theta: torch.Tensor, top: int | None = None) -> Spectrum:
    """Exact when top is None and the model is small enough; else the `top` (default 10) extremes by Lanczos."""
    if top is None and theta.numel() <= networks.EXACT_HESSIAN_MAX_PARAMS:
        return exact(loss, theta)
    return extremes(loss, theta, 10 if top is None else top)


def slq_index(loss, theta: torch.Tensor, iterations: int = SLQ_ITERATIONS, probes: int = SLQ_PROBES,
              seed: int = 0) -> tuple[float, float]:
    """(index, λ_max) estimated by stochastic Lanczos quadrature (Ghorbani et al. 2019; PyHessian's density).

    Each probe's Lanczos run gives Ritz values θ_j with weights (q₀ᵀy_j)², a quadrature of the spectral measure;
    the index is that measure's mass below −ZERO_TOL·max|λ|, averaged over probes. A few HVPs per eigenvalue
    are not needed: `iterations` products per probe, however large the model.
    """
    mass, top = 0.0, -math.inf
    for probe in range(probes):
        q0 = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(seed + probe), dtype=torch.float64)
        run = curvature.lanczos(loss, theta, iterations, v0=q0)
        weights = (run.vectors.T @ (q0 / q0.norm())) ** 2
        weights = weights / weights.sum()
        scale = float(run.ritz.abs().max())
        mass += float(weights[run.ritz < -ZERO_TOL * scale].sum())
        top = max(top, float(run.ritz[-1]))
    return mass / probes, top


def along_training(spec, data, steps, checkpoints: torch.Tensor, metrics: pd.DataFrame | None = None,
                   method: str = "auto", progress=None) -> pd.DataFrame:
    """step, train_loss, index, lambda_max, method at each checkpoint (Dauphin et al.: low loss, low index).

    method: "exact" (eigvalsh of the full Hessian), "slq" (estimated) or "auto" (exact up to FAST_EXACT_PARAMS).
    progress(done, total) is called after each checkpoint.
    """
    p = checkpoints.shape[1]
    if method == "auto":
        method = "exact" if p <= FAST_EXACT_PARAMS else "slq"
    loss = split_loss(spec, data, "train")
    rows = []
    for i, step in enumerate(steps):
        theta = checkpoints[i].to(data.x_train.device, data.x_train.dtype)
        if method == "exact":
            s = exact(loss, theta)
            index, top = s.index, s.lambda_max
        else:
            index, top = slq_index(loss, theta)
        rows.append({"step": int(step), "train_loss": float(loss(theta)), "index": index, "lambda_max": top,
                     "method": method})
        if progress is not None:
            progress(i + 1, len(steps))
    return pd.DataFrame(rows, columns=["step", "train_loss", "index", "lambda_max", "method"])
