"""Charts of curvature during training (eq. 8.10 and λ_max against 2/ε): pure DataFrame -> Altair functions."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts.training import HEIGHT, STEP_AXIS
from core.frames import WINDOW, thin_rows

TERM_LABELS = {"gTg": "gᵀg (first-order gain ÷ ε)", "gHg": "gᵀHg (curvature ÷ ½ε²)"}
ABOVE, BELOW = "above 1: the step raises J", "below 1"


def _log_scale(values: pd.Series) -> alt.Scale:
    """A log scale over the bulk of the positive values (1st percentile to the max); rare tiny outliers are clamped
    to the bottom edge instead of squashing everything else."""
    positive = values[values > 0]
    if not len(positive):
        return alt.Scale(type="log")
    hi = float(positive.max())
    lo = min(float(positive.quantile(0.01)), hi / 10)
    return alt.Scale(type="log", domain=[lo, hi], clamp=True, nice=True)


def _not_drawn(data: pd.DataFrame) -> str:
    hidden = int((data["gHg"] <= 0).sum())
    return f"{hidden} steps with gᵀHg ≤ 0 are off the log scale" if hidden else ""


def terms_chart(points: pd.DataFrame) -> alt.LayerChart:
    """gᵀg and gᵀHg of every step (faint) and their running medians (lines), log scale. Book §8.2.1: the gradient
    norm need not shrink while gᵀHg grows faster than gᵀg."""
    data = points
    raw = data.melt("step", ["gTg", "gHg"], "term", "value")
    mean = data.melt("step", ["gTg_mean", "gHg_mean"], "term", "value")
    raw["term"], mean["term"] = raw["term"].map(TERM_LABELS), mean["term"].str[:3].map(TERM_LABELS)
    raw, mean = raw[raw["value"] > 0], mean[mean["value"] > 0]
    color = alt.Color("term:N", title=None, legend=alt.Legend(orient="bottom"),
                      scale=alt.Scale(domain=list(TERM_LABELS.values()), range=["#4c78a8", "#d62728"]))
    y = alt.Y("value:Q", title="value (log scale)", scale=_log_scale(raw["value"]))
    faint = alt.Chart(raw).mark_circle(size=9, opacity=0.25).encode(
        x=alt.X("step:Q", title="step", axis=STEP_AXIS), y=y, color=color,
        tooltip=["step:Q", "term:N", alt.Tooltip("value:Q", format=".4g")])
    lines = alt.Chart(mean).mark_line(strokeWidth=2).encode(
        x="step:Q", y=y, color=color,
        tooltip=["step:Q", "term:N", alt.Tooltip("value:Q", title=f"median of last {WINDOW}", format=".4g")])
    title = alt.TitleParams("Eq. 8.10 terms of each step (lines: running medians)", subtitle=_not_drawn(data))
    return (faint + lines).properties(title=title, height=HEIGHT)


def ratio_chart(points: pd.DataFrame) -> alt.LayerChart:
    """½ε·gᵀHg/gᵀg of every step, red where above 1 (the quadratic model says the step raised the cost)."""
    data = points
    drawn = data[data["curvature_ratio"] > 0].assign(side=lambda d: np.where(d["curvature_ratio"] > 1, ABOVE, BELOW))
    scale = _log_scale(pd.concat([drawn["curvature_ratio"], pd.Series([1.0])]))
    y = alt.Y("curvature_ratio:Q", title="ratio (log scale)", scale=scale)
    dots = alt.Chart(drawn).mark_circle(size=12, opacity=0.5).encode(
        x=alt.X("step:Q", title="step", axis=STEP_AXIS), y=y,
        color=alt.Color("side:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=[BELOW, ABOVE], range=["#4c78a8", "#d62728"])),
        tooltip=["step:Q", alt.Tooltip("curvature_ratio:Q", title="ratio", format=".3g"),
                 alt.Tooltip("gTg:Q", format=".4g"), alt.Tooltip("gHg:Q", format=".4g")])
    line = alt.Chart(data[data["ratio_mean"] > 0]).mark_line(color="#333", strokeWidth=1.5).encode(
        x="step:Q", y=alt.Y("ratio_mean:Q", scale=scale),
        tooltip=["step:Q", alt.Tooltip("ratio_mean:Q", title=f"median of last {WINDOW}", format=".3g")])
    one = alt.Chart(pd.DataFrame({"y": [1.0], "what": ["ratio 1: gain and curvature penalty cancel"]})).mark_rule(
        strokeDash=[4, 4], color="#d62728").encode(y="y:Q", tooltip=["what:N"])
    title = alt.TitleParams("Curvature ratio ½ε·gᵀHg / gᵀg (line: running median)", subtitle=_not_drawn(data))
    return (dots + line + one).properties(title=title, height=HEIGHT)


def lambda_max_chart(metrics: pd.DataFrame) -> alt.LayerChart:
    """λ_max of the minibatch Hessian at each logged row against the stability limit 2/ε (log scale)."""
    data = thin_rows(metrics.dropna(subset=["lambda_max"]) if "lambda_max" in metrics else metrics.iloc[:0])
    data = data.assign(limit=2.0 / data["lr"])
    long = pd.concat([
        pd.DataFrame({"step": data["step"], "what": "λ_max of H", "value": data["lambda_max"]}),
        pd.DataFrame({"step": data["step"], "what": "2/ε, the stability limit", "value": data["limit"]}),
    ])
    long = long[long["value"] > 0]
    return alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=16)).encode(
        x=alt.X("step:Q", title="step", axis=STEP_AXIS),
        y=alt.Y("value:Q", title="curvature (log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["λ_max of H", "2/ε, the stability limit"],
                                        range=["#4c78a8", "#d62728"])),
        strokeDash=alt.StrokeDash("what:N", legend=None, scale=alt.Scale(
            domain=["λ_max of H", "2/ε, the stability limit"], range=[[1, 0], [6, 4]])),
        tooltip=["step:Q", "what:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(title="Sharpness λ_max against 2/ε", height=HEIGHT)


def spectrum_chart(eigenvalues, method: str, zero_tol: float = 1e-4, bins: int = 48) -> alt.Chart:
    """Exact: how many eigenvalues have each size |λ| on a log axis, negative ones in red, with the near-zero bulk
    (|λ| <= zero_tol·max|λ|) counted in the subtitle. Lanczos: the extreme eigenvalues found, one stem each."""
    values = pd.Series(np.asarray(eigenvalues, dtype=float), name="eigenvalue")
    if method != "exact":
        data = pd.DataFrame({"eigenvalue": values, "side": np.where(values < 0, "negative", "positive"), "one": 1})
        return alt.Chart(data).mark_tick(thickness=2, size=40).encode(
            x=alt.X("eigenvalue:Q", title="eigenvalue λ of the Hessian"),
            color=alt.Color("side:N", title=None, scale=alt.Scale(domain=["negative", "positive"],
                                                                  range=["#d62728", "#4c78a8"])),
            tooltip=[alt.Tooltip("eigenvalue:Q", format=".5g")],
        ).properties(title=f"The {len(values)} extreme eigenvalues found by Lanczos", height=120)
    scale = float(values.abs().max()) if len(values) else 1.0
    floor = zero_tol * scale
    outside = values[values.abs() > floor]
    edges = np.geomspace(floor, scale * 1.0001, bins + 1) if scale > 0 else np.array([0.0, 1.0])
    parts = []
    for side, part in (("negative", -outside[outside < 0]), ("positive", outside[outside > 0])):
        counts, _ = np.histogram(part, bins=edges)
        parts.append(pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts, "side": side}))
    data = pd.concat(parts, ignore_index=True)
    data = data[data["count"] > 0].assign(base=0.7)
    bulk = int(len(values) - len(outside))
    title = alt.TitleParams(
        f"All {len(values):,} eigenvalues of the Hessian by size |λ|",
        subtitle=f"{bulk:,} more sit in the near-zero bulk, |λ| ≤ {zero_tol:g}·max|λ| = {floor:.2g} (not drawn)")
    return alt.Chart(data).mark_rect(stroke="white", strokeWidth=0.5, opacity=0.6).encode(
        x=alt.X("lo:Q", title="|λ| (log scale)", scale=alt.Scale(type="log", nice=False)), x2="hi:Q",
        y=alt.Y("count:Q", title="number of eigenvalues (log scale)", scale=alt.Scale(type="log", domainMin=0.7)),
        y2="base:Q",
        color=alt.Color("side:N", title="sign of λ", scale=alt.Scale(domain=["negative", "positive"],
                                                                     range=["#d62728", "#4c78a8"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["side:N", alt.Tooltip("lo:Q", title="|λ| from", format=".3g"),
                 alt.Tooltip("hi:Q", title="to", format=".3g"), "count:Q"],
    ).properties(title=title, height=HEIGHT)


def index_loss_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Index against training loss at each checkpoint, joined in step order (Dauphin et al. 2014, Fig. 1)."""
    base = alt.Chart(frame).encode(
        x=alt.X("train_loss:Q", title="training loss J(θ)", scale=alt.Scale(type="log")),
        y=alt.Y("index:Q", title="index (share negative)", axis=alt.Axis(format=".0%")))
    path = base.mark_line(color="#bbb").encode(order="step:Q")
    dots = base.mark_circle(size=60).encode(
        color=alt.Color("step:Q", scale=alt.Scale(scheme="viridis"), title="step"),
        tooltip=["step:Q", alt.Tooltip("train_loss:Q", format=".4g"), alt.Tooltip("index:Q", format=".1%"),
                 alt.Tooltip("index_error:Q", title="± (standard error)", format=".1%"),
                 alt.Tooltip("lambda_max:Q", title="λ_max", format=".4g"), "method:N"])
    if "index_error" not in frame or not (frame["index_error"] > 0).any():
        return (path + dots).properties(title="Index against loss along training", height=HEIGHT)
    bars = alt.Chart(frame.assign(lo=frame["index"] - 2 * frame["index_error"],
                                  hi=frame["index"] + 2 * frame["index_error"])).mark_rule(color="#666").encode(
        x="train_loss:Q", y="lo:Q", y2="hi:Q")
    return (path + bars + dots).properties(
        title=alt.TitleParams("Index against loss along training", subtitle="estimated: bars are ±2 standard errors "
                              "over the probes"), height=HEIGHT)


def compare_chart(frame: pd.DataFrame, column: str, title: str, y_title: str, log_y: bool = True) -> alt.Chart:
    """One line per optimizer over steps (train_loss, grad_norm or index)."""
    data = frame.dropna(subset=[column])
    if log_y:
        data = data[data[column] > 0]
    fmt = ".1%" if column == "index" else ".4g"
    return alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=14)).encode(
        x=alt.X("step:Q", title="step", axis=STEP_AXIS),
        y=alt.Y(f"{column}:Q", title=y_title, scale=alt.Scale(type="log") if log_y else alt.Scale(),
                axis=alt.Axis(format=".0%") if column == "index" else alt.Axis()),
        color=alt.Color("optimizer:N", title=None, scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(orient="right")),  # beside the plot: below, it would take its height
        tooltip=["optimizer:N", "step:Q", alt.Tooltip(f"{column}:Q", title=y_title, format=fmt)],
    ).properties(title=title, height=HEIGHT)
