"""Charts of the Surfaces page and `python -m core surface`: the heat map of f with optimizer paths, f against
step, and random restarts. Pure functions from frames to Altair specs."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.frames import thin_rows

SIDE = 470  # pixels of the map's plot area
PATH_ROWS = 400  # rows per optimizer drawn at most
PALETTE = ["#e6194b", "#ff9f1c", "#2ec4b6", "#f032e6", "#ffe119", "#4363d8", "#bfef45", "#ffffff", "#9a6324"]
MARKS = {"minimum": ("diamond", "#ffffff"), "saddle": ("cross", "#ff4d4d"), "maximum": ("triangle-up", "#ffd166")}
START_PARAM = "start"  # the point selection on the map's cells: a click picks the start
SHOWN = "shown"  # race_chart: a column of the current points' data, the step drawn (a title can read it from there)


def _scales(surface):
    x0, x1, y0, y1 = surface.window
    return (alt.Scale(domain=[x0, x1], nice=False, zero=False), alt.Scale(domain=[y0, y1], nice=False, zero=False))


def start_picker() -> alt.Parameter:
    """The point selection that a click on the map fills with the clicked cell's x and y."""
    return alt.selection_point(name=START_PARAM, fields=["x", "y"], on="click", toggle=False, clear=False)


def heatmap(surface, grid: pd.DataFrame, pick: alt.Parameter | None = None) -> alt.Chart:
    """f on the grid's cells (symlog colour where the surface asks for it); clicks fill `pick` when given."""
    xs, ys = np.unique(grid["x"]), np.unique(grid["y"])
    hx = 0.51 * (xs[1] - xs[0]) if len(xs) > 1 else 0.5  # cells overlap a hair: no seams
    hy = 0.51 * (ys[1] - ys[0]) if len(ys) > 1 else 0.5
    sx, sy = _scales(surface)
    colour = alt.Scale(type="symlog" if surface.log_color else "linear", scheme="viridis")
    chart = alt.Chart(grid).transform_calculate(
        x0=f"datum.x - {hx}", x1=f"datum.x + {hx}", y0=f"datum.y - {hy}", y1=f"datum.y + {hy}",
    ).mark_rect().encode(
        x=alt.X("x0:Q", title="x", scale=sx, axis=alt.Axis(grid=False)), x2="x1:Q",
        y=alt.Y("y0:Q", title="y", scale=sy, axis=alt.Axis(grid=False)), y2="y1:Q",
        color=alt.Color("f:Q", title="f(x, y)", scale=colour, legend=alt.Legend(gradientLength=160)),
        tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f"), alt.Tooltip("f:Q", format=".4g")],
    )
    return chart if pick is None else chart.properties(name="sf_cells").add_params(pick)


def _landmark_layer(marks: pd.DataFrame | None) -> list[alt.Chart]:
    if marks is None or marks.empty:
        return []
    tooltip = ["kind:N", alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f"),
               alt.Tooltip("f:Q", format=".4g")]
    return [alt.Chart(marks[marks["kind"] == kind]).mark_point(shape=shape, size=110, filled=True, color=colour,
                                                               stroke="black", strokeWidth=0.8, opacity=1)
            .encode(x="x:Q", y="y:Q", tooltip=tooltip)
            for kind, (shape, colour) in MARKS.items() if (marks["kind"] == kind).any()]


def optimizer_colours(names) -> alt.Scale:
    """The same colour for the same optimizer on every chart of a race."""
    names = list(dict.fromkeys(names))
    return alt.Scale(domain=names, range=[PALETTE[i % len(PALETTE)] for i in range(len(names))])


def _drawn(paths: pd.DataFrame, step: int | None) -> pd.DataFrame:
    upto = paths if step is None else paths[paths["step"] <= step]
    parts = [thin_rows(part, PATH_ROWS) for _, part in upto.groupby("optimizer", sort=False)]
    return pd.concat(parts, ignore_index=True) if parts else upto


def race_chart(surface, grid: pd.DataFrame, paths: pd.DataFrame, step: int | None = None,
               start=None, selectable: bool = False, marks: pd.DataFrame | None = None) -> alt.LayerChart:
    """The heat map with every optimizer's path up to `step` (all of it if None), its point at `step`, the start.

    With `selectable`, a click on a cell fills the selection START_PARAM with the cell's centre (one selection
    cannot span several layers in Vega-Lite, so a click on a path is not a pick). `surface` is a
    core.toys.surfaces.Surface (its window, log_color and title are read); marks: its landmarks (kind, x, y, f).
    With a step, the current points' data has the column SHOWN, that step, on every row."""
    drawn = _drawn(paths, step)
    colour = alt.Color("optimizer:N", scale=optimizer_colours(paths["optimizer"]), title="optimizer")
    tooltip = ["optimizer:N", alt.Tooltip("step:Q", format=","), alt.Tooltip("x:Q", format=".4g"),
               alt.Tooltip("y:Q", format=".4g"), alt.Tooltip("f:Q", format=".4g")]
    base = alt.Chart(drawn).encode(x="x:Q", y="y:Q", color=colour, tooltip=tooltip)
    lines = base.mark_line(strokeWidth=2.2, clip=True).encode(order="step:Q")
    quiet = colour.legend(None)
    dots = base.mark_circle(size=14, opacity=0.9, clip=True).encode(color=quiet)
    now = drawn.groupby("optimizer", sort=False).tail(1)
    if step is not None:
        now = now.assign(**{SHOWN: step})
    current = alt.Chart(now).mark_circle(size=150, opacity=1, stroke="black", strokeWidth=1.5, clip=True).encode(
        x="x:Q", y="y:Q", color=quiet, tooltip=tooltip)
    pick = start_picker() if selectable else None
    layers = [heatmap(surface, grid, pick), *_landmark_layer(marks), lines, dots, current]
    if start is not None:
        layers.append(alt.Chart(pd.DataFrame({"x": [start[0]], "y": [start[1]], "what": ["start"]})).mark_point(
            shape="circle", size=220, filled=False, color="white", strokeWidth=2.5, clip=True).encode(
            x="x:Q", y="y:Q", tooltip=["what:N", alt.Tooltip("x:Q", format=".4g"), alt.Tooltip("y:Q", format=".4g")]))
    shown = "" if step is None else f" at step {step:,}"
    return alt.layer(*layers).resolve_scale(color="independent").properties(
        title=f"{surface.title}: paths{shown}", width=SIDE, height=SIDE)


def loss_chart(paths: pd.DataFrame, step: int | None = None, symlog: bool = True) -> alt.LayerChart:
    """f against step for every optimizer, with a rule at the current step."""
    drawn = _drawn(paths, None)
    colour = alt.Color("optimizer:N", scale=optimizer_colours(paths["optimizer"]), title="optimizer",
                       legend=alt.Legend(orient="bottom", columns=3))
    y = alt.Y("f:Q", title="f(x_t, y_t)", scale=alt.Scale(type="symlog", constant=1e-3) if symlog else
              alt.Scale(zero=False))
    lines = alt.Chart(drawn).mark_line(strokeWidth=2).encode(
        x=alt.X("step:Q", title="step t"), y=y, color=colour,
        tooltip=["optimizer:N", alt.Tooltip("step:Q", format=","), alt.Tooltip("f:Q", format=".4g"),
                 alt.Tooltip("x:Q", format=".4g"), alt.Tooltip("y:Q", format=".4g")])
    layers = [lines]
    if step is not None:
        layers.append(alt.Chart(pd.DataFrame({"step": [step]})).mark_rule(color="#666", strokeDash=[4, 3]).encode(
            x="step:Q", tooltip=[alt.Tooltip("step:Q", title="current step")]))
    return alt.layer(*layers).properties(title="f along each path (symlog scale)" if symlog else "f along each path",
                                         height=260)


def restarts_chart(surface, grid: pd.DataFrame, ends: pd.DataFrame,
                   marks: pd.DataFrame | None = None) -> alt.LayerChart:
    """Every random start (hollow) joined to where it ended (filled, coloured by its final f)."""
    data = ends.dropna(subset=["x", "y"])
    tooltip = [alt.Tooltip("start_x:Q", title="start x", format=".3f"),
               alt.Tooltip("start_y:Q", title="start y", format=".3f"), alt.Tooltip("x:Q", title="end x", format=".4f"),
               alt.Tooltip("y:Q", title="end y", format=".4f"), alt.Tooltip("f:Q", title="final f", format=".4g")]
    links = alt.Chart(data).mark_rule(color="white", opacity=0.45, strokeWidth=1, clip=True).encode(
        x="start_x:Q", y="start_y:Q", x2="x:Q", y2="y:Q", tooltip=tooltip)
    starts = alt.Chart(data).mark_point(shape="circle", size=30, color="white", filled=False, clip=True).encode(
        x="start_x:Q", y="start_y:Q", tooltip=tooltip)
    ends_order = sorted(set(data["end"]), key=lambda e: (e == "elsewhere", e))
    finals = alt.Chart(data).mark_circle(size=90, opacity=1, stroke="black", strokeWidth=1, clip=True).encode(
        x="x:Q", y="y:Q", color=alt.Color("end:N", title="ended at", scale=optimizer_colours(ends_order)),
        tooltip=[*tooltip, "end:N"])
    title = f"{surface.title}: {len(ends)} random starts and where they ended"
    return alt.layer(heatmap(surface, grid), *_landmark_layer(marks), links, starts, finals).resolve_scale(
        color="independent").properties(title=title, width=SIDE, height=SIDE)


def final_values_chart(ends: pd.DataFrame) -> alt.Chart:
    """Histogram of the final values of the random restarts."""
    data = ends.dropna(subset=["f"])
    return alt.Chart(data).mark_bar(color="#4c78a8").encode(
        x=alt.X("f:Q", bin=alt.Bin(maxbins=40), title="final f"), y=alt.Y("count():Q", title="restarts"),
        tooltip=[alt.Tooltip("f:Q", bin=alt.Bin(maxbins=40), title="final f"), alt.Tooltip("count():Q",
                                                                                          title="restarts")],
    ).properties(title=f"Final values of {len(data)} restarts", height=260)
