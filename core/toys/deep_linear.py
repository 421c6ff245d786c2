"""Deep linear regression y = w₁·w₂·x (definitions §4, paper §5, Figs. 9, 10): J = (w₁w₂ − 1)², exactly along lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.func import vmap

from core.probes.interpolation import curve_metrics

# name -> (description, start (w1, w2), end (w1, w2)); the three lines of the paper's Figs. 9 and 10
LINES = {  # the name is what the page's selector shows and its URL holds: text -> (help, start, end)
    "small init → solution (Fig. 9)": (
        "Small random init → solution: flat near the saddle, then one descent", (0.06, -0.04), (1.0, 1.0)),
    "solution → solution (Fig. 10 left)": (
        "Solution → solution on the same branch of w₁w₂ = 1: the minima are connected along the hyperbola, yet the "
        "straight line meets a barrier", (2.0, 0.5), (0.5, 2.0)),
    "large random point → solution (Fig. 10 right)": (
        "Large-norm random point → solution: no minimum on the way but the end", (-3.0, 2.5), (1.0, 1.0)),
}
MAX_POINTS = 10_001
MAX_COORDINATE = 1e6  # |w| at most: J ~ w⁴ stays far inside float64 (1e24 against 1e308)


def loss(w1, w2):
    """J = (w₁w₂ − 1)², elementwise on numbers or arrays."""
    return (np.asarray(w1, dtype=float) * np.asarray(w2, dtype=float) - 1.0) ** 2


def chain_loss(w: torch.Tensor) -> torch.Tensor:
    """Squared error of the 2-layer linear network x → w₂(w₁x) at x = 1, target 1; w: (2,) = (w₁, w₂)."""
    x = torch.ones(1, 1, dtype=w.dtype, device=w.device)
    hidden = F.linear(x, w[0].reshape(1, 1))  # (1, 1)
    out = F.linear(hidden, w[1].reshape(1, 1))
    return F.mse_loss(out, torch.ones_like(out))


def parse_point(text: str, name: str = "point") -> tuple[float, float]:
    """'w1,w2' -> (w1, w2), finite numbers."""
    try:
        w1, w2 = (float(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"write the {name} as two numbers w1,w2, for example 0.5,2; got '{text}'.") from None
    if not (np.isfinite(w1) and np.isfinite(w2)):
        raise ValueError(f"the {name} must be two finite numbers, got '{text}'.")
    if max(abs(w1), abs(w2)) > MAX_COORDINATE:
        raise ValueError(f"the {name}'s coordinates must lie within ±{MAX_COORDINATE:g} (J = (w₁w₂ − 1)² would "
                         f"overflow), got '{text}'.")
    return w1, w2


def quartic(start, end) -> np.ndarray:
    """The 5 coefficients of J(w(α)), w(α) = (1−α)·start + α·end, highest power first (as numpy.polyval takes them).

    w₁w₂ = c0 + c1α + c2α² with c0 = s₁s₂, c1 = s₁d₂ + s₂d₁, c2 = d₁d₂ (d = end − start), so J = (c0−1 + c1α + c2α²)².
    """
    s1, s2 = map(float, start)
    e1, e2 = map(float, end)
    d1, d2 = e1 - s1, e2 - s2
    b, c1, c2 = s1 * s2 - 1.0, s1 * d2 + s2 * d1, d1 * d2
    return np.array([c2 * c2, 2 * c1 * c2, c1 * c1 + 2 * b * c2, 2 * b * c1, b * b])


def line_frame(start, end, alphas) -> pd.DataFrame:
    """alpha, numeric (a torch forward pass of the chain at each α), closed_form (the quartic) along start → end."""
    a = np.asarray(alphas, dtype=np.float64)
    s, e = torch.tensor(start, dtype=torch.float64), torch.tensor(end, dtype=torch.float64)
    t = torch.as_tensor(a)[:, None]
    with torch.no_grad():
        numeric = vmap(chain_loss)((1 - t) * s + t * e).numpy()  # (A,)
    return pd.DataFrame({"alpha": a, "numeric": numeric, "closed_form": np.polyval(quartic(start, end), a)})


def line_metrics(frame: pd.DataFrame) -> dict:
    """curve_metrics of the closed form on [0, 1], plus the largest |numeric − closed_form| over the frame."""
    metrics = curve_metrics(frame["alpha"], frame["closed_form"])
    metrics["max_abs_diff"] = float(np.abs(frame["numeric"] - frame["closed_form"]).max())
    return metrics


def surface_frame(extent: float = 2.5, n: int = 69) -> pd.DataFrame:
    """w1, w2, loss on an n × n grid over [−extent, extent]² (odd n puts the saddle on the grid)."""
    if not (np.isfinite(extent) and extent > 0) or not 2 <= n <= 501:
        raise ValueError(f"the surface needs extent > 0 and 2 to 501 points a side, got {extent:g} and {n}.")
    axis = np.linspace(-extent, extent, n)
    w1, w2 = (g.ravel() for g in np.meshgrid(axis, axis))
    return pd.DataFrame({"w1": w1, "w2": w2, "loss": loss(w1, w2)})


def hyperbola(extent: float, n: int = 200) -> pd.DataFrame:
    """w1, w2, branch: points of the minima w₁w₂ = 1 inside [−extent, extent]² (empty when extent < 1)."""
    if extent < 1:
        return pd.DataFrame(columns=["w1", "w2", "branch"])
    w1 = np.geomspace(1 / extent, extent, n)
    return pd.DataFrame({"w1": np.concatenate([w1, -w1]), "w2": np.concatenate([1 / w1, -1 / w1]),
                         "branch": ["w₁, w₂ > 0"] * n + ["w₁, w₂ < 0"] * n})


def minima_in_view(surface: pd.DataFrame) -> pd.DataFrame:
    """The hyperbola of minima over the whole square of a surface_frame (a little beyond, the chart clips it)."""
    return hyperbola(1.05 * float(np.abs(surface["w1"]).max()) if len(surface) else 0.0)


def view_extent(start, end, least: float = 2.5) -> float:
    """A square half-width that shows both endpoints with a margin."""
    return max(least, 1.15 * float(np.abs([*start, *end]).max()))
