"""The Long-term dependencies page's lessons as claims (core.claims' Claim and Verdict), checked on what the page
draws: the chain h_t = W h_{t−1} and its gradient (core.toys.chain), ‖∂J/∂h_t‖ of recurrent runs
(core.probes.memory.state_gradient_norms), and the share of random restarts that fit against the sequence length T
(core.train.restarts.memory_sweep, one frame per model). Definitions: docs/definitions.md §14."""

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


# ---- restarts against T: Evidence(tables={"sweep": memory_sweep rows with a `model` column, rnn or lstm}) -------
def _fractions(ev: Evidence, model: str) -> pd.Series:
    """The share of the model's restarts that fit, per T (ascending)."""
    rows = ev.tables["sweep"]
    rows = rows[rows["model"] == model]
    return rows.groupby("seq_len")["fits"].mean().sort_index().astype(float)


def sweep_fraction(ev: Evidence, model: str, end: str) -> float:
    """The share of the model's restarts that fit at the shortest (end "shortest") or the longest T ("longest")."""
    shares = _fractions(ev, model)
    return float(shares.iloc[0 if end == "shortest" else -1]) if len(shares) else math.nan


def sweep_drop(ev: Evidence, model: str) -> float:
    """The model's share of fitting restarts at the shortest T minus its share at the longest T."""
    shares = _fractions(ev, model)
    return float(shares.iloc[0] - shares.iloc[-1]) if len(shares) > 1 else math.nan


def sweep_gap(ev: Evidence) -> float:
    """At the longest T: the LSTM's share of fitting restarts minus the RNN's (NaN unless both ran the same Ts)."""
    rnn, lstm = _fractions(ev, "rnn"), _fractions(ev, "lstm")
    if not len(rnn) or list(rnn.index) != list(lstm.index):
        return math.nan
    return float(lstm.iloc[-1] - rnn.iloc[-1])


def sweep_claims(t_short: int, t_long: int) -> tuple[Claim, ...]:
    """What the sweep view's defaults showed on every seed set measured (adding, H = 16, Adam ε = 0.03, 400 steps,
    T = 2, 4, 8, 12; seeds 0–7, 8–15, …, 32–39: the RNN fit 8, 8, 0–1, 0 of 8, the LSTM 8, 8, 8, 7–8): the RNN
    solves the shortest task, its share falls by the longest, where the LSTM still solves it and fits more restarts."""
    return (Claim(f"the RNN solves the short task: the share of its restarts that fit at T = {t_short}",
                  "sweep_fraction", ">=", 0.5, ("rnn", "shortest"), ".0%"),
            Claim(f"the RNN's share falls with T: its share at T = {t_short} minus its share at T = {t_long}",
                  "sweep_drop", ">", 0.0, ("rnn",), ".0%"),
            Claim(f"the LSTM still solves the long task: the share of its restarts that fit at T = {t_long}",
                  "sweep_fraction", ">=", 0.5, ("lstm", "longest"), ".0%"),
            Claim(f"at T = {t_long}, the LSTM fits more restarts than the RNN: the LSTM's share minus the RNN's",
                  "sweep_gap", ">", 0.0, (), ".0%"))


MEASURES = {f.__name__: f for f in (closed_form_error, end_over_start, first_over_last, per_step, sweep_fraction,
                                    sweep_drop, sweep_gap)}


def check(claims, evidence: Evidence) -> list[Verdict]:
    """Every claim measured on the evidence (these measures, not core.claims'); a NaN measure fails."""
    return core_claims.check(claims, evidence, MEASURES)
