"""The Long-term dependencies page's lessons as claims (core.claims' Claim and Verdict), checked on what the page
draws: the chain h_t = W h_{t−1} and its gradient (core.toys.chain), and ‖∂J/∂h_t‖ of recurrent runs
(core.probes.memory.state_gradient_norms). Definitions: docs/definitions.md §14."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core import claims as core_claims
from core.claims import Claim, Evidence, Verdict

CLOSED_FORM_TOL = 1e-9
VANISHED = 0.01  # "the gradient has vanished": ‖∂J/∂h_1‖ below this share of ‖∂J/∂h_T‖


# ---- repeated multiplication: Evidence(tables={"forward": chain(...), "backward": gradient_chain(...)}) ---------
def _components(frame: pd.DataFrame, n: int) -> np.ndarray:
    return frame[[f"component_{k + 1}" for k in range(n)]].to_numpy(float)


def closed_form_error(ev: Evidence, which: str, eigenvalues: tuple) -> float:
    """The largest |computed component − closed form| over every t and k, relative to the vector's norm at that t:
    forward λ_kᵗ·(component at t = 0), backward λ_k^(T−t)·(component of g = ∂J/∂h_T)."""
    frame = ev.tables[which]
    lam = np.asarray(eigenvalues, float)
    comps = _components(frame, len(lam))
    if which == "forward":
        exponents, start = frame["t"].to_numpy(float), comps[0]
    else:
        exponents, start = frame["steps_back"].to_numpy(float), comps[-1]
    closed = np.power(lam[None, :], exponents[:, None]) * start[None, :]
    norms = frame["norm"].to_numpy(float)
    if not np.isfinite(closed).all() or not np.isfinite(comps).all() or not (norms > 0).all():
        return math.nan
    return float((np.abs(comps - closed).max(axis=1) / norms).max())


def end_over_start(ev: Evidence, which: str, k: int) -> float:
    """|component k at the chain's far end| over |at its start|: forward |c_k(T)/c_k(0)|, backward
    |∂J/∂h_0's component / g's component| (the factor after T steps back)."""
    values = np.abs(ev.tables[which][f"component_{k + 1}"].to_numpy(float))
    first, last = (values[0], values[-1]) if which == "forward" else (values[-1], values[0])
    return float(last / first) if first > 0 else math.nan


def chain_claims(eigenvalues, t_max: int) -> tuple[Claim, ...]:
    """Closed form forward and back, and one vanishing and one exploding component when there are such."""
    lam = tuple(float(v) for v in eigenvalues)
    out = [Claim(f"forward, every component equals λᵗ·(its start) for t = 0..{t_max}: largest |computed − λᵗ·start| "
                 "relative to ‖h_t‖", "closed_form_error", "<=", CLOSED_FORM_TOL, ("forward", lam), ".1e"),
           Claim("backward, every component of ∂J/∂h_t equals λ^(T−t)·(its component of g = ∂J/∂h_T): largest "
                 "|computed − closed form| relative to ‖∂J/∂h_t‖", "closed_form_error", "<=", CLOSED_FORM_TOL,
                 ("backward", lam), ".1e")]
    small = [k for k, v in enumerate(lam) if 0 < abs(v) < 1]
    large = [k for k, v in enumerate(lam) if abs(v) > 1]
    if small:
        k = max(small, key=lambda i: abs(lam[i]))
        out.append(Claim(f"the component with |λ| = {abs(lam[k]):g} < 1 vanishes: after T = {t_max} steps it is this "
                         "share of its start (the same share of g's component reaches h_0)", "end_over_start", "<",
                         1.0, ("forward", k), ".3g"))
    if large:
        k = min(large, key=lambda i: abs(lam[i]))
        out.append(Claim(f"the component with |λ| = {abs(lam[k]):g} > 1 explodes: after T = {t_max} steps it is this "
                         "multiple of its start", "end_over_start", ">", 1.0, ("forward", k), ".3g"))
    return tuple(out)


# ---- gradients through time: Evidence(tables={"states": run, point, t, norm rows}) -----------------------------
def first_over_last(ev: Evidence, run: str, point: str) -> float:
    """‖∂J/∂h_1‖ / ‖∂J/∂h_T‖ of one run at one point (θ_init or θ_final)."""
    rows = ev.tables["states"]
    rows = rows[(rows["run"] == run) & (rows["point"] == point)].sort_values("t")
    norms = rows["norm"].to_numpy(float)
    return float(norms[0] / norms[-1]) if len(norms) > 1 and norms[-1] > 0 else math.nan


def per_step(ev: Evidence, run: str, point: str) -> float:
    """The geometric-mean factor per step back: (‖∂J/∂h_1‖ / ‖∂J/∂h_T‖)^(1/(T−1))."""
    rows = ev.tables["states"]
    t = int(rows[(rows["run"] == run) & (rows["point"] == point)]["t"].max())
    ratio = first_over_last(ev, run, point)
    return float(ratio ** (1 / (t - 1))) if t > 1 and ratio > 0 else math.nan


def state_claims(run: str) -> tuple[Claim, ...]:
    """At θ_init the gradient reaching h_1 has vanished (measured on the suggested runs: 10⁻⁵ of ‖∂J/∂h_T‖)."""
    return (Claim(f"for {run} at θ_init, the gradient vanishes on its way back: ‖∂J/∂h_1‖ / ‖∂J/∂h_T‖",
                  "first_over_last", "<", VANISHED, (run, "θ_init"), ".3g"),
            Claim("each step back multiplies it by less than 1 on average at θ_init: "
                  "(‖∂J/∂h_1‖ / ‖∂J/∂h_T‖)^(1/(T−1))", "per_step", "<", 1.0, (run, "θ_init"), ".3g"))


MEASURES = {f.__name__: f for f in (closed_form_error, end_over_start, first_over_last, per_step)}


def check(claims, evidence: Evidence) -> list[Verdict]:
    """Every claim measured on the evidence (these measures, not core.claims'); a NaN measure fails."""
    return core_claims.check(claims, evidence, MEASURES)
