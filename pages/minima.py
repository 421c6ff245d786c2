"""Minima: weight-space symmetry. A run's permuted copy, and two runs before and after matching their units."""

import streamlit as st

from ui import minima_view as view
from ui import require_frame
from ui.run_panel import panel

require_frame()

st.title("Minima and symmetry")
st.caption("Reordering a layer's hidden units gives the same function at another point θ, so a network has "
           "n₁!·n₂!·… copies of every solution (Deep Learning §8.2.2). Many \"different minima\" are copies of one, "
           "and lining up two solutions' units shows how much of the barrier between them is that.")

records = panel(st.session_state.get("config"))
if not records:
    st.info("No runs yet. Train one above, on the **Train** page, or pick a preset on the **Home** page.",
            icon=":material/info:")
    st.stop()
view.permuted_section(records)
view.align_section(records)
