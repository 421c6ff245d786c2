"""Linear interpolation between two parameter vectors (SPEC §2) and straying from the path (SPEC §3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from core.models import MLP, forward_hidden

ELEMENTS_PER_CHUNK = 2**24  # alphas x samples x widest layer evaluated at once


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


@torch.no_grad()
def _split_losses(spec: MLP, theta0, theta1, alphas, x, y):
    """Loss and error at every alpha, batched.

    The first layer is linear in alpha, so X W1^T is computed twice, not once per alpha.
    """
    p0, p1 = spec.split(theta0), spec.split(theta1)
    z0, z1 = F.linear(x, p0[0], p0[1]), F.linear(x, p1[0], p1[1])  # (N, units1) each
    widest = max(w[0] for w, _ in spec.shapes)
    chunk = max(1, ELEMENTS_PER_CHUNK // (len(y) * widest))
    tail = torch.vmap(lambda th, z: forward_hidden(spec, spec.split(th), z))
    losses, errors = [], []
    for i in range(0, len(alphas), chunk):
        a = alphas[i : i + chunk, None]  # (B, 1)
        thetas = (1 - a) * theta0 + a * theta1  # (B, P)
        logits = tail(thetas, (1 - a[:, :, None]) * z0 + a[:, :, None] * z1)  # (B, N, classes)
        losses.append(F.cross_entropy(logits.transpose(1, 2), y.expand(len(a), -1), reduction="none").mean(1))
        errors.append((logits.argmax(-1) != y).double().mean(1))
    return torch.cat(losses).double().cpu().numpy(), torch.cat(errors).cpu().numpy()


def interpolate(spec: MLP, theta0, theta1, data, alphas) -> pd.DataFrame:
    """J((1 - alpha) theta0 + alpha theta1) on both splits.

    Columns: alpha, train_loss, val_loss, train_error, val_error.
    """
    a = torch.as_tensor(np.asarray(alphas), dtype=theta0.dtype, device=theta0.device)
    train_loss, train_error = _split_losses(spec, theta0, theta1, a, data.x_train, data.y_train)
    val_loss, val_error = _split_losses(spec, theta0, theta1, a, data.x_val, data.y_val)
    return pd.DataFrame(
        {"alpha": np.asarray(alphas, dtype=np.float64), "train_loss": train_loss, "val_loss": val_loss,
         "train_error": train_error, "val_error": val_error}
    )


def curve_metrics(alphas, values) -> dict:
    """monotone, max bump (with its alpha) and barrier of J along [0, 1] (SPEC §2)."""
    alphas, values = np.asarray(alphas, dtype=float), np.asarray(values, dtype=float)
    inside = (alphas >= 0) & (alphas <= 1) & np.isfinite(values)
    a, j = alphas[inside], values[inside]
    if len(j) < 2:
        return {"monotone": None, "max_bump": float("nan"), "bump_alpha": float("nan"), "barrier": float("nan")}
    bumps = j - np.minimum.accumulate(j)
    k = int(bumps.argmax())
    tol = 1e-6 * max(1.0, float(np.abs(j).max()))
    ends = 0.5 * (j[a == 0][0] + j[a == 1][0]) if (a == 0).any() and (a == 1).any() else 0.5 * (j[0] + j[-1])
    return {
        "monotone": bool(np.all(np.diff(j) <= tol)),
        "max_bump": float(bumps[k]),
        "bump_alpha": float(a[k]),
        "barrier": float(j.max() - ends),
    }


def straying(steps, thetas: torch.Tensor, theta_i: torch.Tensor, theta_f: torch.Tensor) -> pd.DataFrame:
    """Projection on the axis theta_i -> theta_f and residual norm (not squared) for each snapshot (K, P)."""
    d = thetas.double() - theta_i.double()  # (K, P)
    axis = theta_f.double() - theta_i.double()
    length = torch.linalg.vector_norm(axis)
    if length == 0:
        projection = torch.zeros(len(d), dtype=torch.float64, device=d.device)
        residual = torch.linalg.vector_norm(d, dim=1)
    else:
        u = axis / length
        projection = d @ u
        residual = torch.linalg.vector_norm(d - projection[:, None] * u, dim=1)
    param_norm = torch.linalg.vector_norm(thetas.double(), dim=1)
    return pd.DataFrame(
        {"step": list(steps), "projection": projection.cpu().numpy(), "residual": residual.cpu().numpy(),
         "param_norm": param_norm.cpu().numpy()}
    )


def straying_summary(frame: pd.DataFrame) -> dict:
    """max residual, max rho = r / ||theta||, and whether the 1-D subspace keeps 2/3 of the norm (rho <= 1/3)."""
    if frame.empty:
        return {"max_residual": float("nan"), "max_rho": float("nan"), "two_thirds_holds": None}
    rho = frame["residual"] / frame["param_norm"].where(frame["param_norm"] > 0)
    max_rho = float(rho.max()) if rho.notna().any() else 0.0
    return {"max_residual": float(frame["residual"].max()), "max_rho": max_rho, "two_thirds_holds": max_rho <= 1 / 3}
