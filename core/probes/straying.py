"""Straying from the path (definitions §3): projection on the line θ_i → θ_f and the residual norm."""

from __future__ import annotations

import pandas as pd
import torch


def straying(steps, thetas: torch.Tensor, theta_i: torch.Tensor, theta_f: torch.Tensor,
             dtype: torch.dtype = torch.float64, rows: int = 16) -> pd.DataFrame:
    """Projection on the axis theta_i -> theta_f and residual norm (not squared) for each snapshot (K, P).

    Computed `rows` snapshots at a time in `dtype`, so no (K, P) temporary is made; float64 by default,
    float32 for the live view (about 1e-6 of the norms apart, see the tests).
    """
    origin = theta_i.to(dtype)
    axis = theta_f.to(dtype) - origin
    length = torch.linalg.vector_norm(axis)
    u = axis / length if length > 0 else axis  # a zero axis projects everything to 0
    parts = []
    for start in range(0, len(thetas), rows):
        d = thetas[start : start + rows].to(dtype) - origin  # (rows, P)
        p = d @ u
        parts.append((p, torch.linalg.vector_norm(d.sub_(p[:, None] * u), dim=1),
                      torch.linalg.vector_norm(thetas[start : start + rows].to(dtype), dim=1)))
    projection, residual, param_norm = (torch.cat(c).double().cpu().numpy() for c in zip(*parts))
    return pd.DataFrame({"step": list(steps), "projection": projection, "residual": residual,
                         "param_norm": param_norm})


def straying_summary(frame: pd.DataFrame) -> dict:
    """max residual, max rho = r / ||theta||, and whether the 1-D subspace keeps 2/3 of the norm (rho <= 1/3)."""
    if frame.empty:
        return {"max_residual": float("nan"), "max_rho": float("nan"), "two_thirds_holds": None}
    rho = frame["residual"] / frame["param_norm"].where(frame["param_norm"] > 0)
    max_rho = float(rho.max()) if rho.notna().any() else 0.0
    return {"max_residual": float(frame["residual"].max()), "max_rho": max_rho, "two_thirds_holds": max_rho <= 1 / 3}
