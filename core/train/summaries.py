"""What the live worker hands to the page: per-step monitors summarised (running statistics, then thinned), so that
charts take only these frames and the page recomputes nothing the worker has."""

from __future__ import annotations

import pandas as pd

from core.frames import MAX_POINTS, WINDOW, every_nth, running_average, running_median


def grad_norm_points(points: pd.DataFrame, window: int = WINDOW) -> pd.DataFrame:
    """step, grad_norm, average: the running average over every point, then at most MAX_POINTS rows kept."""
    data = points[["step", "grad_norm"]].dropna().copy()
    data["average"] = running_average(data["grad_norm"], window)
    return every_nth(data, MAX_POINTS)


def curvature_points(points: pd.DataFrame, window: int = WINDOW) -> pd.DataFrame:
    """The steps that carry eq. 8.10 terms, with running medians of gᵀg, gᵀHg and the ratio (columns *_mean); at most
    MAX_POINTS rows (the running medians use every step)."""
    columns = ["step", "gTg", "gHg", "curvature_ratio"]
    if "gHg" not in points:
        return pd.DataFrame(columns=columns + ["gTg_mean", "gHg_mean", "ratio_mean"], dtype=float)
    data = points[columns].dropna().copy()
    for column, mean in (("gTg", "gTg_mean"), ("gHg", "gHg_mean"), ("curvature_ratio", "ratio_mean")):
        data[mean] = running_median(data[column], window)
    return every_nth(data, MAX_POINTS)
