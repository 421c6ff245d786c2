"""What a point of an analytic surface is: its gradient, Hessian eigenvalues and kind, and the surface's landmarks."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from core.toys.surfaces import CRITICAL_TOL, Surface


def landmarks(surface: Surface) -> pd.DataFrame:
    """kind, x, y, f of the known minima, saddles and maxima inside the window."""
    rows = [(kind, x, y) for kind, points in (("minimum", surface.minima), ("saddle", surface.saddles),
                                               ("maximum", surface.maxima)) for x, y in points]
    frame = pd.DataFrame(rows, columns=["kind", "x", "y"])
    x0, x1, y0, y1 = surface.window
    frame = frame[frame["x"].between(x0, x1) & frame["y"].between(y0, y1)].reset_index(drop=True)
    frame["f"] = surface.f(torch.tensor(frame[["x", "y"]].to_numpy(), dtype=torch.float64).reshape(-1, 2)).numpy()
    return frame


class Readout(NamedTuple):
    grad: tuple[float, float]
    grad_norm: float
    eigenvalues: tuple[float, float]  # of the Hessian, ascending
    kind: str  # minimum, maximum, saddle or degenerate: the shape of the curvature
    critical: bool  # ‖g‖ ≤ CRITICAL_TOL: the kind names the point itself


def classify(eigenvalues, rel_tol: float = 1e-8) -> str:
    """minimum / maximum / saddle / degenerate from the Hessian's eigenvalues (a zero one is degenerate)."""
    ev = np.asarray(eigenvalues, dtype=float)
    tol = rel_tol * max(1.0, float(np.abs(ev).max()))
    if (np.abs(ev) <= tol).any():
        return "degenerate"
    if (ev > 0).all():
        return "minimum"
    return "maximum" if (ev < 0).all() else "saddle"


def readout(surface: Surface, point) -> Readout:
    """Gradient, Hessian eigenvalues and the kind of point at `point` (x, y)."""
    p = torch.as_tensor(point, dtype=torch.float64)
    g = surface.grad(p)
    ev = torch.linalg.eigvalsh(surface.hessian(p))
    norm = float(g.norm())
    return Readout((float(g[0]), float(g[1])), norm, (float(ev[0]), float(ev[1])), classify(ev.tolist()),
                   norm <= CRITICAL_TOL)
