"""Interpolation: the loss along straight lines between parameter vectors (paper Figs. 1-5)."""

import streamlit as st

from ui import interpolation_view as view
from ui import require_frame
from ui.run_panel import apply_preset, panel, preset_caption, wanted

require_frame()
apply_preset("interpolation")

st.title("Linear interpolation")
st.caption("J(θ(α)) with θ(α) = (1 − α)·θ₀ + α·θ₁: the loss on the straight line between two parameter vectors "
           "(Goodfellow, Vinyals & Saxe 2015). A smooth, monotone curve from init to solution means the "
           "optimizer met no obstacle on that line; a bump between two solutions is a barrier.")
preset_caption("interpolation")

records = panel()
if not records:
    st.info("No runs yet. Train one above, on the **Train** page, or pick a preset on the **Home** page.",
            icon=":material/info:")
    st.stop()

pairs = view.endpoint_pairs(records, wanted("interpolation"))
alphas, windows = view.grid()
quantity, splits, log_y = view.display()
if pairs and alphas is not None:
    view.draw(pairs, alphas, windows, quantity, splits, log_y)
