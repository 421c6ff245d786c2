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

# The keys are the options (a bound widget's URL holds what it shows, a format_func's label if it had one), so the
# address reads ?st_view=convex; what each one is says the help.
VIEWS = {"run": "a training run (Fig. 13)", "random-walk": "random walks in many dimensions (Fig. 11)",
         "convex": "a convex problem (Fig. 12)"}
view = st.segmented_control("Show", list(VIEWS), default="run", required=True, key="st_view", bind="query-params",
                            help="\n".join(f"- **{key}**: {label}" for key, label in VIEWS.items()))

if view == "run":
    records = panel()
    if not records:
        st.info("No runs yet. Train one above, on the **Train** page, or pick a preset on the **Home** page.",
                icon=":material/info:")
    else:
        run_section(records, wanted("straying"))
elif view == "random-walk":
    random_walk_section()
else:
    convex_section()
