"""Minima: weight-space symmetry and random restarts. A run's permuted and rescaled copies, two runs before and after
matching their units, and how many restarts fit as the network widens."""

import streamlit as st

from ui import minima_view as view
from ui import require_frame
from ui.minima_restarts import restarts_view
from ui.run_panel import apply_preset, panel, shown_preset, wanted

require_frame()
apply_preset("minima")

st.title("Minima and symmetry")
st.caption("Reordering a layer's hidden units gives the same function at another point θ, so a network has "
           "n₁!·n₂!·… copies of every solution (Deep Learning §8.2.2). Many \"different minima\" are copies of one, "
           "and lining up two solutions' units shows how much of the barrier between them is that. Random restarts "
           "show how often a network gets stuck, and how width changes that.")
preset = shown_preset("minima")
if preset is not None:
    st.success(f"**{preset.figure} · {preset.title}.** {preset.caption}", icon=":material/lightbulb:")

records = panel()
chosen = wanted("minima")
if chosen:  # a card's runs, once trained: the views start on them
    st.session_state["mn_run"] = st.session_state["mn_a"] = chosen[0]
    st.session_state["mn_b"] = chosen[min(1, len(chosen) - 1)]

# The keys are the options (a bound widget's URL holds what it shows), so the address reads ?mn_view=restarts.
VIEWS = {"copies": "one run: its permuted and rescaled copies",
         "aligned": "two runs before and after matching their units; the barrier left, against width",
         "restarts": "random restarts of the sidebar's network; the share that fits, against width"}
shown = st.segmented_control("Show", list(VIEWS), default="copies", required=True, key="mn_view",
                             bind="query-params", help="\n".join(f"- **{k}**: {v}" for k, v in VIEWS.items()))
if shown == "restarts":
    restarts_view(st.session_state.get("config"))
elif not records:
    st.info("No runs yet. Train one above, on the **Train** page, or pick a preset on the **Home** page.",
            icon=":material/info:")
if shown == "copies" and records:
    view.copies_view(records)
elif shown == "aligned":
    view.aligned_view(records)
