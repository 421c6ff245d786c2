"""Charts of the Gradients page: a minibatch gradient's error and cosine against the batch size (definitions §12),
the same two at each logged step of a run, and the signal through depth at initialisation (§13). Pure functions from
frames to Altair specs; legends sit below the plots (outside them)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.frames import running_median, thin_rows

HEIGHT = 420  # all of a chart in Streamlit: title, plot, axes and the legend below (about 100 px of it)
MEAN, RMS, THEORY, REFERENCE = "measured mean", "measured rms", "sampling theory", "1/√m reference"
ERROR_SERIES = alt.Scale(domain=[MEAN, RMS, THEORY, REFERENCE], range=["#1f77b4", "#d62728", "#2ca02c", "#7f7f7f"])
ERROR_DASHES = alt.Scale(domain=[MEAN, RMS, THEORY, REFERENCE], range=[[1, 0], [1, 0], [6, 3], [2, 3]])
COSINE, SPREAD = "mean cos(g_B, g)", "± 1 std over the samples"
COSINE_SERIES = alt.Scale(domain=[COSINE, SPREAD], range=["#1f77b4", "#9ecae1"])
SCALE_COLORS = ["#1f77b4", "#17becf", "#2ca02c", "#bcbd22", "#ff7f0e", "#9467bd", "#d62728"]  # small s → large s
LOG = alt.Scale(type="log")


def m_axis(sizes) -> alt.X:
    """Batch size on a log axis, ticked at the batch sizes drawn."""
    values = sorted({int(m) for m in sizes})
    return alt.X("batch_size:Q", title="batch size m (examples, log scale)", scale=alt.Scale(type="log", nice=False),
                 axis=alt.Axis(values=values, format=",d", labelOverlap=True))
GRID_POINTS = 60  # points of the sampling-theory and reference curves


def _legend(**extra) -> alt.Legend:
    return alt.Legend(orient="bottom", title=None, labelLimit=400, **extra)


def _line_legend() -> alt.Legend:
    """A legend of line samples (colour and dash), for series told apart by both."""
    return _legend(columns=2, symbolType="stroke", symbolStrokeWidth=2.5, symbolSize=300)


def variance_ratio(table: pd.DataFrame, n: int) -> float:
    """tr Σ / ‖g‖² from a noise table's predicted column (predicted² = (tr Σ/‖g‖²)/m · (N − m)/(N − 1)); NaN when no
    row below m = N has a finite prediction."""
    rows = table[(table["batch_size"] < n) & np.isfinite(table["predicted"])]
    if not len(rows) or n < 2:
        return float("nan")
    m = rows["batch_size"].to_numpy(float)
    return float(np.median(rows["predicted"].to_numpy(float) ** 2 * m * (n - 1) / (n - m)))


def error_frame(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """Long rows (batch_size, series, value, std) of the error chart: the measured mean and rms at each m < N (zero
    at m = N, which a log axis cannot draw), and on a grid of m over the same range the sampling theory
    √((tr Σ/m)(N − m)/(N − 1))/‖g‖ and the reference √(tr Σ/m)/‖g‖, which is exactly 1/√m times a constant."""
    drawn = table[(table["batch_size"] < n)]
    parts = [pd.DataFrame({"batch_size": drawn["batch_size"].astype(float), "series": MEAN,
                           "value": drawn["relative_error_mean"], "std": drawn["relative_error_std"]}),
             pd.DataFrame({"batch_size": drawn["batch_size"].astype(float), "series": RMS,
                           "value": drawn["relative_error_rms"], "std": np.nan})]
    ratio = variance_ratio(table, n)
    if len(drawn) and np.isfinite(ratio):
        lo, hi = float(drawn["batch_size"].min()), float(drawn["batch_size"].max())
        m = np.unique(np.geomspace(lo, hi, GRID_POINTS) if hi > lo else np.array([lo]))
        parts += [pd.DataFrame({"batch_size": m, "series": THEORY, "value": np.sqrt(ratio / m * (n - m) / (n - 1)),
                                "std": np.nan}),
                  pd.DataFrame({"batch_size": m, "series": REFERENCE, "value": np.sqrt(ratio / m), "std": np.nan})]
    out = pd.concat(parts, ignore_index=True)
    return out[np.isfinite(out["value"]) & (out["value"] > 0)]


def error_chart(table: pd.DataFrame, n: int) -> alt.LayerChart:
    """‖g_B − g‖/‖g‖ against m on log-log axes: measured mean and rms (points and lines), sampling theory (dashed) and
    the 1/√m reference (dotted). `table` is core.probes.gradient_noise.noise_table, n the training split's size."""
    data = error_frame(table, n)
    color = alt.Color("series:N", scale=ERROR_SERIES, legend=_line_legend())
    dash = alt.StrokeDash("series:N", scale=ERROR_DASHES, legend=_line_legend())
    x = m_axis(table.loc[table["batch_size"] < n, "batch_size"])
    y = alt.Y("value:Q", title=["‖g_B − g‖ / ‖g‖", "log scale"], scale=alt.Scale(type="log", nice=False, padding=8))
    tooltip = [alt.Tooltip("batch_size:Q", title="m", format=",.0f"), "series:N",
               alt.Tooltip("value:Q", title="‖g_B − g‖/‖g‖", format=".4g")]
    measured = alt.Chart(data[data["series"].isin([MEAN, RMS])]).mark_line(point=alt.OverlayMarkDef(size=40)).encode(
        x=x, y=y, color=color, strokeDash=dash,
        tooltip=[*tooltip, alt.Tooltip("std:Q", title="std over the samples", format=".3g")])
    curves = alt.Chart(data[data["series"].isin([THEORY, REFERENCE])]).mark_line(strokeWidth=1.8).encode(
        x=x, y=y, color=color, strokeDash=dash, tooltip=tooltip)
    title = alt.TitleParams("Relative error of a minibatch gradient",
                            subtitle=f"0 at m = N = {n:,} (the whole split), off the log axis")
    return (curves + measured).properties(title=title, height=HEIGHT)


def cosine_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Rows (batch_size, cosine, lo, hi): the mean cosine at each m and the band mean ± std, kept inside [−1, 1]."""
    std = table["cosine_std"].fillna(0.0)
    return pd.DataFrame({"batch_size": table["batch_size"].astype(float), "cosine": table["cosine_mean"],
                         "lo": (table["cosine_mean"] - std).clip(-1, 1), "hi": (table["cosine_mean"] + std).clip(-1, 1),
                         "std": table["cosine_std"]})


def cosine_chart(table: pd.DataFrame, n: int) -> alt.LayerChart:
    """The mean cosine between g_B and g against m (log x), with a band of ± one std over the samples; 1 at m = N."""
    data = cosine_frame(table)
    y_scale = alt.Scale(domain=[min(-0.2, float(data["lo"].min()) if len(data) else 0.0), 1.0])
    color = alt.Color("series:N", scale=COSINE_SERIES, legend=_legend())
    x = m_axis(table["batch_size"])
    band = alt.Chart(data.assign(series=SPREAD)).mark_area(opacity=0.45).encode(
        x=x, y=alt.Y("lo:Q", title="cos(g_B, g)", scale=y_scale), y2="hi:Q", color=color)
    line = alt.Chart(data.assign(series=COSINE)).mark_line(point=alt.OverlayMarkDef(size=40)).encode(
        x=x, y="cosine:Q", color=color,
        tooltip=[alt.Tooltip("batch_size:Q", title="m", format=",.0f"),
                 alt.Tooltip("cosine:Q", title="mean cos(g_B, g)", format=".3f"),
                 alt.Tooltip("std:Q", title="std over the samples", format=".3f")])
    zero = alt.Chart(pd.DataFrame({"cosine": [0.0], "what": ["cos = 0: g_B orthogonal to g"]})).mark_rule(
        strokeDash=[4, 4], color="gray").encode(y="cosine:Q", tooltip=["what:N"])
    title = alt.TitleParams("Cosine between g_B and g", subtitle=f"1 at m = N = {n:,}")
    return (band + line + zero).properties(title=title, height=HEIGHT)


# ---- the same two at each logged step of a run ---------------------------------------------------------------
LIVE_WINDOW = 9  # logged rows in the running median
STEP, MEDIAN = "each logged step", f"running median of {LIVE_WINDOW} rows"
STEP_X = alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1, format=",d"))


def live_frame(metrics: pd.DataFrame) -> pd.DataFrame:
    """The logged rows that have the two gradient-noise columns (thinned for drawing), with their running medians
    over LIVE_WINDOW rows (trailing) as grad_cosine_median and grad_rel_error_median."""
    columns = ["step", "grad_cosine", "grad_rel_error"]
    if "grad_cosine" not in metrics:
        return pd.DataFrame(columns=columns + [f"{c}_median" for c in columns[1:]])
    rows = metrics[columns].dropna().astype({"grad_cosine": float, "grad_rel_error": float})
    for column in columns[1:]:
        rows[f"{column}_median"] = running_median(rows[column], LIVE_WINDOW)
    return thin_rows(rows.reset_index(drop=True))


def _live_chart(metrics: pd.DataFrame, column: str, label: str, y: alt.Y, title: str, rule: tuple[float, str],
                colors: tuple[str, str]) -> alt.LayerChart:
    """Each logged step's value as faint points on a thin line, the running median over them, and a level rule."""
    data = live_frame(metrics)
    if column == "grad_rel_error":  # a log axis
        data = data[(data[column] > 0) & (data[f"{column}_median"] > 0)]
    long = pd.concat([pd.DataFrame({"step": data["step"], "series": STEP, "value": data[column]}),
                      pd.DataFrame({"step": data["step"], "series": MEDIAN, "value": data[f"{column}_median"]})],
                     ignore_index=True)
    color = alt.Color("series:N", scale=alt.Scale(domain=[STEP, MEDIAN], range=list(colors)), legend=_legend())
    tooltip = ["step:Q", "series:N", alt.Tooltip("value:Q", title=label, format=".3g")]
    steps = alt.Chart(long[long["series"] == STEP]).mark_line(point=alt.OverlayMarkDef(size=18), strokeWidth=1).encode(
        x=STEP_X, y=y, color=color, tooltip=tooltip)
    median = alt.Chart(long[long["series"] == MEDIAN]).mark_line(strokeWidth=2.5).encode(
        x=STEP_X, y=y, color=color, tooltip=tooltip)
    level = alt.Chart(pd.DataFrame({"value": [rule[0]], "what": [rule[1]]})).mark_rule(
        strokeDash=[4, 4], color="gray").encode(y="value:Q", tooltip=["what:N"])
    return (steps + median + level).properties(title=title, height=HEIGHT - 40)


def live_cosine_chart(metrics: pd.DataFrame) -> alt.LayerChart:
    """cos(g_B, g) of each logged step's own minibatch gradient, its running median, and cos = 0 marked."""
    y = alt.Y("value:Q", title="cos(g_B, g)", scale=alt.Scale(domain=[-1, 1]))
    return _live_chart(metrics, "grad_cosine", "cos(g_B, g)", y, "Cosine of the step's g_B with g",
                       (0.0, "cos = 0: orthogonal"), ("#9ecae1", "#1f77b4"))


def live_error_chart(metrics: pd.DataFrame) -> alt.LayerChart:
    """‖g_B − g‖/‖g‖ of each logged step's own minibatch gradient (log y), its running median, and 1 marked."""
    y = alt.Y("value:Q", title=["‖g_B − g‖ / ‖g‖", "log scale"], scale=LOG)
    return _live_chart(metrics, "grad_rel_error", "‖g_B − g‖/‖g‖", y, "Relative error of the step's g_B",
                       (1.0, "1: the error is as long as g"), ("#f4a3a3", "#d62728"))


# ---- the signal through depth at initialisation ----------------------------------------------------------------
def scale_label(scale: float) -> str:
    return f"s = {scale:g}"


def signal_chart(frame: pd.DataFrame, column: str) -> alt.Chart:
    """One line per init scale of a per-layer quantity (activation_std or grad_norm, log y) against the layer; the
    last layer, L + 1, is the output. `frame` is core.probes.depth_signal.depth_signal."""
    scales = sorted(frame["scale"].unique())
    order = [scale_label(s) for s in scales]
    picks = np.linspace(0, len(SCALE_COLORS) - 1, len(scales)).round().astype(int) if scales else []
    data = frame.assign(label=frame["scale"].map(scale_label))
    data = data[np.isfinite(data[column]) & (data[column] > 0)]
    last = int(frame["layer"].max()) if len(frame) else 1
    axis = alt.Axis(values=list(range(1, last + 1)), labelExpr=f"datum.value == {last} ? 'out' : datum.label")
    what = {"activation_std": ("std of the activations h_ℓ", "Activation std per layer"),
            "grad_norm": ("‖∂J/∂W_ℓ‖ (Frobenius)", "Weight-gradient norm per layer")}[column]
    return alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=30)).encode(
        x=alt.X("layer:Q", title="layer ℓ (out = the output layer)", axis=axis,
                scale=alt.Scale(domain=[1, last], nice=False)),
        y=alt.Y(f"{column}:Q", title=[what[0], "log scale"], scale=LOG),
        color=alt.Color("label:N", sort=order, legend=_legend(),
                        scale=alt.Scale(domain=order, range=[SCALE_COLORS[i] for i in picks])),
        tooltip=[alt.Tooltip("label:N", title="init scale"), "layer:Q",
                 alt.Tooltip(f"{column}:Q", title=what[0], format=".3g")],
    ).properties(title=what[1], height=HEIGHT)
