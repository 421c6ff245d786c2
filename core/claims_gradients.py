"""The Gradients page's lessons as claims (core.claims' Claim and Verdict), checked on what the page draws: a noise
table of a run's point (definitions §12), the two gradient-noise columns of a run's logged rows, and the signal
through depth at initialisation (§13). The claims name the batch sizes and scales drawn; check() measures them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core import claims as core_claims
from core.claims import Claim, Evidence, Verdict
from core.probes.gradient_noise import loglog_slope

FLAT = 10.0  # "stays flat": varies by less than this factor across the layers
FIT_FRACTION = 0.1  # the slopes are fitted over m <= N/10, where (N − m)/(N − 1) is near 1


# ---- inexact gradients: Evidence(tables={"noise": noise_table}, numbers={"n": N, "full_error": ...}) -----------
def _noise(ev: Evidence) -> tuple[pd.DataFrame, int]:
    return ev.tables["noise"], int(ev.numbers["n"])


def slope(ev: Evidence, column: str) -> float:
    table, n = _noise(ev)
    return loglog_slope(table, n, FIT_FRACTION, column)


def slope_gap(ev: Evidence, column: str, target: float = -0.5) -> float:
    """|fitted log-log slope of column over m <= N/10 − target|; NaN under two such batch sizes."""
    return abs(slope(ev, column) - target)


def theory_gap(ev: Evidence) -> float:
    """The largest |log₂(measured rms / sampling theory)| over the batch sizes below N (1: a factor of 2)."""
    table, n = _noise(ev)
    rows = table[(table["batch_size"] < n) & (table["predicted"] > 0) & (table["relative_error_rms"] > 0)]
    if not len(rows):
        return math.nan
    return float(np.abs(np.log2(rows["relative_error_rms"] / rows["predicted"])).max())


def cosine_at(ev: Evidence, m: int) -> float:
    table, _ = _noise(ev)
    rows = table[table["batch_size"] == m]
    return float(rows["cosine_mean"].iloc[0]) if len(rows) else math.nan


def number(ev: Evidence, key: str) -> float:
    return float(ev.numbers.get(key, math.nan))


def noise_claims(sizes: list[int], n: int) -> tuple[Claim, ...]:
    """The inexact-gradient claims for the batch sizes drawn (n: the training split's size)."""
    below = [m for m in sizes if m < n]
    out = [Claim("the rms error follows 1/√m: its fitted log-log slope over m ≤ N/10 lies within 0.1 of −0.5 "
                 "(|slope + 0.5|)", "slope_gap", "<=", 0.1, ("relative_error_rms",), ".3f"),
           Claim("the rms error agrees with sampling theory within a factor of 2 at every m < N (largest "
                 "|log₂(rms / theory)|)", "theory_gap", "<=", 1.0, (), ".2f"),
           Claim(f"a minibatch of all N = {n:,} examples, in shuffled order, is the full gradient: its relative error "
                 "(float rounding only)", "number", "<=", 1e-5, ("full_error",), ".1g")]
    if below:
        out.append(Claim(f"at m = {min(below):,} a minibatch gradient points far from g: mean cosine", "cosine_at",
                         "<", 0.5, (min(below),), ".3f"))
    if len(below) > 1:
        out.append(Claim(f"at m = {max(below):,} it points close to g: mean cosine", "cosine_at", ">", 0.5,
                         (max(below),), ".3f"))
    return tuple(out)


# ---- live: Evidence(monitors={"metrics": a run's logged rows}) -----------------------------------------------
def live_median_error(ev: Evidence) -> float:
    """The median of grad_rel_error over the logged rows that have it."""
    metrics = ev.monitors["metrics"]
    values = metrics["grad_rel_error"].dropna() if "grad_rel_error" in metrics else pd.Series(dtype=float)
    return float(values.median()) if len(values) else math.nan


def loss_ratio(ev: Evidence) -> float:
    """The last logged training loss over the one at step 0."""
    metrics = ev.monitors["metrics"]
    return float(metrics["train_loss"].iloc[-1] / metrics["train_loss"].iloc[0]) if len(metrics) else math.nan


LIVE_CLAIMS = (
    Claim("a typical step's minibatch gradient is farther from g than g is long: median ‖g_B − g‖/‖g‖ over the "
          "logged steps", "live_median_error", ">", 1.0, (), ".3g"),
    Claim("yet the training loss fell below half its value at step 0 (last logged over first)", "loss_ratio", "<",
          0.5, (), ".3g"))


# ---- the signal through depth: Evidence(tables={"signal": depth_signal}) --------------------------------------
def _layers(ev: Evidence, scale: float) -> pd.DataFrame:
    frame = ev.tables["signal"]
    return frame[frame["scale"] == scale].sort_values("layer")


def _ratio(values: pd.Series) -> float:
    values = values.to_numpy(float)
    return float(values.max() / values.min()) if len(values) and values.min() > 0 else math.nan


def grad_spread(ev: Evidence, scale: float) -> float:
    """Largest over smallest weight-gradient norm over every layer, the output layer included."""
    return _ratio(_layers(ev, scale)["grad_norm"])


def act_spread(ev: Evidence, scale: float) -> float:
    """Largest over smallest activation std over the hidden layers."""
    rows = _layers(ev, scale)
    return _ratio(rows["activation_std"].iloc[:-1])


def spread(ev: Evidence, scale: float) -> float:
    """The larger of grad_spread and act_spread: how far from flat the signal is at this scale (1: flat)."""
    return max(grad_spread(ev, scale), act_spread(ev, scale))


def first_over_out(ev: Evidence, scale: float) -> float:
    """Layer 1's weight-gradient norm over the output layer's: below 1 the gradient shrinks toward the input."""
    g = _layers(ev, scale)["grad_norm"].to_numpy(float)
    return float(g[0] / g[-1]) if len(g) > 1 and g[-1] > 0 else math.nan


def explosion(ev: Evidence, scale: float) -> float:
    """The larger of layer 1's gradient norm over the output layer's and the last hidden layer's activation std over
    layer 1's: above 1 the signal grows, backward or forward."""
    a = _layers(ev, scale)["activation_std"].to_numpy(float)
    forward = float(a[-2] / a[0]) if len(a) > 1 and a[0] > 0 else math.nan
    return max(first_over_out(ev, scale), forward)


def flatter(ev: Evidence, scale: float, lo: float, hi: float) -> float:
    """spread at `scale` over the smaller spread of the scales lo and hi (below 1: flatter than both)."""
    return spread(ev, scale) / min(spread(ev, lo), spread(ev, hi))


def flattest(frame: pd.DataFrame) -> float:
    """The scale of the signal frame with the smallest spread."""
    ev = Evidence(tables={"signal": frame})
    scales = sorted(frame["scale"].unique())
    spreads = [spread(ev, s) for s in scales]
    return float(scales[int(np.nanargmin(spreads))]) if np.isfinite(spreads).any() else float(scales[0])


def depth_claims(frame: pd.DataFrame) -> tuple[Claim, ...]:
    """Vanishing at the smallest scale drawn, exploding at the largest, and the flattest one (measured) flat."""
    scales = sorted(float(s) for s in frame["scale"].unique())
    lo, hi, best = scales[0], scales[-1], flattest(frame)
    out = [Claim(f"at the smallest scale, s = {lo:g}, the gradient vanishes toward the input: layer 1's weight-"
                 "gradient norm over the output layer's", "first_over_out", "<", 1 / FLAT, (lo,), ".3g")]
    if hi > lo:
        out.append(Claim(f"at the largest scale, s = {hi:g}, the signal explodes: layer 1's gradient norm over the "
                         "output layer's, or the last hidden layer's activation std over layer 1's (the larger)",
                         "explosion", ">", FLAT, (hi,), ".3g"))
        out.append(Claim(f"the flattest scale, s = {best:g}, is flatter than both ends (its largest-over-smallest "
                         "ratio across layers over theirs)", "flatter", "<", 1.0, (best, lo, hi), ".3g"))
    out.append(Claim(f"at s = {best:g} the weight-gradient norm varies by less than {FLAT:g}× across the layers "
                     "(largest over smallest)", "grad_spread", "<", FLAT, (best,), ".3g"))
    out.append(Claim(f"and the activation std by less than {FLAT:g}× across the hidden layers", "act_spread", "<",
                     FLAT, (best,), ".3g"))
    return tuple(out)


MEASURES = {f.__name__: f for f in (slope_gap, theory_gap, cosine_at, number, live_median_error, loss_ratio,
                                    grad_spread, act_spread, first_over_out, explosion, flatter)}


def check(claims, evidence: Evidence) -> list[Verdict]:
    """Every claim measured on the evidence (these measures, not core.claims'); a NaN measure fails."""
    return core_claims.check(claims, evidence, MEASURES)
