"""Altair charts of a network's loss over a plane with the projected trajectory, and the paper's Fig. 7 view."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

PLANE_HEIGHT = 460
FIG7_HEIGHT = 380
LEVELS = 14  # contour lines, log-spaced over the grid's range
ON, OFF = "within the threshold of the plane", "off the plane by more than the threshold (drawn dashed, hollow)"


def _crossings(lo: np.ndarray, hi: np.ndarray, level: float):
    """Where a level crosses each edge from value lo to value hi: (mask, fraction along the edge)."""
    mask = (lo < level) != (hi < level)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(mask, (level - lo) / (hi - lo), 0.0)
    return mask, t


def isolines(a: np.ndarray, b: np.ndarray, values: np.ndarray, levels) -> pd.DataFrame:
    """Contour segments of values (len(b), len(a)) on the grid a x b by marching squares: level, x, y, x2, y2.

    A cell whose four edges are all crossed (a saddle cell) gets its crossings joined in edge order, which can
    pick the other of the two valid pairings; at grid resolution that does not change the picture.
    """
    v00, v10, v01, v11 = values[:-1, :-1], values[:-1, 1:], values[1:, :-1], values[1:, 1:]  # (b, a) corners
    a0, a1 = np.meshgrid(a[:-1], b[:-1])[0], np.meshgrid(a[1:], b[:-1])[0]
    b0, b1 = np.meshgrid(a[:-1], b[:-1])[1], np.meshgrid(a[:-1], b[1:])[1]
    rows = []
    for level in levels:
        edges = []  # bottom, right, top, left: (mask, x, y)
        for lo, hi, horizontal, fixed in ((v00, v10, True, b0), (v10, v11, False, a1), (v01, v11, True, b1),
                                          (v00, v01, False, a0)):
            mask, t = _crossings(lo, hi, level)
            x, y = (a0 + t * (a1 - a0), fixed) if horizontal else (fixed, b0 + t * (b1 - b0))
            edges.append((mask, x, y))
        masks = np.stack([e[0] for e in edges])  # (4, cells...)
        xs, ys = np.stack([e[1] for e in edges]), np.stack([e[2] for e in edges])
        order = np.argsort(~masks, axis=0, kind="stable")  # crossed edges first, in edge order
        count = masks.sum(0)
        xs, ys = np.take_along_axis(xs, order, 0), np.take_along_axis(ys, order, 0)
        for first, second, need in ((0, 1, 2), (2, 3, 4)):
            sel = count >= need
            rows.append(pd.DataFrame({"level": level, "x": xs[first][sel], "y": ys[first][sel],
                                      "x2": xs[second][sel], "y2": ys[second][sel]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["level", "x", "y", "x2", "y2"])


def log_levels(values: np.ndarray, n: int = LEVELS) -> np.ndarray:
    """n levels evenly spaced in log between the smallest and largest positive finite value (strictly inside)."""
    v = values[np.isfinite(values) & (values > 0)]
    if len(v) == 0 or v.min() == v.max():
        return np.array([])
    return np.geomspace(v.min(), v.max(), n + 2)[1:-1]


def _cells(grid: pd.DataFrame, column: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Rects centred on the grid points, and the grid as arrays (a, b, values (len(b), len(a)))."""
    a, b = np.unique(grid["a"]), np.unique(grid["b"])
    table = grid.pivot(index="b", columns="a", values=column).reindex(index=b, columns=a)
    # half a cell and 2% more, so that neighbouring rects overlap and no anti-aliased seams show between them
    da, db = ((v[1] - v[0]) * 0.51 if len(v) > 1 else 0.5 for v in (a, b))
    cells = grid[["a", "b", column]].rename(columns={column: "loss"})
    cells = cells.assign(a0=cells["a"] - da, a1=cells["a"] + da, b0=cells["b"] - db, b1=cells["b"] + db)
    cells["loss"] = cells["loss"].clip(lower=1e-12)  # a log scale needs positive values
    return cells, a, b, table.to_numpy(dtype=float)


def _segments(trajectory: pd.DataFrame, limit: float) -> pd.DataFrame:
    """One row per step of the path (x, y → x2, y2), tagged ON or OFF by the larger distance of its two ends."""
    t = trajectory.reset_index(drop=True)
    far = np.maximum(t["distance"].to_numpy()[:-1], t["distance"].to_numpy()[1:]) > limit
    return pd.DataFrame({"x": t["a"].to_numpy()[:-1], "y": t["b"].to_numpy()[:-1], "x2": t["a"].to_numpy()[1:],
                         "y2": t["b"].to_numpy()[1:], "where": np.where(far, OFF, ON),
                         "from": t["step"].to_numpy()[:-1], "to": t["step"].to_numpy()[1:]})


def plane_chart(grid: pd.DataFrame, trajectory: pd.DataFrame, length: float, threshold: float = 0.1,
                split: str = "train", title: str = "Loss over the plane") -> alt.LayerChart:
    """Heatmap and contours of the loss (log colour) over the plane, with the trajectory projected onto it.

    grid: a, b, {split}_loss. trajectory: step, a, b, distance, and optionally loss (J at θ_t) and plane_loss
    (J at its shadow θ(a, b)). Steps whose ends lie farther than threshold x length from the plane are dashed and
    their points hollow.
    """
    column = "train_loss" if split == "train" else "val_loss"
    cells, a, b, values = _cells(grid, column)
    scale = alt.Scale(type="log", scheme="viridis")
    color = alt.Color("loss:Q", title=f"{split} loss (log)", scale=scale)
    heat = alt.Chart(cells).mark_rect(strokeWidth=0.6).encode(  # a stroke of the fill's colour hides seams
        stroke=alt.Stroke("loss:Q", scale=scale, legend=None),
        x=alt.X("a0:Q", title="a: along θ_f − θ_i (parameter units)", scale=alt.Scale(zero=False, nice=False)),
        x2="a1:Q", y=alt.Y("b0:Q", title="b: along the second direction", scale=alt.Scale(zero=False, nice=False)),
        y2="b1:Q", color=color,
        tooltip=[alt.Tooltip("a:Q", format=".4g"), alt.Tooltip("b:Q", format=".4g"),
                 alt.Tooltip("loss:Q", title=f"{split} loss", format=".4g")])
    lines = isolines(a, b, np.log(np.clip(values, 1e-12, None)), np.log(log_levels(values)))
    lines["loss"] = np.exp(lines["level"])
    contours = alt.Chart(lines).mark_rule(color="white", opacity=0.55, strokeWidth=0.8).encode(
        x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q", tooltip=[alt.Tooltip("loss:Q", title="contour", format=".4g")])
    limit = threshold * length
    dash = alt.StrokeDash("where:N", title="trajectory", scale=alt.Scale(domain=[ON, OFF], range=[[1, 0], [5, 3]]),
                          legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=480))
    path = alt.Chart(_segments(trajectory, limit)).mark_rule(color="#ff4f4f", strokeWidth=2).encode(
        x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q", strokeDash=dash)
    points = trajectory.assign(where=np.where(trajectory["distance"] > limit, OFF, ON),
                               share=trajectory["distance"] / length)
    tips = [alt.Tooltip("step:Q"), alt.Tooltip("a:Q", format=".4g"), alt.Tooltip("b:Q", format=".4g"),
            alt.Tooltip("distance:Q", title="distance from the plane", format=".4g"),
            alt.Tooltip("share:Q", title="distance / ‖θ_f − θ_i‖", format=".1%")]
    if "loss" in points:
        tips.append(alt.Tooltip("loss:Q", title=f"{split} loss at θ_t", format=".4g"))
    if "plane_loss" in points:
        tips.append(alt.Tooltip("plane_loss:Q", title=f"{split} loss on the plane under θ_t", format=".4g"))
    dots = alt.Chart(points).mark_point(size=36, color="#ff4f4f", strokeWidth=1.5).encode(
        x="a:Q", y="b:Q", tooltip=tips,
        fill=alt.condition(alt.datum.where == ON, alt.value("#ff4f4f"), alt.value("transparent")))
    ends = pd.DataFrame({"a": [0.0, length], "b": [0.0, 0.0], "label": ["θ_i", "θ_f"]})
    marks = alt.Chart(ends).mark_point(shape="diamond", size=160, filled=True, color="white", stroke="black",
                                       strokeWidth=1.2).encode(x="a:Q", y="b:Q", tooltip=["label:N"])
    labels = alt.Chart(ends).mark_text(dy=-14, fontSize=14, fontWeight="bold", color="white").encode(
        x="a:Q", y="b:Q", text="label:N")
    return (heat + contours + path + dots + marks + labels).properties(title=title, height=PLANE_HEIGHT)


def fig7_chart(frame: pd.DataFrame, split: str = "train") -> alt.LayerChart:
    """Paper Fig. 7 (right), flattened: the two widest-ranging coordinates of θ_t on the axes, the objective as
    colour, one point per recorded step, joined in step order; θ_i and θ_f marked."""
    x_title, y_title = frame.attrs.get("x", "θ[j₁]"), frame.attrs.get("y", "θ[j₂]")
    base = alt.Chart(frame).encode(x=alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False)),
                                   y=alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False)))
    path = base.mark_line(color="#999", strokeWidth=1).encode(order="step:Q")
    dots = base.mark_circle(size=60, opacity=1).encode(
        color=alt.Color("loss:Q", title=f"{split} loss (log)",
                        scale=alt.Scale(type="log", scheme="viridis")),
        tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("x:Q", title=x_title, format=".4g"),
                 alt.Tooltip("y:Q", title=y_title, format=".4g"),
                 alt.Tooltip("loss:Q", title=f"{split} loss", format=".4g")])
    ends = frame.iloc[[0, -1]].assign(label=["θ_i", "θ_f"])
    marks = alt.Chart(ends).mark_text(dy=-12, fontSize=13, fontWeight="bold").encode(x="x:Q", y="y:Q", text="label:N")
    return (path + dots + marks).properties(title="The two coordinates of θ that move most (paper Fig. 7)",
                                            height=FIG7_HEIGHT)
