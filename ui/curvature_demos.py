"""The Curvature page's demonstrations: Newton on the saddle x² − y² and on a network started at a saddle (the
optimizers of ui.curvature_view from view.SADDLE_NET), and the cliff with and without gradient clipping. The
two-dimensional ones are one race of core.race on a surface of core.surfaces, drawn as the map and f per step."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts import surfaces as surface_charts
from core.model.build import model_and_data
from core.toys import landmarks, race, surfaces
from ui import curvature_view as view
from ui.downloads import csv_download
from ui.show import show_chart

SADDLE_START = (-1.5, 0.1)
CLIP = 1.0


def _draw(surface: surfaces.Surface, frame: pd.DataFrame, prefix: str) -> None:
    for name, why in frame.attrs.get("stopped", {}).items():
        st.caption(f"**{name}** stopped early: {why}")
    left, right = st.columns(2)
    with left:
        start = tuple(frame.iloc[0][["x", "y"]])
        show_chart(surface_charts.race_chart(surface, surfaces.grid(surface), frame, start=start,
                                                 marks=landmarks.landmarks(surface)), key=f"{prefix}_map")
    with right:
        show_chart(surface_charts.loss_chart(frame), key=f"{prefix}_f")
        st.dataframe(race.at_step(frame, int(frame["step"].max())).set_index("optimizer")[["step", "x", "y", "f"]],
                     width="stretch")
    csv_download(frame, "Paths (CSV)", f"{surface.name}_paths", f"{prefix}_csv")


def saddle_surface_section() -> None:
    surface = surfaces.make("saddle")
    st.markdown("**The saddle f = x² − y².** From near the x-axis, undamped Newton (ε = 1, λ = 0) solves "
                "∇f = 0 for the quadratic model, and that point is the saddle itself: one step lands on (0, 0) and "
                "stays. Gradient descent goes down the x direction and slides off along y. Saddle-free Newton "
                "divides by |λ| instead of λ, so along y it moves away from the saddle as fast as Newton moved "
                "towards it.")
    runners = [race.runner(surface, "sgd", "gradient descent", lr=0.1), race.runner(surface, "newton"),
               race.runner(surface, "saddle-free")]
    frame = race.race(surface, runners, SADDLE_START, 12)
    newton = frame[frame["optimizer"] == "newton"]
    at_one = newton[newton["step"] == 1].iloc[0]
    st.caption(f"Newton after one step: (x, y) = ({at_one.x:.3g}, {at_one.y:.3g}), f = {at_one.f:.3g}; the Hessian "
               "there has eigenvalues 2 and −2, a saddle, and the gradient is zero, so Newton never leaves.")
    _draw(surface, frame, "cv_sad")


def cliff_section() -> None:
    surface = surfaces.make("cliff")
    st.markdown(f"**A cliff (§8.2.4).** A high plateau ends in a wall 200 high above a gentle bowl. On the wall's "
                f"face the gradient is about 200, so one gradient step at ε = 0.1 moves about 20: it is thrown far "
                f"off. Clipping the gradient's norm to {CLIP:g} keeps the direction and bounds the step, so the "
                "point walks down the face instead.")
    runners = [race.runner(surface, "sgd", "without clipping", lr=0.1, clip_norm=0.0),
               race.runner(surface, "sgd", f"clipped at ‖g‖ = {CLIP:g}", lr=0.1, clip_norm=CLIP)]
    frame = race.race(surface, runners, surface.start, surface.steps)
    _draw(surface, frame, "cv_cliff")


def saddle_network_section() -> None:
    c = view.SADDLE_NET
    spec, _ = model_and_data(c)
    st.markdown(f"**A network started at a saddle.** A {c.activation} network with one hidden layer of "
                f"{c.hidden[0]} units on the moons ({spec.n_params} parameters), initialised at "
                f"{c.init_scale:g} × the usual scale: θ ≈ 0, where every hidden unit is small and nearly linear "
                "and the gradient almost vanishes (θ = 0 is a saddle). Full-batch steps, so that only the optimizers "
                "differ.")
    key = ("saddle-net", c, tuple(view.SADDLE_SETTINGS))
    if key in st.session_state.get(view.CACHE, {}) or st.button("Run the demonstration", type="primary",
                                                                 key="cv_saddle_go", icon=":material/play_arrow:"):
        view.run_comparison(c, view.SADDLE_SETTINGS, key, "cv_saddle")
        st.caption("Newton's step −H⁻¹g heads for the nearest critical point whatever its kind, so it stays on the "
                   "saddle (loss ln 2 ≈ 0.693, index above 0); saddle-free Newton flips the negative curvatures and "
                   "leaves it at once; gradient methods leave slowly, at the pace of the small gradient.")
    else:
        st.caption(f"Trains {len(view.SADDLE_SETTINGS)} optimizers for {c.steps} steps with an exact Hessian at every "
                   "logged step (about half a minute).")

