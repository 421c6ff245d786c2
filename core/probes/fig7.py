"""The paper's Fig. 7 view: the trajectory over the two coordinates of θ with the largest range, coloured by loss."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from core.model.networks import MLP


def top_range_coordinates(thetas: torch.Tensor, k: int = 2) -> list[int]:
    """Indices of the k coordinates of θ with the largest range max_t θ_t[j] − min_t θ_t[j], largest first."""
    span = thetas.max(0).values.double() - thetas.min(0).values.double()
    return torch.topk(span, min(k, len(span))).indices.tolist()


def coordinate_name(spec: MLP, j: int) -> str:
    """'W2[3, 17]' or 'b1[5]': the layer and place of θ[j] (weights (out, in) as in nn.Linear)."""
    at = 0
    for layer, (w, b) in enumerate(spec.shapes, start=1):
        for name, shape in ((f"W{layer}", w), (f"b{layer}", b)):
            n = int(np.prod(shape))
            if j < at + n:
                idx = np.unravel_index(j - at, shape)
                return f"{name}[{', '.join(str(int(i)) for i in idx)}]"
            at += n
    raise ValueError(f"θ has {spec.n_params:,} coordinates; {j} is not one of them")


def fig7_frame(spec: MLP, steps, thetas: torch.Tensor, losses) -> pd.DataFrame:
    """step, x, y, loss: the two widest-ranging coordinates of θ_t and the objective at each point; the
    coordinates' names are in frame.attrs["x"], ["y"]."""
    jx, jy = top_range_coordinates(thetas, 2)
    frame = pd.DataFrame({"step": [int(s) for s in steps], "x": thetas[:, jx].double().cpu().numpy(),
                          "y": thetas[:, jy].double().cpu().numpy(), "loss": np.asarray(losses, dtype=float)})
    frame.attrs.update(x=f"θ[{jx}] = {coordinate_name(spec, jx)}", y=f"θ[{jy}] = {coordinate_name(spec, jy)}")
    return frame
