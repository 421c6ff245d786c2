"""Deep linear regression: J = (w1·w2 − 1)² along a line, closed form beside a torch forward pass (definitions §4)."""

import streamlit as st

from core.charts import comparators as cc
from core.probes.interpolation import BARRIER_HELP, alpha_grid
from core.toys.deep_linear import LINES, line_frame, line_metrics, minima_in_view, surface_frame, view_extent
from ui import require_frame
from ui.downloads import chart_downloads, csv_download
from ui.run_panel import apply_preset, preset_caption
from ui.show import show_chart

require_frame()
apply_preset("deep-linear")

URL = {"bind": "query-params"}
KEYS = ("dl_from_w1", "dl_from_w2", "dl_to_w1", "dl_to_w2")
LABELS = ("start w₁", "start w₂", "end w₁", "end w₂")
DEFAULT = "small init → solution (Fig. 9)"
surface_cached = st.cache_data(surface_frame, show_spinner=False, max_entries=8)

st.title("Deep linear regression")
st.caption("The network y = w₁·w₂·x, trained to output 1 at x = 1 with squared error: J(w₁, w₂) = (w₁w₂ − 1)² "
           "(paper §5). The origin is a saddle point and every point of the hyperbola w₁w₂ = 1 is a global minimum. "
           "Along a straight line J is a quartic in α, known exactly, and it already shows what the paper saw in "
           "deep networks: a flat start near the saddle (Fig. 9) and a barrier between two connected minima (Fig. 10).")

preset_caption("deep-linear")

line = st.selectbox("Line", [*LINES, "custom"], key="dl_line", help="\n".join(
    f"- **{name}**: {text}" for name, (text, _, _) in LINES.items()) + "\n- **custom**: your own endpoints.", **URL)
_, start, end = LINES[DEFAULT if line == "custom" else line]
for key, value in zip(KEYS, (*start, *end)):
    # a named line shows its endpoints in the (disabled) inputs; custom starts from the small init's. No `value=`
    # below, so that these writes are the inputs' only source besides the user and the URL.
    if key not in st.session_state or (line != "custom" and st.session_state[key] != value):
        st.session_state[key] = value
if line != "custom":
    st.caption(LINES[line][0] + ".")
cols = st.columns(4)
values = [col.number_input(label, -10.0, 10.0, step=0.1, format="%.3f", key=key, disabled=line != "custom", **URL)
          for col, label, key in zip(cols, LABELS, KEYS)]
if line == "custom":
    start, end = (values[0], values[1]), (values[2], values[3])
cols = st.columns([1, 1, 2, 1])
lo = cols[0].number_input("α from", -5.0, 0.99, 0.0, 0.25, key="dl_alpha_min", **URL)
hi = cols[1].number_input("α to", 0.01, 6.0, 1.0, 0.25, key="dl_alpha_max", **URL)
points = cols[2].slider("Points", 5, 401, 101, 2, key="dl_points", **URL)
log_y = cols[3].toggle("Symlog y axis", False, key="dl_log", **URL)
if lo >= hi:
    st.error(f"Fix the α range: 'α from' ({lo:g}) must be below 'α to' ({hi:g}).", icon=":material/error:")
    st.stop()

frame = line_frame(start, end, alpha_grid(lo, hi, points))
surface = surface_cached(round(view_extent(start, end), 3))
m = line_metrics(frame)
left, right = st.columns(2)
with left:
    surface_chart = cc.deep_linear_surface_chart(surface, minima_in_view(surface), start, end)
    show_chart(surface_chart, key="dl_surface")
    chart_downloads(surface_chart, "deep_linear_surface", key="dl_surface_dl")
with right:
    chart = cc.deep_linear_line_chart(frame, log_y)
    show_chart(chart, key="dl_line_chart")
    chart_downloads(chart, "deep_linear", key="dl_line_dl")
    a, b = st.columns(2)
    c, d = st.columns(2)
    a.metric("Monotone on [0, 1]", "yes" if m["monotone"] else "no", help="J never rises from α=0 to α=1.")
    b.metric("Max bump", f"{m['max_bump']:.3g}", help=f"Largest rise above the running minimum, at α = "
             f"{m['bump_alpha']:.3g}.")
    c.metric("Barrier", f"{m['barrier']:.3g}", help=BARRIER_HELP)
    d.metric("Numeric vs closed form", f"{m['max_abs_diff']:.1e}", help="Torch forward pass vs the quartic.")
    csv_download(frame, "Line (CSV)", "deep_linear", "dl_csv")
