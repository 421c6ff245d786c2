"""Surfaces: race optimizers on analytic 2-D surfaces, animate their paths, restart at random (definitions §5, §6)."""

import streamlit as st

from ui import require_frame
from ui.surface_restarts import restarts_section
from ui.surfaces_view import race_section, surface_ui

require_frame()

st.title("Surfaces")
st.caption("Two-parameter functions where every step can be seen: race gradient descent, momentum, Nesterov, Adam, "
           "Newton and saddle-free Newton from one start, watch them move, and read the gradient and the Hessian's "
           "eigenvalues wherever a path stands. Ill-conditioning, saddles, cliffs, plateaus and local minima "
           "(Deep Learning §8.2), one at a time.")

mode = st.segmented_control("Mode", ["race", "restarts"], default="race", required=True, key="sf_mode",
                            bind="query-params", help="**race**: several optimizers from one start. **restarts**: one "
                            "optimizer from many random starts.")
surface = surface_ui()
if surface is not None:
    if mode == "restarts":
        restarts_section(surface)
    else:
        race_section(surface)
