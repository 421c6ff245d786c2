"""Inexact gradients (definitions §12; DL §8.1.3, §8.2.6): how far a minibatch gradient lies from the full one.

g = ∇J(θ) is the gradient of the mean loss over the whole training split (N examples); g_B the gradient of the
mean loss over a minibatch B of m examples drawn uniformly WITHOUT replacement. With g_i the per-example gradients
(g is their mean) and Σ = (1/N) Σ_i (g_i − g)(g_i − g)ᵀ their population covariance, sampling theory gives

    E‖g_B − g‖² = (tr Σ / m) · (N − m) / (N − 1),

which falls like 1/m while m ≪ N and reaches 0 at m = N. All gradients here come from torch.func: the minibatch
gradients of many batches at once by vmap over grad (about as fast as one gradient of samples·m examples), the
per-example gradients for tr Σ the same way with batches of one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch.func import grad, vmap

from core.model import networks

CHUNK_EXAMPLES = 1 << 15  # examples (samples x m) per vmapped call: bounds the activations held at once
CHUNK_FLOATS = 1 << 24  # per-example gradient entries held at once (64 MiB of float32)
NOISE_COLUMNS = ["batch_size", "relative_error_mean", "relative_error_std", "cosine_mean", "cosine_std", "predicted",
                 "relative_error_rms"]


def _loss(spec):
    return lambda th, xb, yb: networks.loss_fn(spec, th, xb, yb)


def full_gradient(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """g = ∇J(θ), the gradient of the mean loss over all of (x, y): (P,). Above CHUNK_EXAMPLES examples it is
    summed chunk by chunk, each chunk's mean weighted by its size."""
    theta, n = theta.detach(), len(y)
    if n <= CHUNK_EXAMPLES:
        return grad(_loss(spec))(theta, x, y)
    total = torch.zeros_like(theta)
    for s in range(0, n, CHUNK_EXAMPLES):
        yb = y[s : s + CHUNK_EXAMPLES]
        total += grad(_loss(spec))(theta, x[s : s + CHUNK_EXAMPLES], yb) * len(yb)
    return total / n


def minibatch_indices(n: int, m: int, samples: int, generator: torch.Generator) -> torch.Tensor:
    """(samples, m) row indices: each row the first m of its own torch.randperm(n, generator=generator), so m
    distinct examples (drawn without replacement) per sample, independent across samples."""
    return torch.stack([torch.randperm(n, generator=generator)[:m] for _ in range(samples)])


def gradients_on(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(B, P): row b the gradient of the mean loss over the examples idx[b] (B, m), by vmap over grad."""
    theta, m = theta.detach(), idx.shape[1]
    batched = vmap(grad(_loss(spec)), in_dims=(None, 0, 0))
    rows = max(1, CHUNK_EXAMPLES // m)
    idx = idx.to(x.device)
    return torch.cat([batched(theta, x[idx[s : s + rows]], y[idx[s : s + rows]]) for s in range(0, len(idx), rows)])


def minibatch_gradients(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, m: int, samples: int,
                        generator: torch.Generator) -> torch.Tensor:
    """(samples, P) gradients g_B of the mean loss on `samples` minibatches of m examples each, every minibatch its
    own random subset without replacement (minibatch_indices with `generator`)."""
    return gradients_on(spec, theta, x, y, minibatch_indices(len(y), m, samples, generator))


def per_example_gradients(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N, P) gradients g_i of the loss of each example alone. Holds N x P numbers: for large sets use
    gradient_covariance_trace, which goes chunk by chunk."""
    return torch.cat(list(_per_example_chunks(spec, theta, x, y)))


def _per_example_chunks(spec, theta, x, y):
    one = _loss(spec)
    single = vmap(grad(lambda th, xi, yi: one(th, xi[None], yi[None])), in_dims=(None, 0, 0))
    rows = max(1, CHUNK_FLOATS // theta.numel())
    for s in range(0, len(y), rows):
        yield single(theta.detach(), x[s : s + rows], y[s : s + rows])


def gradient_covariance_trace(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                              g: torch.Tensor | None = None) -> float:
    """tr Σ = (1/N) Σ_i ‖g_i − ḡ‖², ḡ the mean of the per-example gradients g_i (the full gradient): the total
    population variance of one example's gradient. Exact, accumulated in float64 chunk by chunk; with g given (the
    full gradient, up to round-off) it is used as the centre and the shift ‖ḡ − g‖² taken off again."""
    centre = (full_gradient(spec, theta, x, y) if g is None else g).double()
    sq, total = 0.0, torch.zeros_like(centre)
    for chunk in _per_example_chunks(spec, theta, x, y):
        d = chunk.double() - centre
        sq += d.square().sum().item()
        total += d.sum(0)
    n = len(y)
    return sq / n - (total / n).square().sum().item()


def predicted_error(trace: float, m: int, n: int) -> float:
    """√E‖g_B − g‖² = √((tr Σ / m)(N − m)/(N − 1)) for m of N drawn without replacement (0 at m = N)."""
    return math.sqrt(max(trace, 0.0) / m * (n - m) / (n - 1)) if n > 1 else 0.0


def _check(batch_sizes, samples, n: int) -> list[int]:
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    sizes = [n if b == "full" else b for b in batch_sizes]
    if not sizes:
        raise ValueError("batch_sizes must name at least one batch size")
    for b in sizes:
        if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= n:
            raise ValueError(f"each batch size must be a whole number from 1 to the {n:,} examples, or 'full'; "
                             f"got {b!r}")
    return sizes


def _relative(gb: torch.Tensor, g: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(relative errors ‖g_B − g‖/‖g‖, cosines cos(g_B, g)) of rows gb (B, P), in float64."""
    gb, g = gb.double(), g.double()
    norm = torch.linalg.vector_norm(g)
    err = torch.linalg.vector_norm(gb - g, dim=-1) / norm
    cos = (gb @ g) / (torch.linalg.vector_norm(gb, dim=-1) * norm)
    return err.cpu().numpy(), cos.clamp(-1, 1).cpu().numpy()


def _spread(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def noise_table(spec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, batch_sizes, samples: int,
                seed: int = 0) -> pd.DataFrame:
    """One row per batch size m (an int, or "full" for m = N = len(y)) over `samples` minibatches of m examples:

    - relative_error_mean, _std: mean and sample std (ddof 1; NaN for one sample) of ‖g_B − g‖ / ‖g‖;
    - cosine_mean, _std: the same of cos(g_B, g) = g_B·g / (‖g_B‖‖g‖);
    - predicted: √E‖g_B − g‖² / ‖g‖ = √((tr Σ / m)(N − m)/(N − 1)) / ‖g‖, tr Σ exact from the per-example
      gradients (gradient_covariance_trace); it follows 1/√m while m ≪ N;
    - relative_error_rms: √mean(‖g_B − g‖²) / ‖g‖, the sampled counterpart of predicted.

    relative_error_mean estimates E‖g_B − g‖/‖g‖ while predicted is √E‖g_B − g‖²/‖g‖, so by Jensen's inequality the
    mean sits slightly below the prediction; relative_error_rms is the one to compare with it. At m = N the
    minibatch is the whole split: error exactly 0, cosine exactly 1. Where g = 0 the relative numbers are NaN.
    Minibatches come from one torch.Generator seeded with `seed`, batch sizes in the order given."""
    n = len(y)
    sizes = _check(list(batch_sizes), samples, n)
    g = full_gradient(spec, theta, x, y)
    g_norm = torch.linalg.vector_norm(g.double()).item()
    trace = gradient_covariance_trace(spec, theta, x, y, g)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for m in sizes:
        if m == n:
            err, cos = np.zeros(samples), np.ones(samples)
        else:
            err, cos = _relative(minibatch_gradients(spec, theta, x, y, m, samples, generator), g)
        pred = predicted_error(trace, m, n) / g_norm if g_norm > 0 else float("nan")
        if g_norm == 0:
            err, cos = np.full(samples, np.nan), np.full(samples, np.nan)
        rows.append((m, float(err.mean()), _spread(err), float(cos.mean()), _spread(cos), pred,
                     float(np.sqrt(np.mean(err**2)))))
    return pd.DataFrame(rows, columns=NOISE_COLUMNS)


def batch_noise(spec, theta: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor,
                g_full: torch.Tensor) -> tuple[float, float]:
    """(cos(g_B, g), ‖g_B − g‖/‖g‖) of one minibatch (xb, yb) against the full gradient g_full, for live logging:
    one extra gradient. NaN where either gradient is 0."""
    gb = grad(_loss(spec))(theta.detach(), xb, yb)
    g_norm = torch.linalg.vector_norm(g_full.double()).item()
    if g_norm == 0 or torch.linalg.vector_norm(gb).item() == 0:
        return float("nan"), float("nan")
    err, cos = _relative(gb[None], g_full)
    return float(cos[0]), float(err[0])


def loglog_slope(frame: pd.DataFrame, n: int, max_fraction: float = 0.1, column: str = "relative_error_mean") -> float:
    """Least-squares slope of log(column) against log(batch_size) over the rows with m <= max_fraction·N (where
    the finite-population factor (N − m)/(N − 1) is near 1); sampling theory says −0.5. NaN under two such rows."""
    rows = frame[(frame["batch_size"] <= max_fraction * n) & (frame[column] > 0)]
    if rows["batch_size"].nunique() < 2:
        return float("nan")
    return float(np.polyfit(np.log(rows["batch_size"]), np.log(rows[column]), 1)[0])
