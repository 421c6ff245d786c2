"""Curvature: Hessian spectra at saved points, the index along training, optimizers from one start, saddles, cliffs."""

import streamlit as st

from ui import require_frame
from ui.curvature_demos import cliff_section, saddle_network_section, saddle_surface_section
from ui.curvature_view import index_section, optimizers_section, spectrum_section
from ui.run_panel import panel

require_frame()

st.title("Curvature")
st.caption("The Hessian H of the loss says how the gradient changes: its eigenvalues are the curvatures along its "
           "eigenvectors. Large ones force a small learning rate (ill-conditioning, §8.2.1); negative ones mark "
           "saddle points, which attract Newton's method but not gradient descent (§8.2.3).")

VIEWS = ("Spectrum", "Index", "Optimizers", "Saddles", "Cliffs")  # shown as is: the URL carries the label
view = st.segmented_control("Show", VIEWS, default="Spectrum", required=True, key="cv_view", bind="query-params",
                            help="Spectrum: the Hessian's eigenvalues at a checkpoint of a run. Index: the fraction "
                            "of negative eigenvalues along a run. Optimizers: several optimizers from one start. "
                            "Saddles: Newton against saddle-free Newton. Cliffs: gradient clipping (§8.2.4).")

if view in ("Spectrum", "Index"):
    records = panel()
    if not records:
        st.info("No runs yet. Train one above, on the **Train** page, or pick a preset on the **Home** page.",
                icon=":material/info:")
    elif view == "Spectrum":
        spectrum_section(records)
    else:
        index_section(records)
elif view == "Optimizers":
    optimizers_section()
elif view == "Saddles":
    saddle_surface_section()
    st.divider()
    saddle_network_section()
else:
    cliff_section()
