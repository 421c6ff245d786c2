"""Charts of the synthetic comparators (random walk, convex paths) and deep linear regression (definitions §3, §4)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts.training import HEIGHT
from core.frames import thin_rows

PANEL = 210  # width and height of one random-walk panel, pixels
PATH_ROWS = 500  # convex path rows drawn per setting at most
SURFACE_SIDE = 70  # grid lines per side of the heat map at most (70² rows, under Altair's 5,000)


def _walk_panel(frame: pd.DataFrame, dim: int, solution_step: int) -> alt.LayerChart:
    tooltip = [alt.Tooltip("dim:Q", title="dimension d", format=","), alt.Tooltip("step:Q"),
               alt.Tooltip("projection:Q", title="projection p_k", format=".4g"),
               alt.Tooltip("residual:Q", title="residual ‖θ_k − p_k u‖₂", format=".4g")]
    base = alt.Chart(frame).encode(
        x=alt.X("projection:Q", title="projection p_k on θ_0 → θ_solution"),
        y=alt.Y("residual:Q", title="residual norm r_k"),
    )
    path = base.mark_line(color="#bbb", strokeWidth=1).encode(order="step:Q")
    dots = base.mark_circle(size=9, opacity=0.8).encode(
        color=alt.Color("step:Q", scale=alt.Scale(scheme="viridis"), title="step k"), tooltip=tooltip)
    solution = base.transform_filter(alt.datum.step == solution_step).mark_point(
        shape="diamond", size=120, filled=True, color="#d62728").encode(tooltip=tooltip)
    return (path + dots + solution).properties(title=f"d = {dim:,}", width=PANEL, height=PANEL)


def random_walk_chart(frame: pd.DataFrame, solution_step: int = 900) -> alt.ConcatChart:
    """Projection vs residual norm of the random walk, one panel per dimension, every step, the solution marked.

    One panel (and one dataset, under Altair's 5,000-row limit) per dimension, each with its own scales.
    """
    panels = [_walk_panel(part, int(dim), solution_step) for dim, part in frame.groupby("dim", sort=False)]
    return alt.concat(*panels, columns=3).resolve_scale(x="independent", y="independent", color="shared").properties(
        title=f"Random walk: projection vs residual, {frame['step'].max():,} steps, step {solution_step} "
              "(red diamond) as the solution")


def convex_paths_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Projection on θ_0 → θ* against the residual norm for every (ε, μ) setting, on one chart (paper Fig. 12)."""
    parts = []
    for _, part in frame.groupby("setting", sort=False):
        keep = part.iloc[[int(part["residual"].to_numpy().argmax())]]
        parts.append(pd.concat([thin_rows(part, PATH_ROWS), keep]).drop_duplicates("step").sort_values("step"))
    data = pd.concat(parts, ignore_index=True) if parts else frame
    order = list(dict.fromkeys(frame["setting"]))
    tooltip = ["setting:N", alt.Tooltip("step:Q", format=","),
               alt.Tooltip("projection:Q", title="projection p_t", format=".4g"),
               alt.Tooltip("residual:Q", title="residual norm r_t", format=".4g")]
    color = alt.Color("setting:N", sort=order, title="setting", scale=alt.Scale(scheme="tableau10"))
    base = alt.Chart(data).encode(x=alt.X("projection:Q", title="projection on θ_0 → θ*"),
                                  y=alt.Y("residual:Q", title="residual norm"), color=color)
    lines = base.mark_line(strokeWidth=1.5).encode(order="step:Q", tooltip=tooltip)
    ends = base.transform_window(last="rank()", sort=[alt.SortField("step", order="descending")],
                                 groupby=["setting"]).transform_filter(alt.datum.last == 1).mark_circle(
        size=40).encode(tooltip=tooltip)
    return (lines + ends).properties(title="Gradient descent on a convex quadratic, straying from the line θ_0 → θ*",
                                     height=HEIGHT)


def deep_linear_surface_chart(surface: pd.DataFrame, minima: pd.DataFrame, start, end) -> alt.LayerChart:
    """J(w₁, w₂) = (w₁w₂ − 1)² as a heat map (symlog colour), the minima w₁w₂ = 1 (core.toys.deep_linear.hyperbola,
    clipped to the map), the saddle and the line."""
    axis = np.unique(surface["w1"])
    if len(axis) > SURFACE_SIDE:  # Altair draws at most 5,000 rows from a frame: every k-th grid line
        kept = axis[:: -(-len(axis) // SURFACE_SIDE)]
        surface = surface[surface["w1"].isin(kept) & surface["w2"].isin(kept)]
        axis = kept
    step = float(axis[1] - axis[0]) if len(axis) > 1 else 1.0
    half = step / 2
    extent = float(np.abs(axis).max()) + half
    scale = alt.Scale(domain=[-extent, extent], nice=False, zero=False)
    colour = alt.Scale(type="symlog", scheme="viridis", reverse=True)
    pad = 1.03 * half  # cells overlap a little: no anti-aliasing seams between them
    cells = alt.Chart(surface[["w1", "w2", "loss"]]).transform_calculate(
        x=f"datum.w1 - {pad}", x2=f"datum.w1 + {pad}", y=f"datum.w2 - {pad}", y2=f"datum.w2 + {pad}",
    ).mark_rect().encode(
        x=alt.X("x:Q", title="w1", scale=scale, axis=alt.Axis(grid=False)), x2="x2:Q",
        y=alt.Y("y:Q", title="w2", scale=scale, axis=alt.Axis(grid=False)), y2="y2:Q",
        color=alt.Color("loss:Q", title="J", scale=colour),
        tooltip=[alt.Tooltip("w1:Q", title="w₁", format=".3f"), alt.Tooltip("w2:Q", title="w₂", format=".3f"),
                 alt.Tooltip("loss:Q", title="J = (w₁w₂ − 1)²", format=".4g")],
    )
    curve = alt.Chart(minima).mark_line(color="white", strokeWidth=2, strokeDash=[5, 3], clip=True).encode(
        x="w1:Q", y="w2:Q", detail="branch:N", order="w1:Q",
        tooltip=[alt.Tooltip("branch:N", title="minima w₁w₂ = 1"), alt.Tooltip("w1:Q", title="w₁", format=".3f"),
                 alt.Tooltip("w2:Q", title="w₂", format=".3f")])
    saddle = alt.Chart(pd.DataFrame({"w1": [0.0], "w2": [0.0], "what": ["saddle point, J = 1"]})).mark_point(
        shape="cross", size=160, filled=True, color="#d62728").encode(x="w1:Q", y="w2:Q", tooltip=["what:N"])
    ends = pd.DataFrame({"w1": [start[0], end[0]], "w2": [start[1], end[1]], "what": ["start (α=0)", "end (α=1)"]})
    ends["loss"] = (ends["w1"] * ends["w2"] - 1) ** 2
    end_tip = ["what:N", alt.Tooltip("w1:Q", title="w₁", format=".3f"), alt.Tooltip("w2:Q", title="w₂", format=".3f"),
               alt.Tooltip("loss:Q", title="J", format=".4g")]
    line = alt.Chart(ends).mark_line(color="#ff7f0e", strokeWidth=2.5, clip=True).encode(
        x="w1:Q", y="w2:Q", tooltip=end_tip)
    dots = alt.Chart(ends).mark_circle(size=90, color="#ff7f0e", opacity=1, stroke="black", clip=True).encode(
        x="w1:Q", y="w2:Q", tooltip=end_tip)
    labels = [alt.Chart(ends[side]).mark_text(dx=-10 if right else 10, dy=-10, align="right" if right else "left",
                                              color="black", fontWeight="bold", clip=True).encode(
        x="w1:Q", y="w2:Q", text="what:N") for right, side in ((True, ends["w1"] > 0), (False, ends["w1"] <= 0))]
    return alt.layer(cells, curve, line, dots, *labels, saddle).properties(
        title=alt.TitleParams("J(w1, w2) = (w1·w2 − 1)²", subtitle=["minima: the dashed hyperbola, saddle: +",
                                                                 "the line: orange"]),
        height=HEIGHT + 120, width=HEIGHT + 120)


def deep_linear_line_chart(frame: pd.DataFrame, log_y: bool = False) -> alt.LayerChart:
    """J along the line: the closed-form quartic (line) and the numeric forward pass (points), α = 0 and 1 marked."""
    y_scale = alt.Scale(type="symlog") if log_y else alt.Scale(zero=True)
    tooltip = [alt.Tooltip("alpha:Q", title="α", format=".4g"),
               alt.Tooltip("closed_form:Q", title="closed form J(α)", format=".6g"),
               alt.Tooltip("numeric:Q", title="numeric (torch)", format=".6g")]
    base = alt.Chart(thin_rows(frame, 1_000)).encode(x=alt.X("alpha:Q", title="α"))
    line = base.mark_line(color="#1f77b4", strokeWidth=2).encode(
        y=alt.Y("closed_form:Q", title="J((1−α)·w_start + α·w_end)", scale=y_scale), tooltip=tooltip)
    points = base.mark_circle(size=22, color="#ff7f0e", opacity=0.9).encode(y="numeric:Q", tooltip=tooltip)
    rules = alt.Chart(pd.DataFrame({"alpha": [0.0, 1.0], "end": ["start (α=0)", "end (α=1)"]})).mark_rule(
        strokeDash=[4, 4], color="gray").encode(x="alpha:Q", tooltip=["end:N"])
    return (line + points + rules).properties(
        title=alt.TitleParams("J along the line", subtitle=["closed form (line),", "torch forward pass (points)"]),
        height=HEIGHT)
