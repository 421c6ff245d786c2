"""Linear interpolation between two parameter vectors and the metrics of a curve (definitions §2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from core.model.networks import ACTIVATIONS, MLP, finish_error, forward, forward_on_line, sample_errors, sample_losses
from core.probes import interp_walk

GPU_CHUNK_ELEMENTS = 2**26  # alphas x samples x widest layer evaluated in one batch on a GPU


def alpha_grid(lo: float, hi: float, n: int) -> np.ndarray:
    """n evenly spaced alphas on [lo, hi] that always contain 0 and 1 exactly (float64)."""
    grid = np.linspace(lo, hi, n)
    spacing = (hi - lo) / max(n - 1, 1)
    for target in (0.0, 1.0):
        if not lo <= target <= hi or target in (grid[0], grid[-1]):
            continue
        inner = np.abs(grid[1:-1] - target)  # only interior points may snap; lo and hi stay as given
        k = int(inner.argmin()) + 1 if len(inner) else None
        if k is not None and inner[k - 1] < 1e-6 * spacing:
            grid[k] = target
        else:
            grid = np.sort(np.append(grid, target))
    return grid


def _logits_many(spec: MLP, p0, d, z0, dz, a: torch.Tensor) -> torch.Tensor:
    """Logits (B, N, classes) at B alphas at once with batched products (fewer kernels on a GPU)."""
    a = a.view(-1, 1, 1)
    z = torch.addcmul(z0, a, dz)  # (B, N, units1)
    for k in range(2, len(p0), 2):
        h = z.relu_() if spec.activation == "relu" else ACTIVATIONS[spec.activation](z)
        weight, bias = torch.addcmul(p0[k], a, d[k]), torch.addcmul(p0[k + 1], a, d[k + 1])  # (B, out, in), (B, 1, out)
        z = torch.baddbmm(bias, h, weight.transpose(1, 2))
    return z


@torch.no_grad()
def _split_losses(spec: MLP, theta0, theta1, alphas, x, y, batched: bool | None = None, method: str | None = None):
    """Mean loss and error at every alpha on one split.

    theta(a) = theta0 + a * d with d = theta1 - theta0. The first layer is linear in a, so its output
    X W1(a)^T + b1(a) = z0 + a * dz costs one fused pass per alpha instead of a matrix product.
    batched=None picks by device: one alpha at a time on a CPU (cache-sized work, plain matrix products),
    batches of about GPU_CHUNK_ELEMENTS elements elsewhere.
    method: "direct" (the above), "piecewise" (core.interp_walk: relu/linear/maxout with a hidden layer, where the
    second layer is a quadratic in a between sign switches, so no per-alpha product over the first hidden layer),
    or "auto" (None: interp_walk.METHOD): piecewise where it applies, the parameters are finite (a diverged run keeps
    the direct path's NaN/inf semantics) and the direct path would go one alpha at a time (a CPU, or batched=False);
    the batched direct path otherwise: a GPU's default, a few large products rather than the walk's many small steps.
    """
    batch = x.device.type != "cpu" if batched is None else batched
    method = method or interp_walk.METHOD
    walk = method == "auto" and not batch and interp_walk.supports(spec) and interp_walk.finite(theta0, theta1)
    if method == "piecewise" or walk:
        return interp_walk.split_losses_piecewise(spec, theta0, theta1, alphas, x, y)
    if method not in ("auto", "direct"):
        raise ValueError(f"method must be auto, direct or piecewise, not {method!r}")
    if spec.kind != "mlp":  # no first-layer shortcut: the whole forward pass at each θ(α)
        d = theta1 - theta0
        logits = [forward(spec, spec.split(torch.add(theta0, d, alpha=a)), x)[None] for a in alphas.tolist()]
        return _curve_values(spec, logits, y)
    p0, d = spec.split(theta0), spec.split(theta1 - theta0)
    z0, dz = F.linear(x, p0[0], p0[1]), F.linear(x, d[0], d[1])  # (N, units1) each
    if not batch:
        logits = [forward_on_line(spec, p0, d, z0, dz, a)[None] for a in alphas.tolist()]
    else:
        chunk = max(1, GPU_CHUNK_ELEMENTS // (len(y) * max(w[0] for w, _ in spec.shapes)))
        logits = [_logits_many(spec, p0, d, z0, dz, alphas[i : i + chunk]) for i in range(0, len(alphas), chunk)]
    return _curve_values(spec, logits, y)


def _curve_values(spec, logits: list[torch.Tensor], y: torch.Tensor):
    """(losses, errors) as float64 arrays from outputs (B, N, n_out) at B alphas per list entry."""
    losses, errors = [], []
    for z in logits:
        losses.append(sample_losses(spec, z, y).mean(1))
        errors.append(finish_error(spec, sample_errors(spec, z, y).mean(1)))
    return torch.cat(losses).double().cpu().numpy(), torch.cat(errors).double().cpu().numpy()


def interpolate(spec: MLP, theta0, theta1, data, alphas, batched: bool | None = None) -> pd.DataFrame:
    """J((1 - alpha) theta0 + alpha theta1) on both splits.

    Columns: alpha, train_loss, val_loss, train_error, val_error.
    """
    a = torch.as_tensor(np.asarray(alphas), dtype=theta0.dtype, device=theta0.device)
    train_loss, train_error = _split_losses(spec, theta0, theta1, a, data.x_train, data.y_train, batched)
    val_loss, val_error = _split_losses(spec, theta0, theta1, a, data.x_val, data.y_val, batched)
    return pd.DataFrame(
        {"alpha": np.asarray(alphas, dtype=np.float64), "train_loss": train_loss, "val_loss": val_loss,
         "train_error": train_error, "val_error": val_error}
    )


def curve_metrics(alphas, values) -> dict:
    """monotone, max bump (with its alpha) and barrier of J along [0, 1] (definitions §2)."""
    alphas, values = np.asarray(alphas, dtype=float), np.asarray(values, dtype=float)
    inside = (alphas >= 0) & (alphas <= 1) & np.isfinite(values)
    a, j = alphas[inside], values[inside]
    if len(j) < 2:
        return {"monotone": None, "max_bump": float("nan"), "bump_alpha": float("nan"), "barrier": float("nan")}
    bumps = j - np.minimum.accumulate(j)
    k = int(bumps.argmax())
    tol = 1e-6 * max(1.0, float(np.abs(j).max()))
    has_ends = (a == 0).any() and (a == 1).any()
    (a0, j0), (a1, j1) = ((0.0, j[a == 0][0]), (1.0, j[a == 1][0])) if has_ends else ((a[0], j[0]), (a[-1], j[-1]))
    chord = j0 + (a - a0) / (a1 - a0) * (j1 - j0) if a1 > a0 else np.full_like(j, j0)
    return {
        "monotone": bool(np.all(np.diff(j) <= tol)),
        "max_bump": float(bumps[k]),
        "bump_alpha": float(a[k]),
        "barrier": max(0.0, float((j - chord).max())),  # height above the chord between the ends; 0 when convex
    }


PAST_ENDS = np.array([-0.1, -0.05, 0.0, 1.0, 1.05, 1.1])  # where "is each end a minimum along the line?" looks
BARRIER_HELP = ("Height of the curve above the straight chord between its ends: max over α in [0, 1] of "
                "J(θ(α)) − ((1 − α)·J(θ₀) + α·J(θ₁)). 0 on any convex line (definitions §2).")


def end_drops(alphas, values) -> tuple[float, float]:
    """(J(0) − min J on [−0.1, 0), J(1) − min J on (1, 1.1]), each clipped at 0: how far J keeps falling just past
    each end of the line. Above 0, that end is not a minimum along the line: training stopped there (definitions §2).
    NaN for an end whose side of the grid holds no point."""
    alphas, values = np.asarray(alphas, dtype=float), np.asarray(values, dtype=float)
    out = []
    for end, side in ((0.0, (alphas >= -0.1) & (alphas < 0)), (1.0, (alphas > 1) & (alphas <= 1.1))):
        at_end = values[alphas == end]
        if not side.any() or not len(at_end):
            out.append(float("nan"))
            continue
        tol = 1e-6 * max(1.0, abs(float(at_end[0])))
        drop = float(at_end[0] - np.nanmin(values[side]))
        out.append(drop if drop > tol else 0.0)
    return out[0], out[1]
