"""The decision regions of a model on 2-D data."""

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
