"""Streamlit sections for the straying plot's comparators (definitions §3): a random walk and a convex problem.

Each section is self-contained (inputs bound to the URL with keys rw_* / cx_*, chart, table, downloads), so any page
can call it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts import comparators as cc
from core.toys import comparators as cmp
from ui.downloads import chart_downloads, csv_download
from ui.show import show_chart

URL = {"bind": "query-params"}
MAX_WALKS = 8  # panels in one random-walk chart


@st.cache_data(show_spinner="Sampling the random walks…", max_entries=16)
def _walk(dims: tuple[int, ...], steps: int, solution_step: int, seed: int) -> pd.DataFrame:
    return cmp.random_walk(list(dims), steps, solution_step, seed)


@st.cache_data(show_spinner="Running gradient descent for every setting…", max_entries=8)
def _convex(dim: int, condition: float, settings: tuple, max_steps: int, seed: int):
    problem = cmp.convex_problem(dim, condition, seed)
    paths, summary = cmp.convex_paths(problem, list(settings), max_steps)
    distance = float(((problem.theta_star - problem.theta_0) ** 2).sum() ** 0.5)
    return problem.condition, distance, paths, summary


def random_walk_section() -> None:
    """Paper Fig. 11: projection vs residual of Gaussian random walks of several dimensions."""
    st.subheader("Random walk (paper Fig. 11)")
    st.caption("A walk of Gaussian steps, with step 900 playing the solution. Watch the panels turn into the same "
               "half circle as d grows (the max residual → ½‖θ_solution‖): in high dimension this plot's shape comes "
               "from the geometry, not from the optimizer.")
    c = st.columns([3, 1, 1, 1])
    text = c[0].text_input("Dimensions d", "2,10,100,10000,100000", key="rw_dims", help="Comma-separated.", **URL)
    steps = c[1].number_input("Steps", 10, cmp.MAX_WALK_STEPS, 1000, 10, key="rw_steps", **URL)
    solution = c[2].number_input("Solution step", 1, cmp.MAX_WALK_STEPS, 900, 10, key="rw_solution", **URL)
    seed = c[3].number_input("Seed", 0, 10**6, 0, key="rw_seed", **URL)
    try:
        dims = cmp.parse_dims(text)
        if len(dims) > MAX_WALKS:
            raise ValueError(f"draw at most {MAX_WALKS} dimensions at once, got {len(dims)}.")
        frame = _walk(tuple(dims), int(steps), int(solution), int(seed))
    except ValueError as exc:
        st.error(f"Fix this setting: {exc}", icon=":material/error:")
        return
    chart = cc.random_walk_chart(frame, int(solution))
    show_chart(chart, key="rw_chart")
    chart_downloads(chart, "random_walk", key="rw_dl")
    summary = cmp.random_walk_summary(frame, int(solution))
    st.dataframe(summary, hide_index=True, column_config={
        "dim": st.column_config.NumberColumn("d", format="localized"),
        "max_residual": st.column_config.NumberColumn("max residual", format="%.4g"),
        "max_residual_step": st.column_config.NumberColumn("at step"),
        "solution_norm": st.column_config.NumberColumn(f"‖θ_{int(solution)}‖", format="%.4g"),
        "ratio": st.column_config.NumberColumn("max residual / ‖θ_solution‖", format="%.3f")})
    csv_download(frame, "Random walk (CSV)", "random_walk", "rw_csv")


def convex_section() -> None:
    """Paper Fig. 12: heavy-ball descent with several (ε, μ) on one convex quadratic, all ending at θ*."""
    st.subheader("Gradient descent on a convex problem (paper Fig. 12)")
    st.caption("Every setting starts at θ_0 and ends at the exact solution θ*. In high dimension all curves share "
               "one simple shape; what tells the settings apart is how far they stray, the **max residual**.")
    c = st.columns([1, 1, 3, 1, 1])
    dim = c[0].number_input("Dimension", 2, 200_000, 100_000, 1000, key="cx_dim", **URL)
    condition = c[1].number_input("Condition number", 1.0, 1e6, 100.0, 10.0, key="cx_condition",
                                  help="Curvatures are log-spaced from 1/condition to 1.", **URL)
    text = c[2].text_input("Settings ε:μ", cmp.DEFAULT_SETTINGS, key="cx_settings",
                           help="Comma-separated learning rate:momentum pairs, e.g. 0.1:0.9.", **URL)
    max_steps = c[3].number_input("Step limit", 10, 100_000, 20_000, 1000, key="cx_steps", **URL)
    seed = c[4].number_input("Seed", 0, 10**6, 0, key="cx_seed", help="Seeds θ* and θ_0.", **URL)
    try:
        settings = tuple(cmp.parse_settings(text))
        kappa, distance, paths, summary = _convex(int(dim), float(condition), settings, int(max_steps), int(seed))
    except ValueError as exc:
        st.error(f"Fix this setting: {exc}", icon=":material/error:")
        return
    ok = summary["converged"]
    m = st.columns(3)
    m[0].metric("Condition number κ", f"{kappa:.4g}", help="Largest / smallest curvature of f.")
    m[1].metric("‖θ* − θ_0‖", f"{distance:.4g}", help="Where every converged path ends on the x axis.")
    m[2].metric("Settings that converged", f"{int(ok.sum())} of {len(summary)}",
                help="‖θ − θ*‖ ≤ 0.001·‖θ_0 − θ*‖ within the step limit.")
    if not ok.all():
        st.warning("Did not converge, so not drawn: " + ", ".join(summary.loc[~ok, "setting"]) + ". Lower ε, "
                   "raise the step limit, or see the table.", icon=":material/warning:")
    drawn = paths[paths["setting"].isin(summary.loc[ok, "setting"])]
    if drawn.empty:
        st.info("No setting converged, so there is nothing to draw.")
    else:
        chart = cc.convex_paths_chart(drawn)
        show_chart(chart, key="cx_chart")
        chart_downloads(chart, "convex_paths", key="cx_dl")
    st.dataframe(summary, hide_index=True, column_config={
        "lr": st.column_config.NumberColumn("ε", format="%g"), "momentum": st.column_config.NumberColumn("μ"),
        "steps": st.column_config.NumberColumn("steps", format="localized"),
        "max_residual": st.column_config.NumberColumn("max residual", format="%.4g"),
        "final_distance": st.column_config.NumberColumn("‖θ − θ*‖ at the end", format="%.3g")})
    left, right = st.columns(2)
    with left:
        csv_download(paths, "Paths (CSV)", "convex_paths", "cx_csv")
    with right:
        csv_download(summary, "Summary (CSV)", "convex_summary", "cx_summary_csv")
