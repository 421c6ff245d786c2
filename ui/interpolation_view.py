"""The Interpolation page's controls and drawing: endpoints, α grid, display, curves with progress, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.charts import training as charts
from core.model import build
from core.presets import MODES, ZOOMS
from core.probes import endpoints
from core.probes.interpolation import BARRIER_HELP, PAST_ENDS, alpha_grid
from ui.downloads import chart_downloads, csv_download
from ui.show import show_chart

URL = {"bind": "query-params"}
CACHE, CACHE_SIZE = "ip_curves", 24
MAX_POINTS = 1000
MAX_CURVES = 8


@st.cache_resource(show_spinner=False, max_entries=8)
def model_and_data(config):
    """The network spec and data set of a config (the data sets are seeded, so this is the run's own data)."""
    return build.model_and_data(config)


def _valid_choice(key: str, options: list) -> None:
    """Drop a remembered selection that is no longer among the options (a run that was replaced)."""
    value = st.session_state.get(key)
    if isinstance(value, list):
        st.session_state[key] = [v for v in value if v in options]
    elif value is not None and value not in options:
        del st.session_state[key]


def endpoint_pairs(records: dict, wanted: list[str] | None) -> list[endpoints.Endpoints]:
    """The endpoint controls; returns the pairs to draw (empty when the choice is incomplete, with a hint)."""
    names = list(records)
    # The keys are the options, their labels the captions: a bound widget's URL holds what it shows (its
    # format_func's label, if it had one), and ?ip_mode=final-final is a link a lecturer can type.
    mode = st.radio("Endpoints", list(MODES), captions=list(MODES.values()), key="ip_mode", horizontal=True, **URL)
    if mode == "init-final":
        if wanted:
            st.session_state["ip_runs"] = wanted
        _valid_choice("ip_runs", names)
        default = None if "ip_runs" in st.session_state else names[:1]  # a preset's choice wins
        chosen = st.multiselect("Runs (one curve each, on one axis)", names, default=default, key="ip_runs",
                                max_selections=MAX_CURVES, help="Several runs overlay, as in the paper's Fig. 3.")
        if not chosen:
            st.info("Pick at least one run.", icon=":material/info:")
        return [endpoints.init_to_final(records[n]) for n in chosen]
    if mode == "final-final":
        if wanted and len(wanted) >= 2:
            st.session_state["ip_run_a"], st.session_state["ip_run_b"] = wanted[0], wanted[1]
        _valid_choice("ip_run_a", names)
        _valid_choice("ip_run_b", names)
        st.session_state.setdefault("ip_run_b", names[min(1, len(names) - 1)])  # a default, not a second source
        left, right = st.columns(2)
        a = left.selectbox("Run A (α = 0)", names, key="ip_run_a")
        b = right.selectbox("Run B (α = 1)", names, key="ip_run_b")
        if a == b:
            st.info("Pick two different runs: train the same settings with another seed (below the runs table, "
                    "seeds 0,1).", icon=":material/info:")
            return []
        problem = endpoints.incompatibility(records[a], records[b])
        if problem:
            st.warning(problem, icon=":material/warning:")
            return []
        return [endpoints.final_to_final(records[a], records[b])]
    if wanted:
        st.session_state["ip_run"] = wanted[0]
    _valid_choice("ip_run", names)
    if mode == "random-final":
        left, mid, right = st.columns(3)
        name = left.selectbox("Run (its final θ is at α = 1)", names, key="ip_run")
        final_norm = float(records[name].theta_final.norm())
        ratio = mid.number_input("‖θ_random‖ ÷ ‖θ_final‖", 0.01, 1000.0, 3.0, 0.5, key="ip_norm_ratio",
                                 help=f"The random point's norm as a multiple of ‖θ_final‖ = {final_norm:.4g}.", **URL)
        seed = right.number_input("Random point seed", 0, 10**6, 0, key="ip_random_seed", **URL)
        return [endpoints.random_to_final(records[name], ratio * final_norm, seed)]
    left, mid, right = st.columns(3)
    name = left.selectbox("Run", names, key="ip_run")
    steps = list(records[name].steps)
    _valid_choice("ip_step0", steps)
    _valid_choice("ip_step1", steps)
    s0 = mid.selectbox("From checkpoint (α = 0)", steps, key="ip_step0", format_func="step {:,}".format)
    s1 = right.selectbox("To checkpoint (α = 1)", steps, index=len(steps) - 1, key="ip_step1",
                         format_func="step {:,}".format)
    if s0 == s1:
        st.info("Pick two different checkpoints.", icon=":material/info:")
        return []
    return [endpoints.checkpoint_to_checkpoint(records[name], s0, s1)]


def _zoom(lo: float, hi: float) -> None:
    st.session_state["ip_min"], st.session_state["ip_max"] = lo, hi


def grid() -> tuple[np.ndarray | None, list[str]]:
    """The α grid (None with a message when the range is impossible) and the zoom windows to draw beside it."""
    a, b, n, zooms = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    lo = a.number_input("α from", -10.0, 10.0, 0.0, 0.25, key="ip_min", format="%.4g", **URL)
    hi = b.number_input("α to", -10.0, 10.0, 1.0, 0.25, key="ip_max", format="%.4g", **URL)
    points = n.number_input("Points", 3, MAX_POINTS, 101, 10, key="ip_points", **URL,
                            help="α = 0 and α = 1 are always on the grid, exactly.")
    with zooms:
        buttons = st.columns(len(ZOOMS))
        for column, (label, (z0, z1)) in zip(buttons, ZOOMS.items()):
            column.button(f"[{label.replace('–', ', ')}]", key=f"ip_zoom_{label}", on_click=_zoom, args=(z0, z1),
                          help=f"Set the range to [{z0:g}, {z1:g}] (paper Fig. 4).", width="stretch")
    windows = st.multiselect("Also draw these zoomed windows (same number of points)", list(ZOOMS)[1:],
                             key="ip_windows", help="Fig. 4: does finer α reveal structure near either end?", **URL)
    if not lo < hi:
        st.error(f"α from ({lo:g}) must be below α to ({hi:g}).", icon=":material/error:")
        return None, windows
    return alpha_grid(lo, hi, int(points)), windows


def display() -> tuple[str, list[str], bool]:
    a, b, c = st.columns([1, 2, 1], vertical_alignment="bottom")
    quantity = a.radio("Quantity", ["loss", "error"], key="ip_quantity", horizontal=True, **URL,
                       help="Loss: mean cross-entropy (mean squared error for a regression). Error: share of the "
                       "split misclassified (RMSE, root mean squared error, for a regression).")
    default = None if "ip_splits" in st.session_state else ["train", "validation"]
    splits = b.multiselect("Splits", ["train", "validation"], default=default, key="ip_splits", **URL)
    log_y = c.toggle("Log-scale y", key="ip_log", help="Shows differences near the bottom (paper Fig. 3).", **URL)
    return quantity, splits or ["train"], log_y


def _key(pairs, alphas) -> tuple:
    ends = tuple((p.label, p.record.name, p.record.step, p.record.status, float(p.theta0.double().sum()),
                  float(p.theta1.double().sum())) for p in pairs)
    return ends, np.asarray(alphas).tobytes()


def curves(pairs, alphas, what: str) -> pd.DataFrame:
    """The curves, from the session's cache or computed now with a progress bar (a rerun stops the work)."""
    cache = st.session_state.setdefault(CACHE, {})
    key = _key(pairs, alphas)
    if key in cache:
        return cache[key]
    total = len(pairs) * len(alphas)
    bar = st.progress(0.0, text=f"Evaluating {what}: J on both splits at {total:,} points")
    frame = endpoints.curves(pairs, alphas, model_and_data,
                                 progress=lambda f: bar.progress(f, text=f"Evaluating {what}: {f:.0%} of {total:,}"))
    bar.empty()
    cache[key] = frame
    while len(cache) > CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return frame


def metrics_table(frame: pd.DataFrame, ends: pd.DataFrame, quantity: str, splits: list[str]) -> None:
    """Monotone, max bump, barrier and how far J falls past each end, per curve and split."""
    table = endpoints.curve_table(frame, quantity).merge(ends, on=["curve", "split"], how="left")
    table = table[table["split"].isin(splits)]
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "monotone": st.column_config.CheckboxColumn("monotone on [0, 1]", help="J never rises from α=0 to α=1."),
        "max_bump": st.column_config.NumberColumn("max bump", format="%.4g",
                                                  help="Largest rise of J above its running minimum on [0, 1]."),
        "bump_alpha": st.column_config.NumberColumn("at α", format="%.4g", help="Where the largest bump ends."),
        "barrier": st.column_config.NumberColumn(format="%.4g", help=BARRIER_HELP),
        "falls_before_0": st.column_config.NumberColumn(
            "falls before α = 0 by", format="%.3g", help="J(0) − min J on [−0.1, 0): above 0, θ₀ is not a minimum "
            "along this line."),
        "falls_after_1": st.column_config.NumberColumn(
            "falls past α = 1 by", format="%.3g", help="J(1) − min J on (1, 1.1]: above 0, θ₁ is where training "
            "stopped, not a minimum along this line."),
    })
    for row in ends[ends["split"] == "train"].itertuples():
        sentence = endpoints.ends_sentence(row.curve, row.falls_before_0, row.falls_after_1)
        if sentence and quantity == "loss":
            st.caption(sentence)


def regression(pairs) -> bool:
    """Whether the lines' runs are regressions (their error is the RMSE); says so when runs of both kinds mix."""
    tasks = {model_and_data(p.record.config)[1].task for p in pairs}
    if len(tasks) > 1:
        st.caption("These lines mix classification and regression runs: the error is a share misclassified for the "
                   "first and an RMSE for the second, the loss a cross-entropy and a mean squared error.")
    return tasks == {"regression"}


def draw(pairs, alphas, windows, quantity, splits, log_y) -> None:
    """The main chart with its metrics, the zoom windows, and downloads."""
    frame = curves(pairs, alphas, "the line")
    rmse = regression(pairs)
    what = ("RMSE" if rmse else "Error") if quantity == "error" else "Loss"
    chart = charts.curves_chart(frame, quantity, splits, log_y, title=f"{what} along the line θ(α)", regression=rmse)
    show_chart(chart, key="ip_chart")
    ends = endpoints.end_table(curves(pairs, PAST_ENDS, "the line just past its ends"), quantity)
    metrics_table(frame, ends, quantity, splits)
    if windows:
        columns = st.columns(len(windows))
        for column, window in zip(columns, windows):
            lo, hi = ZOOMS[window]
            zoomed = curves(pairs, alpha_grid(lo, hi, len(alphas)), f"window [{lo:g}, {hi:g}]")
            with column:
                show_chart(charts.curves_chart(zoomed, quantity, splits, log_y, title=f"Zoom: α in [{lo:g}, {hi:g}]",
                                               regression=rmse), key=f"ip_window_{window}")
    left, right = st.columns([2, 1])
    with left:
        chart_downloads(chart, "interpolation", key="ip_dl")
    with right:
        csv_download(frame, "Curves (CSV)", "interpolation", "ip_dl_csv")
