"""Charts of the cliff view (Long-term dependencies page; Deep Learning §8.2.4): the loss and ‖∇J‖ along a line from
a trained RNN's θ_final through a cliff, with where one plain and one clipped step from the cliff face land; and the
loss against step of plain and clipped gradient descent from the face. Pure functions from frames (core.probes.memory's
CLIFF_COLUMNS and DESCENT_COLUMNS) to Altair specs; legends sit below the plots."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

HEIGHT, GRAD_HEIGHT = 300, 170  # the loss panel and the ‖∇J‖ panel under it (each with its axes, titles and legend:
# a page draws them at that height in all); the descent chart is HEIGHT + 140
LOG = alt.Scale(type="log")
LINE_COLOR, FACE_COLOR, CHANCE_COLOR = "#1f77b4", "#1a1a1a", "#7f7f7f"
PLAIN_COLOR, CLIPPED_COLOR = "#d62728", "#2ca02c"
EXPORT_WIDTH = 520  # pixels of each panel in the downloaded figure
Y_LOSS = alt.Y("loss:Q", title=["J: loss on the training split", "log scale"], scale=LOG)


def _legend(**extra) -> alt.Legend:
    return alt.Legend(orient="bottom", title=None, labelLimit=500, **extra)


def walk_names(lr: float, clip_norm: float) -> tuple[str, str]:
    """The two walks' legend names."""
    return f"plain: θ ← θ − {lr:g}·∇J", f"clipped: θ ← θ − {lr:g}·∇J·min(1, {clip_norm:g}/‖∇J‖)"


def landing_marks(plain: pd.DataFrame, clipped: pd.DataFrame, chance: float, lr: float,
                  clip_norm: float) -> pd.DataFrame:
    """label, loss, length, color: the loss at chance, and J after one plain and one clipped step from the face
    (rows 1 of the descents), with the step's length (NaN for chance)."""
    rows = [(f"chance: ln(classes) = {chance:.3g}", chance, np.nan, CHANCE_COLOR)]
    for walk, name, color in ((plain, "one plain step", PLAIN_COLOR), (clipped, "one clipped step", CLIPPED_COLOR)):
        if len(walk) > 1:
            loss, length = float(walk["loss"].iloc[1]), float(walk["step_length"].iloc[1])
            rows.append((f"{name} lands at J = {loss:.3g} ({length:.3g} away)", loss, length, color))
    return pd.DataFrame(rows, columns=["label", "loss", "length", "color"])


def _positive(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    values = frame[column].to_numpy(float)
    return frame[np.isfinite(values) & (values > 0)]


def line_chart(line: pd.DataFrame, face_s: float, marks: pd.DataFrame, theta_norm: float) -> alt.VConcatChart:
    """line_panels, one above the other at EXPORT_WIDTH pixels: the figure the downloads hold (a page draws the two
    panels as separate charts, each as wide as its column: a concatenated chart would not follow the column)."""
    top, bottom = line_panels(line, face_s, marks, theta_norm)
    return alt.vconcat(top.properties(width=EXPORT_WIDTH), bottom.properties(width=EXPORT_WIDTH))


def line_panels(line: pd.DataFrame, face_s: float, marks: pd.DataFrame, theta_norm: float
                ) -> tuple[alt.LayerChart, alt.LayerChart]:
    """J along θ_final + s·u (log y, top) and ‖∇J‖ there (log y, below), the face marked by a vertical rule and a
    point; horizontal rules at the loss at chance and where one plain and one clipped step from the face land."""
    face = line.iloc[[int((line["s"] - face_s).abs().to_numpy().argmin())]] if len(line) else line
    span = float(line["s"].max()) if len(line) else 1.0
    x_scale = alt.Scale(domain=[0, span], nice=False)
    x = alt.X("s:Q", title=f"s: distance from θ_final along −∇J/‖∇J‖ (‖θ_final‖ = {theta_norm:.3g})", scale=x_scale)
    tooltip = [alt.Tooltip("s:Q", format=".4g"), alt.Tooltip("loss:Q", title="J", format=".3g"),
               alt.Tooltip("error:Q", title="error", format=".1%"), alt.Tooltip("grad_norm:Q", title="‖∇J‖",
                                                                                 format=".3g")]
    labels, colors = marks["label"].tolist(), marks["color"].tolist()
    rules = alt.Chart(_positive(marks, "loss")).mark_rule(strokeDash=[6, 3], strokeWidth=1.8).encode(
        y=Y_LOSS, color=alt.Color("label:N", sort=labels, scale=alt.Scale(domain=labels, range=colors),
                                           legend=_legend(columns=1)),
        tooltip=["label:N", alt.Tooltip("loss:Q", title="J", format=".3g")])
    loss = alt.Chart(_positive(line, "loss")).mark_line(color=LINE_COLOR, strokeWidth=2).encode(
        x=x, y=Y_LOSS, tooltip=tooltip)
    face_rule = alt.Chart(face).mark_rule(color=FACE_COLOR, strokeDash=[2, 2]).encode(x="s:Q")
    face_point = alt.Chart(_positive(face, "loss")).mark_point(filled=True, size=90, color=FACE_COLOR).encode(
        x="s:Q", y=Y_LOSS, tooltip=tooltip)
    top = (loss.encode(x=alt.X("s:Q", title=None, scale=x_scale)) + rules + face_rule + face_point).properties(
        height=HEIGHT + 140, title=alt.TitleParams("The loss along a line through a cliff", subtitle=(
            "black: the cliff face θ_c, the largest ‖∇J‖", "dashed: where one step from θ_c lands")))
    grad = alt.Chart(_positive(line, "grad_norm")).mark_line(color=FACE_COLOR, strokeWidth=1.5).encode(
        x=x, y=alt.Y("grad_norm:Q", title=["‖∇J‖", "log scale"], scale=LOG, axis=alt.Axis(grid=False, tickCount=4)),
        tooltip=tooltip)
    return top, (grad + face_rule).properties(height=GRAD_HEIGHT)


def descent_long(plain: pd.DataFrame, clipped: pd.DataFrame, lr: float, clip_norm: float) -> pd.DataFrame:
    """walk, step, loss, step_length, distance: both descents stacked, named by walk_names."""
    plain_name, clipped_name = walk_names(lr, clip_norm)
    parts = [frame[["step", "loss", "step_length", "distance"]].assign(walk=name)
             for frame, name in ((plain, plain_name), (clipped, clipped_name))]
    return pd.concat(parts, ignore_index=True)[["walk", "step", "loss", "step_length", "distance"]]


def descent_chart(plain: pd.DataFrame, clipped: pd.DataFrame, lr: float, clip_norm: float,
                  chance: float) -> alt.LayerChart:
    """J against step (log y) of plain and clipped full-batch descent from the face, and the loss at chance."""
    data = descent_long(plain, clipped, lr, clip_norm)
    names = list(walk_names(lr, clip_norm))
    chance_name = f"chance: ln(classes) = {chance:.3g}"
    domain, colors = [*names, chance_name], [PLAIN_COLOR, CLIPPED_COLOR, CHANCE_COLOR]
    color = alt.Color("walk:N", sort=domain, scale=alt.Scale(domain=domain, range=colors), legend=_legend(columns=1))
    steps = int(data["step"].max()) if len(data) else 1
    walks = alt.Chart(_positive(data, "loss")).mark_line(point=alt.OverlayMarkDef(size=28), strokeWidth=2).encode(
        x=alt.X("step:Q", title="step k from the cliff face θ_c (full batch)",
                scale=alt.Scale(domain=[0, steps], nice=False), axis=alt.Axis(format=",d", tickMinStep=1)),
        y=Y_LOSS, color=color,
        tooltip=["walk:N", "step:Q", alt.Tooltip("loss:Q", title="J", format=".3g"),
                 alt.Tooltip("step_length:Q", title="length of the step", format=".3g"),
                 alt.Tooltip("distance:Q", title="‖θ_k − θ_c‖", format=".3g")])
    level = alt.Chart(pd.DataFrame({"walk": [chance_name], "loss": [chance]})).mark_rule(
        strokeDash=[6, 3]).encode(y=Y_LOSS, color=color)
    return (walks + level).properties(height=HEIGHT + 140, title=alt.TitleParams(
        "Descent from the cliff face", subtitle=f"the same step size ε = {lr:g}; clipped to norm {clip_norm:g}"))
