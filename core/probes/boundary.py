"""What a model does over its input space: decision regions on 2-D data, the fitted curve of a 1-D regression."""

from __future__ import annotations

import pandas as pd
import torch

from core.model.networks import MLP, forward


@torch.no_grad()
def decision_grid(spec: MLP, theta: torch.Tensor, x: torch.Tensor, resolution: int = 60,
                  margin: float = 0.25) -> pd.DataFrame:
    """Predicted class and its probability on a resolution x resolution grid covering x (N, 2)."""
    lo, hi = x.min(0).values, x.max(0).values
    pad = (hi - lo) * margin
    axes = [torch.linspace(float(lo[i] - pad[i]), float(hi[i] + pad[i]), resolution, device=x.device) for i in (0, 1)]
    gx, gy = torch.meshgrid(axes[0], axes[1], indexing="xy")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (R*R, 2)
    probs = torch.softmax(forward(spec, spec.split(theta), grid), dim=1)
    confidence, prediction = probs.max(1)
    return pd.DataFrame({"x": grid[:, 0].cpu().numpy(), "y": grid[:, 1].cpu().numpy(),
                         "prediction": prediction.cpu().numpy(), "confidence": confidence.cpu().numpy()})


def points_frame(x: torch.Tensor, y: torch.Tensor, limit: int = 1500) -> pd.DataFrame:
    """At most `limit` data points (x, y, label) for drawing."""
    stride = max(1, len(y) // limit)
    return pd.DataFrame({"x": x[::stride, 0].cpu().numpy(), "y": x[::stride, 1].cpu().numpy(),
                         "label": y[::stride].cpu().numpy()})


FIT_POINTS, FIT_MARGIN = 200, 0.05  # the prediction's grid: points, and margin beyond the data on each side


def draws_fit(data) -> bool:
    """Whether a data set is a 1-D regression, whose fit (points and prediction) can be drawn as it is."""
    return data.task == "regression" and data.n_features == 1


@torch.no_grad()
def fit_grid(spec, theta: torch.Tensor, x: torch.Tensor, points: int = FIT_POINTS,
             margin: float = FIT_MARGIN) -> pd.DataFrame:
    """The prediction of a 1-D regression (x, y, kind = "prediction") on `points` evenly spaced x covering x (N, 1)
    with a margin of `margin` x its range on each side."""
    lo, hi = float(x[:, 0].min()), float(x[:, 0].max())
    pad = (hi - lo) * margin
    grid = torch.linspace(lo - pad, hi + pad, points, device=x.device, dtype=x.dtype)[:, None]
    prediction = forward(spec, spec.split(theta), grid)[:, 0]
    return pd.DataFrame({"x": grid[:, 0].cpu().numpy(), "y": prediction.cpu().numpy(), "kind": "prediction"})


def fit_points(x: torch.Tensor, y: torch.Tensor, limit: int = 1500) -> pd.DataFrame:
    """At most `limit` points (x, y, kind = "training point") of a 1-D regression, for drawing."""
    stride = max(1, len(y) // limit)
    return pd.DataFrame({"x": x[::stride, 0].cpu().numpy(), "y": y[::stride].cpu().numpy(),
                         "kind": "training point"})
