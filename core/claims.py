"""Lessons as checked claims: each sentence a preset says about its figure is a predicate on the user's own run.

A Claim names a measure (a number computed from the evidence the page already has: the runs' records, the
interpolation curves on the preset's grids, the live monitors, or the analytic comparators) and a bound. check()
evaluates every claim of a preset and returns each with the measured number and whether it holds; pages show
them as holds or fails, and the tests run every preset's claims; on a regression run, those that do not apply.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from core.model.data import from_config
from core.probes.interpolation import curve_metrics
from core.probes.straying import straying_summary
from core.toys import comparators, deep_linear

OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
CHANCE_LEVEL = 0.95  # a run is "at chance" while its train loss is above this share of ln(classes)
CLASSIFICATION_MEASURES = {"chance_share", "fit_share", "fit_share_drop", "loss_gap", "loss_spread", "best_error"}
NOT_REGRESSION = "does not apply to a regression"


@dataclass(frozen=True)
class Claim:
    """'text' holds when measure(evidence, *args) `op` bound; a regression run reads regression_text, if set."""

    text: str
    measure: str  # a key of MEASURES
    op: str
    bound: float
    args: tuple = ()
    fmt: str = ".3g"
    regression_text: str = ""

    def applies_to(self, task: str) -> bool:
        """Not on a regression for a claim about an error rate (a *_error column), chance or fitting every point."""
        return task != "regression" or not (self.measure in CLASSIFICATION_MEASURES
                                            or any(str(a).endswith("_error") for a in self.args))


class Verdict(NamedTuple):
    claim: Claim
    value: float
    holds: bool
    applies: bool = True  # False: not measured, the claim does not apply to this run's task (a regression)

    @property
    def line(self) -> str:
        """'holds · The barrier … (measured 0.21; needs > 0.1)', or 'does not apply to a regression · …'."""
        if not self.applies:
            return f"{NOT_REGRESSION} · {self.claim.text}"
        need = f"{self.claim.op} {self.claim.bound:{self.claim.fmt}}"
        return (f"{'holds' if self.holds else 'fails'} · {self.claim.text} (measured {self.value:{self.claim.fmt}}; "
                f"needs {need})")


@dataclass
class Evidence:
    """What the claims are measured on; a page fills what its preset needs."""

    records: list = field(default_factory=list)  # RunRecords of the preset's runs, in order
    curves: pd.DataFrame | None = None  # endpoints.curves on the preset's main grid (a `curve` column per line)
    windows: dict[str, pd.DataFrame] = field(default_factory=dict)  # zoom window title -> curves
    ends: pd.DataFrame | None = None  # endpoints.end_table of the preset's lines
    monitors: dict[str, pd.DataFrame] = field(default_factory=dict)  # metrics, points, curvature of one live run
    numbers: dict[str, float] = field(default_factory=dict)  # named numbers a page measured (Minima: barriers, …)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # restarts, sweep, rescale, barriers (Minima)
    task: str = "classification"  # "regression" when a run's data are (records_task): its error is the RMSE


def records_task(records) -> str:
    """"regression" when any of the runs is one (its data set's labels are continuous), else "classification"."""
    return "regression" if any(from_config(r.config).task == "regression" for r in records) else "classification"


# ---- measures --------------------------------------------------------------------------------------------------
def _curve(ev: Evidence, k: int) -> pd.DataFrame:
    labels = list(dict.fromkeys(ev.curves["curve"]))
    return ev.curves[ev.curves["curve"] == labels[k]]


def line_metric(ev: Evidence, k: int, split: str, metric: str) -> float:
    """monotone (1 or 0), max_bump or barrier of line k's loss on [0, 1]."""
    curve = _curve(ev, k)
    value = curve_metrics(curve["alpha"], curve[f"{split}_loss"])[metric]
    return float(value)


def drop_share(ev: Evidence, k: int, lo: float, hi: float) -> float:
    """The share of line k's whole fall J(0) − J(1) (train loss) that happens between α = lo and α = hi."""
    curve = _curve(ev, k)

    def at(alpha: float) -> float:
        return float(curve.loc[(curve["alpha"] - alpha).abs().idxmin(), "train_loss"])

    return (at(lo) - at(hi)) / (at(0.0) - at(1.0))


def window_bump(ev: Evidence, window: str) -> float:
    """The largest max bump of any line's train loss inside a zoom window."""
    frame = ev.windows[window]
    return max(curve_metrics(g["alpha"], g["train_loss"])["max_bump"] for _, g in frame.groupby("curve"))


def falls_past_end(ev: Evidence, k: int, end: int) -> float:
    """How far line k's train loss keeps falling past α = end (0 or 1)."""
    labels = list(dict.fromkeys(ev.ends["curve"]))
    row = ev.ends[(ev.ends["curve"] == labels[k]) & (ev.ends["split"] == "train")].iloc[0]
    return float(row["falls_after_1"] if end == 1 else row["falls_before_0"])


def val_turns_up(ev: Evidence, k: int) -> float:
    """Validation loss at α = 1 minus its minimum on [0, 1]: above 0, the curve turns up before the solution."""
    curve = _curve(ev, k)
    inside = curve[(curve["alpha"] >= 0) & (curve["alpha"] <= 1)]
    return float(inside.loc[inside["alpha"] == 1, "val_loss"].iloc[0] - inside["val_loss"].min())


def final(ev: Evidence, k: int, column: str) -> float:
    return ev.records[k].final_value(column)


def final_ratio(ev: Evidence, a: int, b: int, column: str) -> float:
    return final(ev, a, column) / final(ev, b, column)


def final_gap(ev: Evidence, a: int, b: int, column: str) -> float:
    """|final value of run a − final value of run b|."""
    return abs(final(ev, a, column) - final(ev, b, column))


def chance_share(ev: Evidence, k: int) -> float:
    """Share of the logged steps at which run k's train loss was still at chance (≥ 95% of ln classes)."""
    record = ev.records[k]
    metrics = record.metrics[record.metrics["step"] > 0]
    level = CHANCE_LEVEL * math.log(max(2, from_config(record.config).n_classes))
    return float((metrics["train_loss"] >= level).mean())


def max_rho(ev: Evidence, k: int) -> float:
    return straying_summary(ev.records[k].straying)["max_rho"]


def _window_mean(frame: pd.DataFrame, column: str, lo: float, hi: float) -> float:
    last = frame["step"].max()
    part = frame[(frame["step"] >= lo * last) & (frame["step"] <= hi * last)]
    return float(part[column].mean())


def growth(ev: Evidence, frame: str, column: str) -> float:
    """Mean of a per-step monitor over the last 20% of the run over its mean from 5% to 20% (Fig. 8.1)."""
    data = ev.monitors[frame]
    return _window_mean(data, column, 0.8, 1.0) / _window_mean(data, column, 0.05, 0.2)


def curvature_outgrows(ev: Evidence) -> float:
    """How much faster gᵀHg grew than gᵀg (ratio of their growths; above 1, the curvature term outgrew)."""
    return growth(ev, "curvature", "gHg") / growth(ev, "curvature", "gTg")


def val_error_drop(ev: Evidence) -> float:
    """Final validation error over the validation error at 5% of the run."""
    metrics = ev.monitors["metrics"]
    at = metrics.iloc[int(np.abs(metrics["step"] - 0.05 * metrics["step"].max()).argmin())]
    return float(metrics["val_error"].iloc[-1] / at["val_error"])


def deep_linear_line(ev: Evidence, line: str, metric: str) -> float:
    _, start, end = deep_linear.LINES[line]
    frame = deep_linear.line_frame(start, end, np.linspace(0, 1, 201))
    return float(curve_metrics(frame["alpha"], frame["closed_form"])[metric])


def walk_half_gap(ev: Evidence, dim: int) -> float:
    """|max residual / ‖θ_solution‖ − ½| of the page's default random walk in `dim` dimensions (a half circle: 0)."""
    frame = comparators.random_walk([dim], 1000, 900, 0)
    return abs(float(comparators.random_walk_summary(frame, 900)["ratio"].iloc[0]) - 0.5)


@functools.cache
def _convex_summary() -> pd.DataFrame:
    problem = comparators.convex_problem(100_000, 100.0, 0)  # the Straying page's defaults
    return comparators.convex_paths(problem, comparators.parse_settings(comparators.DEFAULT_SETTINGS))[1]


def convex_outcome(ev: Evidence, what: str) -> float:
    """On the Fig. 12 problem with the page's defaults: 'converged' share, or 'spread' of the max residuals."""
    summary = _convex_summary()
    if what == "converged":
        return float(summary["converged"].mean())
    return float(summary["max_residual"].max() / summary["max_residual"].min())


# ---- the Minima page: numbers and tables it measured (core.probes.symmetry, core.train.restarts) ---------------------
def number(ev: Evidence, key: str) -> float:
    return float(ev.numbers.get(key, math.nan))


def rescale_ratio(ev: Evidence, a: float, column: str) -> float:
    """The rescaled copy's norm or lambda_max at scale a over the run's own (a = 1)."""
    table = ev.tables["rescale"].set_index("a")[column]
    return float(table.loc[a] / table.loc[1.0])


def rescale_gap(ev: Evidence) -> float:
    """The largest output difference of any rescaled copy from the run."""
    return float(ev.tables["rescale"]["max_output_difference"].max())


def _at(ev: Evidence, table: str, width: int | None) -> pd.DataFrame:
    frame = ev.tables[table]
    return frame if width is None else frame[frame["width"] == width]


def fit_share(ev: Evidence, table: str, width: int | None = None) -> float:
    """The share of restarts that fit at one width (None: all rows of the table); NaN without restarts."""
    rows = _at(ev, table, width)
    return float(rows["fits"].mean()) if len(rows) else math.nan


def best_error(ev: Evidence, table: str) -> float:
    """The lowest final training error of any restart in the table (0: one classifies every training point)."""
    return float(ev.tables[table]["final_train_error"].min())


def fit_share_drop(ev: Evidence, table: str) -> float:
    """The largest fall of the share that fits from one width to the next wider one (0 when it never falls)."""
    shares = ev.tables[table].groupby("width")["fits"].mean().sort_index().to_numpy()
    return float(max(0.0, *(shares[:-1] - shares[1:]))) if len(shares) > 1 else math.nan


def loss_spread(ev: Evidence, table: str, width: int | None = None) -> float:
    """Largest minus smallest final training loss of the restarts at one width."""
    losses = _at(ev, table, width)["final_train_loss"]
    return float(losses.max() - losses.min()) if len(losses) else math.nan


def loss_gap(ev: Evidence, table: str) -> float:
    """The lowest final loss of a restart that does not fit over the highest of one that fits (above 1: the two
    groups do not overlap); NaN unless both groups exist."""
    frame = ev.tables[table]
    fit, stuck = frame[frame["fits"]], frame[~frame["fits"]]
    if not len(fit) or not len(stuck):
        return math.nan
    return float(stuck["final_train_loss"].min() / fit["final_train_loss"].max())


def _medians(ev: Evidence) -> pd.DataFrame:
    return ev.tables["barriers"].groupby("width")[["barrier_before", "barrier_after"]].median().sort_index()


def aligned_minus_before(ev: Evidence) -> float:
    """The largest (median barrier after matching − median barrier before) over the widths: below 0, matching
    lowered the barrier at every width."""
    m = _medians(ev)
    return float((m["barrier_after"] - m["barrier_before"]).max())


def aligned_shrink(ev: Evidence, column: str = "barrier_after") -> float:
    """The median barrier at the widest width over that at the narrowest (after or before matching)."""
    m = _medians(ev)[column]
    return float(m.iloc[-1] / m.iloc[0])


MEASURES: dict[str, Callable[..., float]] = {f.__name__: f for f in (
    line_metric, drop_share, window_bump, falls_past_end, val_turns_up, final, final_ratio, final_gap, chance_share,
    max_rho, growth, curvature_outgrows, val_error_drop, deep_linear_line, walk_half_gap, convex_outcome, number,
    rescale_ratio, rescale_gap, fit_share, best_error, fit_share_drop, loss_spread, loss_gap,
    aligned_minus_before, aligned_shrink)}


# ---- the Minima page's sections check these on what they draw (and its cards include them) ----------------------
MIXED_WIDTH = {"xor": 4, "spirals": 8}  # the width where, on the defaults, some restarts fit and some do not
RESTART_CLAIMS = (
    Claim("the best restart classifies every training point (its training error)", "best_error", "<=", 0.0,
          ("restarts",), ".1%"),
    Claim("and some do not", "fit_share", "<", 1.0, ("restarts",), ".0%"),
    Claim("every restart that does not fit ends at a higher loss than every one that does (lowest such loss over the "
          "highest loss of one that fits)", "loss_gap", ">", 1.0, ("restarts",)))
BARRIER_CLAIMS = (
    Claim("on the width sweep, the median barrier after matching is below the median before at every width (largest "
          "after − before)", "aligned_minus_before", "<", 0.0),
    Claim("after matching, the median barrier at the widest width is under a quarter of that at the narrowest",
          "aligned_shrink", "<", 0.25, ("barrier_after",)))


def sweep_claims(dataset: str) -> tuple[Claim, ...]:
    """The width sweep's lesson on one data set, as claims on the sweep the page draws."""
    m = MIXED_WIDTH[dataset]
    return (Claim("no logistic-regression restart (width 0) fits: the classes are not linearly separable",
                  "fit_share", "<=", 0.0, ("sweep", 0), ".0%"),
            Claim("every logistic-regression restart ends at the same training loss (largest − smallest)",
                  "loss_spread", "<=", 1e-4, ("sweep", 0), ".1g"),
            Claim("no restart of width 1 fits", "fit_share", "<=", 0.0, ("sweep", 1), ".0%"),
            Claim(f"at width {m} some restarts fit", "fit_share", ">", 0.0, ("sweep", m), ".0%"),
            Claim(f"and at width {m} some do not", "fit_share", "<", 1.0, ("sweep", m), ".0%"),
            Claim("at width 32 every restart fits", "fit_share", ">=", 1.0, ("sweep", 32), ".0%"),
            Claim("the share that fits never falls as the network widens (largest fall from one width to the next)",
                  "fit_share_drop", "<=", 0.0, ("sweep",), ".0%"))


def check(claims, evidence: Evidence, measures: dict | None = None) -> list[Verdict]:
    """Every claim measured on the evidence (by `measures`, name -> function; these MEASURES by default); a measure
    that cannot be taken (NaN) fails. On a regression, a claim that does not apply is not measured (applies False,
    value NaN) and one with a regression_text reads it."""
    measures = MEASURES if measures is None else measures
    out = []
    for claim in claims:
        if not claim.applies_to(evidence.task):
            out.append(Verdict(claim, math.nan, False, False))
            continue
        if evidence.task == "regression" and claim.regression_text:
            claim = dataclasses.replace(claim, text=claim.regression_text)
        value = float(measures[claim.measure](evidence, *claim.args))
        out.append(Verdict(claim, value, bool(value == value and OPS[claim.op](value, claim.bound))))
    return out
