"""The Hessian spectrum of a network's loss at saved points (definitions §6): exact, Lanczos extremes, and the index.

The loss is the mean cross-entropy on a whole split. Eigenvalues within ZERO_TOL·max|λ| of 0 form the near-zero
bulk (an over-parameterised network has many flat directions); the index counts those below −NEGATIVE_TOL·max|λ|
(curvature.hessian_index), a rule the stochastic estimate can resolve too. The condition number needs no cut-off.

The exact spectrum's memory: torch.func.hessian is forward-mode over reverse-mode, vectorised over the P basis
directions, so every intermediate of the loss on the N samples exists P times at once; a CNN's or an RNN's activations
are many per sample, so even a few hundred parameters can take gigabytes. exact_memory estimates it before any of it
is allocated, and exact_memory_problem refuses above a budget (EXACT_MEMORY_MB, or the environment's
PLAYGROUND_EXACT_MEMORY_MB).
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import pandas as pd
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from core.model import networks
from core.probes import curvature
from core.probes.curvature import NEGATIVE_TOL, ZERO_TOL

FAST_EXACT_PARAMS = 600  # along training, the exact spectrum is the default only up to here (it costs P HVPs each)
SLQ_ITERATIONS, SLQ_PROBES = 100, 4  # within 0.01 of the exact index on the tests' networks
EXACT_MEMORY_ENV = "PLAYGROUND_EXACT_MEMORY_MB"
# The budget (MiB): the Train page's default network (1,218 parameters, 800 points: 1.4 GB estimated, 0.82 GB
# measured) stays exact; a 350-parameter CNN on digits (1.9 GB estimated, 1.4 GB measured) does not.
EXACT_MEMORY_MB = 1536
# bytes ≈ SAMPLE_COPIES·P·N·a + ENTRY_BYTES·P² + FIXED_BYTES, a = what one sample's forward pass allocates. The peak
# RSS growth (VmHWM) of spectrum.exact on 24 MLPs, CNNs, RNNs and LSTMs (42 to 2,394 parameters, 20 to 3,200
# samples) was 0.33 to 0.81 of it.
SAMPLE_COPIES, ENTRY_BYTES, FIXED_BYTES = 2.5, 48, 128 * 2**20


class _Allocated(TorchDispatchMode):
    """Adds up the bytes of the tensors every operation returns (a view shares its base's memory: not counted)."""

    def __init__(self):
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not func.is_view:
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor):
                    self.bytes += t.numel() * t.element_size()
        return out


def sample_bytes(spec, x: torch.Tensor, y: torch.Tensor) -> float:
    """Bytes the loss's forward pass allocates per sample: counted on 11 samples and on 1 (what does not grow with
    the samples, such as the weights' transposes, cancels). The same path as the Hessian's (a fused RNN kernel
    outside torch.func; the estimate's factor covers the difference)."""
    theta = torch.zeros(spec.n_params, device=x.device, dtype=x.dtype)

    def allocated(n: int) -> int:
        xs, ys = x[:n], y[:n]
        with _Allocated() as counter:
            networks.loss_fn(spec, theta, xs, ys)
        return counter.bytes

    n = min(len(y), 11)
    return float(allocated(1)) if n < 2 else max(0.0, (allocated(n) - allocated(1)) / (n - 1))


def exact_memory(spec, data, split: str = "train") -> int:
    """Estimated peak bytes of the exact spectrum of the loss on a split (see the module's docstring)."""
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_val, data.y_val)
    p = spec.n_params
    return int(SAMPLE_COPIES * p * len(y) * sample_bytes(spec, x, y) + ENTRY_BYTES * p * p + FIXED_BYTES)


def exact_budget() -> int:
    """The exact spectrum's memory budget in bytes: PLAYGROUND_EXACT_MEMORY_MB (MiB) when set, else EXACT_MEMORY_MB."""
    raw = os.environ.get(EXACT_MEMORY_ENV, "").strip()
    if not raw:
        return EXACT_MEMORY_MB * 2**20
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ValueError(f"{EXACT_MEMORY_ENV} must be a whole number of megabytes (MiB) >= 1, got {raw[:40]!r}")
    return int(raw) * 2**20


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:,.0f} MB"


def exact_memory_problem(spec, data, split: str = "train") -> str | None:
    """One sentence refusing the exact spectrum when its estimated memory is above the budget, else None. Above
    networks.EXACT_HESSIAN_MAX_PARAMS the parameter limit speaks instead (None here)."""
    if spec.n_params > networks.EXACT_HESSIAN_MAX_PARAMS:
        return None
    try:
        budget = exact_budget()
    except ValueError as exc:
        return str(exc)
    need = exact_memory(spec, data, split)
    if need <= budget:
        return None
    n = len(data.y_train if split == "train" else data.y_val)
    return (f"The exact spectrum of this {spec.kind.upper()} ({spec.n_params:,} parameters, {n:,} {split} samples) "
            f"would take about {_size(need)} of memory, above the budget of {_size(budget)} ({EXACT_MEMORY_ENV} sets "
            "it); the Lanczos method (--method lanczos) finds the extremes with Hessian-vector products instead.")


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
    def effective_rank(self) -> float:
        """(Σ|λ|)² / Σλ², the participation ratio: how many eigenvalues carry the curvature. It needs no cut-off:
        the count when the non-zero |λ| are equal, however many zeros; a near-zero bulk adds almost nothing."""
        if self.method != "exact" or not self.scale:
            return math.nan
        a = self.eigenvalues.abs() / self.scale
        return float(a.sum() ** 2 / (a * a).sum())

    @property
    def condition(self) -> float:
        """κ = max|λ| / |λ|₍ᵣ₎, the r-th largest |λ| with r = ⌈effective rank⌉: the largest curvature against the
        smallest of the curvatures that matter. No cut-off sets it (definitions §6); NaN unless the spectrum is
        complete."""
        rank = self.effective_rank
        if math.isnan(rank):
            return math.nan
        r = min(len(self.eigenvalues), math.ceil(rank - 1e-9))
        edge = float(torch.sort(self.eigenvalues.abs(), descending=True).values[r - 1])
        return self.scale / edge if edge > 0 else math.inf


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


class Estimate(NamedTuple):
    """A stochastic Lanczos quadrature estimate: the index with its standard error, and the extreme Ritz values."""

    index: float
    error: float  # standard error of the index over the probes (the spread of the estimate, not its bias)
    lambda_max: float
    lambda_min: float


def slq_index(loss, theta: torch.Tensor, iterations: int = SLQ_ITERATIONS, probes: int = SLQ_PROBES,
              seed: int = 0) -> Estimate:
    """The index estimated by stochastic Lanczos quadrature (Ghorbani et al. 2019; PyHessian's density).

    Each probe's Lanczos run gives Ritz values θ_j with weights (q₀ᵀy_j)², a quadrature of the spectral measure;
    the index is that measure's mass below −NEGATIVE_TOL·max|λ| (curvature.hessian_index's rule), averaged over
    probes. `iterations` products per probe, however large the model.
    """
    masses, top, bottom = [], -math.inf, math.inf
    for probe in range(probes):
        q0 = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(seed + probe), dtype=torch.float64)
        run = curvature.lanczos(loss, theta, iterations, v0=q0)
        weights = (run.vectors.T @ (q0 / q0.norm())) ** 2
        weights = weights / weights.sum()
        scale = float(run.ritz.abs().max())
        masses.append(float(weights[run.ritz < -NEGATIVE_TOL * scale].sum()))
        top, bottom = max(top, float(run.ritz[-1])), min(bottom, float(run.ritz[0]))
    spread = float(torch.tensor(masses, dtype=torch.float64).std()) if probes > 1 else math.nan
    return Estimate(sum(masses) / probes, spread / math.sqrt(probes), top, bottom)


def along_training(spec, data, steps, checkpoints: torch.Tensor, metrics: pd.DataFrame | None = None,
                   method: str = "auto", progress=None) -> pd.DataFrame:
    """step, train_loss, index, lambda_max, method at each checkpoint (Dauphin et al.: low loss, low index).

    method: "exact" (eigvalsh of the full Hessian; refused above the memory budget, exact_memory_problem), "slq"
    (estimated) or "auto" (exact up to FAST_EXACT_PARAMS parameters and within the budget, else slq).
    progress(done, total) is called after each checkpoint.
    """
    p = checkpoints.shape[1]
    problem = exact_memory_problem(spec, data) if method in ("auto", "exact") else None
    if method == "auto":
        method = "exact" if p <= FAST_EXACT_PARAMS and problem is None else "slq"
    elif method == "exact" and problem:
        raise ValueError(problem)
    loss = split_loss(spec, data, "train")
    rows = []
    for i, step in enumerate(steps):
        theta = checkpoints[i].to(data.x_train.device, data.x_train.dtype)
        if method == "exact":
            s = exact(loss, theta)
            index, error, top = s.index, 0.0, s.lambda_max
        else:
            index, error, top, _ = slq_index(loss, theta)
        rows.append({"step": int(step), "train_loss": float(loss(theta)), "index": index, "index_error": error,
                     "lambda_max": top, "method": method})
        if progress is not None:
            progress(i + 1, len(steps))
    return pd.DataFrame(rows, columns=["step", "train_loss", "index", "index_error", "lambda_max", "method"])
