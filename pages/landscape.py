"""Network landscape: the loss over a plane through θ_i and θ_f with the trajectory on it, and how far to trust it."""

import streamlit as st

from ui import landscape_view as view
from ui import require_frame
from ui.run_panel import panel

require_frame()

st.title("Network landscape")
st.caption("The loss over a plane θ(a, b) = θ_i + a·d₁ + b·d₂ through the initial and final parameters, d₁ along "
           "θ_f − θ_i and d₂ a second direction orthogonal to it, both of unit length, with the run's trajectory "
           "projected onto it. A trajectory in a space of thousands of dimensions seldom lies in any plane, so the "
           "page says how far it strays from this one, and dashes the steps that stray beyond your threshold.")

records = panel()
if not records:
    st.info("No runs yet. Train one above (the runs panel's **Train** button uses the sidebar's settings), on the "
            "**Train** page, or pick a preset on the **Home** page; then its loss plane appears here.",
            icon=":material/info:")
    st.stop()

view.draw(view.settings(records))
