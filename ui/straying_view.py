"""The Straying page's run section: projection against residual, ρ_t over time, and the 2/3 check (Fig. 13)."""

from __future__ import annotations

import streamlit as st

from core.charts import export
from core.charts import training as charts
from core.model.records import RunRecord, describe
from core.probes.straying import straying_summary
from ui import runs
from ui.downloads import chart_downloads, csv_download, gif_download
from ui.show import show_chart

LIVE_EVERY = 1.0  # seconds between redraws while the chosen run is training


def _metrics(record: RunRecord) -> None:
    s = straying_summary(record.straying)
    a, b, c, d = st.columns(4)
    a.metric("Max residual r_t", f"{s['max_residual']:.4g}", help="Largest distance of θ_t from the line θ_i → θ_f.")
    b.metric("Max ρ_t = r_t/‖θ_t‖", f"{s['max_rho']:.3f}", help="Largest share of the parameter norm off the line.")
    c.metric("Line keeps ≥ 2/3 of ‖θ_t‖", "yes" if s["two_thirds_holds"] else "no",
             help="The paper's claim for its maxout network (Fig. 13): ρ_t ≤ 1/3 at every recorded step.")
    d.metric("‖θ_f − θ_i‖", f"{float((record.theta_final - record.theta_init).norm()):.4g}",
             help="Length of the axis; the projection of θ_f on it.")


def draw(record: RunRecord) -> None:
    st.caption(f"{describe(record.config)} · {len(record.straying):,} recorded steps up to step {record.step:,} "
               f"({record.status}). While a run trains, its current θ stands in for θ_f and the whole trajectory "
               "is re-projected as the axis moves.")
    _metrics(record)
    left, right = st.columns(2)
    stray = charts.straying_chart(record.straying)
    rho = charts.rho_chart(record.straying)
    with left:
        show_chart(stray, key="st_chart")
    with right:
        show_chart(rho, key="st_rho")
    a, b, c = st.columns(3)
    with a:
        chart_downloads(stray, "straying", key="st_dl")
    with b:
        chart_downloads(rho, "straying_rho", key="st_dl_rho")
    with c:
        csv_download(record.straying, "Trajectory (CSV)", "straying", "st_dl_csv")
        gif_download(lambda: export.growth(charts.straying_chart, record.straying), "straying", key="st_gif",
                     label="Animated GIF (the plot growing)")


def run_section(records: dict, wanted: list[str] | None) -> None:
    names = list(records)
    if wanted:
        st.session_state["st_run"] = wanted[0]
    if st.session_state.get("st_run") not in names:
        st.session_state.pop("st_run", None)
    name = st.selectbox("Run", names, key="st_run")
    live = records[name].status == "running"

    @st.fragment(run_every=LIVE_EVERY if live else None)
    def _draw() -> None:
        view = runs.train_page_view() if live else None
        draw(view if view is not None and view.name == name else records[name])

    _draw()
