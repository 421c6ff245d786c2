"""Gradients: inexact minibatch gradients at a point of a run and while it trains, and the signal through depth at
initialisation (Deep Learning §8.2.5–8.2.6, definitions §12–13)."""

import streamlit as st

from ui import require_frame
from ui.gradients_live_depth import depth_view, live_view
from ui.gradients_view import noise_view
from ui.run_panel import panel

require_frame()

st.title("Gradients")
st.caption("Two more reasons a gradient step can mislead (Deep Learning §8.2.5–8.2.6). **Inexact gradients**: a "
           "minibatch of m examples gives an estimate g_B of the full gradient g, whose error falls like 1/√m, "
           "at a point of a run (*noise*) or at every logged step while it trains (*live*). **Signal through "
           "depth** (*depth*): at initialisation each layer scales the signal, so in a deep network the activations "
           "and gradients vanish or explode unless the initial scale is right.")

# The keys are the options (a bound widget's URL holds what it shows), so the address reads ?gr_view=depth.
VIEWS = {"noise": "how far minibatch gradients lie from the full gradient at one point of a run, against m",
         "live": "the same for each logged step's own minibatch while a run trains",
         "depth": "activations and weight gradients layer by layer in a deep MLP at initialisation, per init scale"}
shown = st.segmented_control("Show", list(VIEWS), default="noise", required=True, key="gr_view", bind="query-params",
                             help="\n".join(f"- **{k}**: {v}" for k, v in VIEWS.items()))
if shown == "depth":
    depth_view()
else:
    records = panel()
    if not records:
        st.info("No runs yet. Train one above, or on the **Train** page (its run appears here).",
                icon=":material/info:")
    elif shown == "noise":
        noise_view(records)
    else:
        live_view(records)
