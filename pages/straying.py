"""Straying: how far a trajectory leaves the straight line from θ_i to θ_f (paper appendix B, Figs. 11-13)."""

import streamlit as st

from ui import require_frame
from ui.comparators import convex_section, random_walk_section
from ui.run_panel import apply_preset, panel, preset_caption, wanted
from ui.straying_view import run_section

require_frame()
apply_preset("straying")

st.title("Straying from the path")
st.caption("Each recorded θ_t is split into its projection p_t on the axis u = (θ_f − θ_i)/‖θ_f − θ_i‖ and the "
           "residual r_t = ‖(θ_t − θ_i) − p_t·u‖₂ (the Euclidean norm, not squared). The shape of this plot is "
           "mostly geometry in high dimension (compare the random walk); the ratio ρ_t = r_t/‖θ_t‖ is what "
           "says how much the line misses.")
preset_caption("straying")

VIEWS = {"run": "A training run (Fig. 13)", "random-walk": "Random walks (Fig. 11)",
         "convex": "Convex problem (Fig. 12)"}
view = st.segmented_control("Show", list(VIEWS), format_func=VIEWS.get, default="run", required=True,
                            key="st_view", bind="query-params")

if view == "run":
    records = panel(st.session_state.get("config"))
    if not records:
        st.info("No runs yet. Train one above, on the **Train** page, or pick a preset on the **Home** page.",
                icon=":material/info:")
    else:
        run_section(records, wanted("straying"))
elif view == "random-walk":
    random_walk_section()
else:
    convex_section()
