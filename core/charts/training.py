"""Charts: pure functions from DataFrames to Altair specs, shared by the app and the CLI."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.frames import WINDOW, thin_rows

SPLIT_COLORS = alt.Scale(domain=["train", "validation"], range=["#1f77b4", "#ff7f0e"])
MARKERS_UP_TO = 80  # lines get a marker per row when they have at most this many
HEIGHT = 300
DASHES = {"train": [1, 0], "validation": [6, 3]}
STEP_AXIS = alt.Axis(tickMinStep=1, format=",d")  # whole steps: no 0.5 ticks, no "0.000000" on a run at step 0


def error_title(regression: bool = False) -> str:
    """What the error columns hold: the share misclassified, or a regression's RMSE (in the label's units)."""
    return "RMSE" if regression else "classification error"


def loss_title(regression: bool = False) -> str:
    """What the loss columns hold: the mean cross-entropy, or a regression's mean squared error."""
    return "mean squared error" if regression else "mean cross-entropy"


def _long(frame: pd.DataFrame, x: str, columns: dict[str, str], value: str) -> pd.DataFrame:
    """Wide columns {column: split label} -> long rows (x, split, value), non-finite values dropped."""
    parts = [pd.DataFrame({x: frame[x], "split": label, value: frame[col]}) for col, label in columns.items()]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[x, "split", value])
    return out[np.isfinite(pd.to_numeric(out[value], errors="coerce").astype(float))]


def grad_norm_chart(points: pd.DataFrame, window: int = WINDOW, log_y: bool = False) -> alt.LayerChart:
    """Every minibatch gradient norm as a faint point, and its running average (book Fig. 8.1, left).

    `points` is the worker's summary (core.train.summaries.grad_norm_points): step, grad_norm, average.
    """
    data = points
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    base = alt.Chart(data).encode(x=alt.X("step:Q", title="step", axis=STEP_AXIS))
    faint = base.mark_circle(size=10, opacity=0.25, color="#4c78a8").encode(
        y=alt.Y("grad_norm:Q", title="gradient norm ‖g‖₂", scale=y_scale),
        tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("grad_norm:Q", title="‖g‖₂", format=".4g")],
    )
    line = base.mark_line(color="#d62728", strokeWidth=2).encode(
        y="average:Q", tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("average:Q", title=f"mean of last {window}",
                                                                     format=".4g")],
    )
    return (faint + line).properties(title="Gradient norm (points) and its running average (line)", height=HEIGHT)


def _split_lines(frame: pd.DataFrame, x: str, x_title: str, columns: dict, value: str, y_title: str,
                 log_y: bool, percent: bool) -> alt.Chart:
    frame = thin_rows(frame)
    data = _long(frame, x, columns, value)
    if log_y:
        data = data[data[value] > 0]
    fmt = ".1%" if percent else ".4g"
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=percent)
    markers = alt.OverlayMarkDef(size=14) if len(frame) <= MARKERS_UP_TO else False
    return alt.Chart(data).mark_line(point=markers).encode(
        x=alt.X(f"{x}:Q", title=x_title, axis=STEP_AXIS if x == "step" else alt.Axis()),
        y=alt.Y(f"{value}:Q", title=y_title, scale=y_scale, axis=alt.Axis(format=".0%") if percent else alt.Axis()),
        color=alt.Color("split:N", scale=SPLIT_COLORS, title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip(f"{x}:Q", title=x_title, format=".4g"), "split:N",
                 alt.Tooltip(f"{value}:Q", title=y_title, format=fmt)],
    ).properties(height=HEIGHT)


def error_chart(metrics: pd.DataFrame, regression: bool = False) -> alt.Chart:
    """Train and validation classification error over steps (book Fig. 8.1, right); a regression's RMSE, as a
    number in the label's units, when `regression`."""
    title = "RMSE (root mean squared error)" if regression else "Classification error"
    return _split_lines(metrics, "step", "step", {"train_error": "train", "val_error": "validation"}, "error",
                        error_title(regression), False, not regression).properties(title=title)


def loss_chart(metrics: pd.DataFrame, log_y: bool = False, regression: bool = False) -> alt.Chart:
    """Train and validation mean cross-entropy (a regression's mean squared error) over steps."""
    return _split_lines(metrics, "step", "step", {"train_loss": "train", "val_loss": "validation"}, "loss",
                        f"{loss_title(regression)} J(θ)", log_y, False).properties(title="Loss on the full splits")


def norms_chart(metrics: pd.DataFrame) -> alt.Chart:
    """Parameter norm ‖θ_t‖ and step length ‖θ_t − θ_{t−1}‖ over steps (log scale)."""
    data = _long(thin_rows(metrics), "step", {"param_norm": "‖θ_t‖", "step_length": "‖θ_t − θ_{t−1}‖"}, "norm")
    data = data[data["norm"] > 0]
    return alt.Chart(data).mark_line().encode(
        x=alt.X("step:Q", title="step", axis=STEP_AXIS),
        y=alt.Y("norm:Q", title="L2 norm", scale=alt.Scale(type="log")),
        color=alt.Color("split:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["step:Q", alt.Tooltip("split:N", title="quantity"), alt.Tooltip("norm:Q", format=".4g")],
    ).properties(title="Parameter norm and step length", height=HEIGHT)


def interpolation_chart(curve: pd.DataFrame, quantity: str = "loss", log_y: bool = False,
                        title: str = "J((1−α)·θ_i + α·θ_now)", regression: bool = False) -> alt.LayerChart:
    """J along the straight line between two parameter vectors, with the endpoints marked (definitions §2);
    `regression`: the loss is the mean squared error and the error the RMSE."""
    error = quantity == "error"
    columns = {f"train_{quantity}": "train", f"val_{quantity}": "validation"}
    lines = _split_lines(curve, "alpha", "α", columns, quantity,
                         error_title(regression) if error else loss_title(regression), log_y, error and not regression)
    ends = alt.Chart(pd.DataFrame({"alpha": [0.0, 1.0], "end": ["start (α=0)", "end (α=1)"]})).mark_rule(
        strokeDash=[4, 4], color="gray").encode(x="alpha:Q", tooltip=["end:N"])
    return (lines + ends).properties(title=title)


def curves_chart(frame: pd.DataFrame, quantity: str = "loss", splits=("train", "validation"), log_y: bool = False,
                 title: str = "J((1−α)·θ₀ + α·θ₁)", regression: bool = False) -> alt.LayerChart:
    """Several interpolation curves (a `curve` column) on one axis: colour = curve, dash = split (paper Fig. 3);
    `regression`: the loss is the mean squared error and the error the RMSE, drawn as numbers."""
    percent = quantity == "error" and not regression
    columns = {f"train_{quantity}": "train", f"val_{quantity}": "validation"}
    columns = {col: label for col, label in columns.items() if label in splits}
    parts = []
    for label, group in frame.groupby("curve", sort=False):
        long = _long(thin_rows(group), "alpha", columns, quantity)
        parts.append(long.assign(curve=label))
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["alpha", "split", quantity, "curve"])
    if log_y:
        data = data[data[quantity] > 0]
    y_title = error_title(regression) if quantity == "error" else f"{loss_title(regression)} J(θ(α))"
    fmt = ".2%" if percent else ".4g"
    lines = alt.Chart(data).mark_line().encode(
        x=alt.X("alpha:Q", title="α  (θ₀ at 0, θ₁ at 1)"),
        y=alt.Y(f"{quantity}:Q", title=y_title, scale=alt.Scale(type="log") if log_y else alt.Scale(zero=percent),
                axis=alt.Axis(format=".0%") if percent else alt.Axis()),
        color=alt.Color("curve:N", title=None, scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=600)),
        strokeDash=alt.StrokeDash("split:N", title=None, legend=alt.Legend(orient="bottom"), scale=alt.Scale(
            domain=list(columns.values()), range=[DASHES[s] for s in columns.values()])),  # only the splits drawn
        detail="split:N",
        tooltip=["curve:N", "split:N", alt.Tooltip("alpha:Q", title="α", format=".4g"),
                 alt.Tooltip(f"{quantity}:Q", title=y_title, format=fmt)],
    )
    lo, hi = (float(frame["alpha"].min()), float(frame["alpha"].max())) if len(frame) else (0.0, 1.0)
    ends = pd.DataFrame({"alpha": [a for a in (0.0, 1.0) if lo <= a <= hi]})
    ends["end"] = ends["alpha"].map({0.0: "θ₀ (α=0)", 1.0: "θ₁ (α=1)"})
    rules = alt.Chart(ends).mark_rule(strokeDash=[4, 4], color="gray").encode(x="alpha:Q", tooltip=["end:N"])
    n_curves = frame["curve"].nunique() if len(frame) else 0
    return (lines + rules).properties(title=title, height=HEIGHT + 40 + 22 * n_curves)  # room for the legend


def straying_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Projection p_t on the θ_i→θ_f axis against the residual norm r_t = ‖(θ_t−θ_i) − p_t·u‖₂ (paper Fig. 13)."""
    base = alt.Chart(frame).encode(
        x=alt.X("projection:Q", title="projection p_t on the axis θ_i → θ_f"),
        y=alt.Y("residual:Q", title="residual norm r_t"),
    )
    tooltip = [alt.Tooltip("step:Q"), alt.Tooltip("projection:Q", title="projection p_t", format=".4g"),
               alt.Tooltip("residual:Q", title="residual ‖(θ_t−θ_i) − p_t·u‖₂", format=".4g"),
               alt.Tooltip("param_norm:Q", title="‖θ_t‖", format=".4g")]
    path = base.mark_line(color="#999", strokeWidth=1).encode(order="step:Q")
    dots = base.mark_circle(size=22).encode(color=alt.Color("step:Q", scale=alt.Scale(scheme="viridis"),
                                                            title="step"), tooltip=tooltip)
    return (path + dots).properties(title="Straying from the straight path", height=HEIGHT)


def rho_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """ρ_t = r_t / ‖θ_t‖ over steps, with the paper's bound 1/3 (the line keeps at least 2/3 of the norm)."""
    data = thin_rows(frame.assign(rho=frame["residual"] / frame["param_norm"].where(frame["param_norm"] > 0)))
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=14)).encode(
        x=alt.X("step:Q", title="step t", axis=STEP_AXIS),
        y=alt.Y("rho:Q", title="ρ_t = r_t / ‖θ_t‖"),
        tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("rho:Q", title="ρ_t", format=".3f"),
                 alt.Tooltip("residual:Q", title="r_t", format=".4g"),
                 alt.Tooltip("param_norm:Q", title="‖θ_t‖", format=".4g")],
    )
    bound = alt.Chart(pd.DataFrame({"rho": [1 / 3], "what": ["ρ = 1/3: the paper's bound"]})).mark_rule(
        strokeDash=[4, 4], color="#d62728").encode(y="rho:Q", tooltip=["what:N"])
    return (line + bound).properties(title="Share of ‖θ_t‖ off the line", height=HEIGHT)


def boundary_chart(grid: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    """Predicted class over the plane (shaded by confidence) with the training points on top."""
    step_x = float(np.diff(np.unique(grid["x"]))[:1].sum() or 1.0)
    step_y = float(np.diff(np.unique(grid["y"]))[:1].sum() or 1.0)
    grid = grid.assign(x2=grid["x"] + step_x, y2=grid["y"] + step_y, cls=grid["prediction"].astype(str))
    cells = alt.Chart(grid).mark_rect().encode(
        x=alt.X("x:Q", title="x₁", scale=alt.Scale(zero=False, nice=False)), x2="x2:Q",
        y=alt.Y("y:Q", title="x₂", scale=alt.Scale(zero=False, nice=False)), y2="y2:Q",
        color=alt.Color("cls:N", title="class", scale=alt.Scale(scheme="tableau10")),
        opacity=alt.Opacity("confidence:Q", scale=alt.Scale(domain=[0.3, 1], range=[0.05, 0.45]), legend=None),
        tooltip=[alt.Tooltip("cls:N", title="predicted class"), alt.Tooltip("confidence:Q", format=".0%")],
    )
    return (cells + _dots(points, legend=False)).properties(title="Decision regions (training points on top)",
                                                            height=320)


def _dots(points: pd.DataFrame, legend: bool) -> alt.Chart:
    return alt.Chart(points.assign(cls=points["label"].astype(str))).mark_circle(
        size=14, stroke="white", strokeWidth=0.4, opacity=0.9).encode(
        x=alt.X("x:Q", title="x₁", scale=alt.Scale(zero=False)),
        y=alt.Y("y:Q", title="x₂", scale=alt.Scale(zero=False)),
        color=alt.Color("cls:N", title="class", scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(orient="bottom") if legend else None),
        tooltip=[alt.Tooltip("cls:N", title="label"), alt.Tooltip("x:Q", format=".3f"),
                 alt.Tooltip("y:Q", format=".3f")],
    )


def data_chart(points: pd.DataFrame, title: str) -> alt.Chart:
    """The training points of a 2-D data set, coloured by class."""
    return _dots(points, legend=True).properties(title=title, height=320)




FIT_COLORS = alt.Scale(domain=["training point", "prediction"], range=["#4c78a8", "#d62728"])
FIT_TITLE = "The fit (training points and the network's prediction)"


def fit_chart(frame: pd.DataFrame, title: str = FIT_TITLE) -> alt.LayerChart:
    """A 1-D regression: the training points (x, y) and the network's prediction on a grid of x as a line. `frame`
    has x, y and kind ("training point" or "prediction"); without prediction rows only the points are drawn."""
    points, line = frame[frame["kind"] == "training point"], frame[frame["kind"] == "prediction"]
    kinds = [k for k, part in zip(FIT_COLORS.domain, (points, line)) if len(part)]  # the legend lists what is drawn
    scale = alt.Scale(domain=kinds, range=[c for k, c in zip(FIT_COLORS.domain, FIT_COLORS.range) if k in kinds])
    color = alt.Color("kind:N", title=None, scale=scale, legend=alt.Legend(orient="bottom"))
    x, y = alt.X("x:Q", title="x", scale=alt.Scale(zero=False)), alt.Y("y:Q", title="y", scale=alt.Scale(zero=False))
    dots = alt.Chart(points).mark_circle(size=14, opacity=0.6).encode(
        x=x, y=y, color=color, tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")])
    curve = alt.Chart(line).mark_line(strokeWidth=2.5).encode(
        x=x, y=y, color=color, order="x:Q",
        tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", title="prediction", format=".3f")])
    return (dots + curve).properties(title=title, height=320)
