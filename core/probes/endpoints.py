"""The Interpolation page's endpoint pairs (definitions §2, paper Figs. 1-5) and their curves, several on one axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from core.model.build import model_and_data
from core.model.records import RunRecord
from core.probes.interpolation import curve_metrics, end_drops, interpolate

SAME_MODEL_FIELDS = ("dataset", "n_samples", "noise", "val_fraction", "data_seed", "hidden", "activation")
CHUNK = 20  # alphas per progress report


@dataclass(frozen=True)
class Endpoints:
    """theta(alpha) = (1 - alpha) theta0 + alpha theta1, evaluated with `record`'s network and data."""

    label: str
    record: RunRecord
    theta0: torch.Tensor
    theta1: torch.Tensor


def init_to_final(record: RunRecord) -> Endpoints:
    return Endpoints(f"{record.name}: init → final", record, record.theta_init, record.theta_final)


def checkpoint_to_checkpoint(record: RunRecord, step0: int, step1: int) -> Endpoints:
    return Endpoints(f"{record.name}: step {step0:,} → step {step1:,}", record, record.checkpoint(step0),
                     record.checkpoint(step1))


def incompatibility(a: RunRecord, b: RunRecord) -> str | None:
    """Why the parameters of a and b do not live in one space (same network on the same data), or None."""
    ca, cb = a.config.to_dict(), b.config.to_dict()
    differ = [f for f in SAME_MODEL_FIELDS if ca[f] != cb[f]]
    if differ:
        return (f"{a.name} and {b.name} differ in {', '.join(differ)}; a line between two solutions needs the same "
                "network on the same data (change only the seed or the optimizer).")
    return None


def final_to_final(a: RunRecord, b: RunRecord) -> Endpoints:
    problem = incompatibility(a, b)
    if problem:
        raise ValueError(problem)
    return Endpoints(f"{a.name} final → {b.name} final", a, a.theta_final, b.theta_final)


def random_point(n_params: int, norm: float, seed: int) -> torch.Tensor:
    """A point of the given Euclidean norm in a uniformly random direction (seeded)."""
    if not norm > 0:
        raise ValueError(f"the random point's norm must be positive, got {norm}")
    g = torch.randn(n_params, generator=torch.Generator().manual_seed(int(seed)), dtype=torch.float64)
    return (g * (norm / torch.linalg.vector_norm(g))).float()


def random_to_final(record: RunRecord, norm: float, seed: int) -> Endpoints:
    start = random_point(record.checkpoints.shape[1], norm, seed)
    return Endpoints(f"random point (‖θ‖ = {norm:g}) → {record.name} final", record, start, record.theta_final)


def curves(pairs: list[Endpoints], alphas, model_data=model_and_data, progress=None) -> pd.DataFrame:
    """Train and validation loss and error along each pair's line, stacked with a `curve` column.

    model_data(config) -> (spec, data) lets a caller cache networks and data; progress(fraction) is called after
    every CHUNK alphas, so a page can show progress (and stop the work by raising).
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    total, done, parts = max(1, len(pairs) * len(alphas)), 0, []
    for pair in pairs:
        spec, data = model_data(pair.record.config)
        device = data.x_train.device
        theta0, theta1 = pair.theta0.to(device), pair.theta1.to(device)
        pieces = []
        for start in range(0, len(alphas), CHUNK):
            pieces.append(interpolate(spec, theta0, theta1, data, alphas[start : start + CHUNK]))
            done += len(pieces[-1])
            if progress is not None:
                progress(done / total)
        frame = pd.concat(pieces, ignore_index=True)
        frame.insert(0, "curve", pair.label)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def end_table(frame: pd.DataFrame, quantity: str = "loss") -> pd.DataFrame:
    """Per curve and split, how far J keeps falling just past each end (interpolation.end_drops): curve, split,
    falls_before_0, falls_after_1. `frame` is curves() on a grid that reaches past the ends, such as PAST_ENDS."""
    rows = []
    for label, group in frame.groupby("curve", sort=False):
        for split, column in (("train", f"train_{quantity}"), ("validation", f"val_{quantity}")):
            before, after = end_drops(group["alpha"], group[column])
            rows.append({"curve": label, "split": split, "falls_before_0": before, "falls_after_1": after})
    return pd.DataFrame(rows, columns=["curve", "split", "falls_before_0", "falls_after_1"])


def ends_sentence(label: str, before: float, after: float) -> str:
    """A sentence on whether the ends of a line are minima along it, '' when both are (or were not looked at)."""
    parts = []
    if after > 0:
        parts.append(f"past α = 1 (by {after:.3g} within α ≤ 1.1)")
    if before > 0:
        parts.append(f"before α = 0 (by {before:.3g} within α ≥ −0.1)")
    if not parts:
        return ""
    ends = "those ends are" if len(parts) > 1 else "that end is"
    return (f"{label}: the training loss keeps falling {' and '.join(parts)}, so {ends} where training stopped, not "
            "a minimum along this line.")


def curve_table(frame: pd.DataFrame, quantity: str = "loss") -> pd.DataFrame:
    """Per curve and split: monotone on [0, 1], max bump with its alpha, and barrier (definitions §2)."""
    rows = []
    for label, group in frame.groupby("curve", sort=False):
        for split, column in (("train", f"train_{quantity}"), ("validation", f"val_{quantity}")):
            m = curve_metrics(group["alpha"], group[column])
            rows.append({"curve": label, "split": split, "monotone": m["monotone"], "max_bump": m["max_bump"],
                         "bump_alpha": m["bump_alpha"], "barrier": m["barrier"]})
    return pd.DataFrame(rows, columns=["curve", "split", "monotone", "max_bump", "bump_alpha", "barrier"])
