"""The Minima page's views: a run's permuted copy (one function, two far points) and two runs before and after
weight matching (how much of "two different minima" is one solution with its units in another order)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from core.charts import training as charts
from core.model.networks import evaluate, forward
from core.model.records import RunRecord, describe
from core.probes import endpoints, symmetry
from core.probes.interpolation import BARRIER_HELP, alpha_grid, curve_metrics
from ui.downloads import chart_downloads, csv_download
from ui.interpolation_view import model_and_data
from ui.show import show_chart

CACHE = "minima_cache"
ALPHAS = alpha_grid(0.0, 1.0, 41)


def _cached(key, compute):
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        with st.spinner("Evaluating the lines…"):
            cache[key] = compute()
        while len(cache) > 6:
            cache.pop(next(iter(cache)))
    return cache[key]


def _barrier(frame: pd.DataFrame, label: str) -> float:
    curve = frame[frame["curve"] == label]
    return curve_metrics(curve["alpha"], curve["train_loss"])["barrier"]


def permuted_section(records: dict[str, RunRecord]) -> None:
    st.subheader("A run and its permuted copy")
    left, right = st.columns([3, 1])
    record = records[left.selectbox("Run", list(records), key="mn_run")]
    seed = right.number_input("Permutation seed", 0, 10**6, 0, key="mn_seed")
    spec, data = model_and_data(record.config.replace(device="cpu"))
    if not spec.hidden:
        st.info("Logistic regression has no hidden units to permute: its loss is convex, with one minimum.",
                icon=":material/info:")
        return
    theta = record.theta_final
    copy = symmetry.permute(spec, theta, symmetry.random_permutations(spec, int(seed)))
    label = f"{record.name} final → its permuted copy"

    def compute():
        x = torch.cat([data.x_train, data.x_val])
        with torch.no_grad():
            gap = float((forward(spec, spec.split(theta), x) - forward(spec, spec.split(copy), x)).abs().max())
        frame = endpoints.curves([endpoints.Endpoints(label, record, theta, copy)], ALPHAS, model_and_data)
        return gap, frame

    gap, frame = _cached(("permute", record.name, record.step, int(seed)), compute)
    a, b, c = st.columns(3)
    a.metric("Outputs differ by", f"{gap:.1g}", help="The largest difference of any logit on any sample: the "
             "copy computes the same function (up to float rounding).")
    b.metric("Distance ‖θ − θ_perm‖", f"{float(torch.linalg.vector_norm(copy - theta)):.3g}",
             help=f"For comparison, ‖θ‖ = {float(torch.linalg.vector_norm(theta)):.3g}.")
    c.metric("Barrier on the line", f"{_barrier(frame, label):.3g}", help=BARRIER_HELP + " Train loss.")
    chart = charts.curves_chart(frame, title="Loss from θ_final to its permuted copy")
    show_chart(chart, key="mn_permute_chart")
    st.caption(f"{describe(record.config)}. Every hidden layer's units are reordered (the rows of its weights and "
               "the matching columns of the next layer's). Both ends are the same function, so any bump between "
               "them is an artefact of the straight line, not a second solution (DL §8.2.2).")
    chart_downloads(chart, "permuted_copy", key="mn_permute_dl")


def align_section(records: dict[str, RunRecord]) -> None:
    st.subheader("Two runs, before and after matching their units")
    names = list(records)
    if len(names) < 2:
        st.info("Train a second run of the same network with another seed (the runs panel, seeds 0,1) to align "
                "two solutions.", icon=":material/info:")
        return
    left, right = st.columns(2)
    a = records[left.selectbox("Run A", names, key="mn_a")]
    b = records[right.selectbox("Run B", names, index=1, key="mn_b")]
    problem = endpoints.incompatibility(a, b) or ("Pick two different runs." if a.name == b.name else None)
    if problem:
        st.info(problem, icon=":material/info:")
        return
    spec, data = model_and_data(a.config.replace(device="cpu"))
    if not spec.hidden:
        st.info("Logistic regression has no hidden units to align.", icon=":material/info:")
        return

    def compute():
        aligned = symmetry.permute(spec, b.theta_final, symmetry.weight_matching(spec, a.theta_final, b.theta_final))
        pairs = [endpoints.Endpoints("before: A → B", a, a.theta_final, b.theta_final),
                 endpoints.Endpoints("after: A → B with units matched to A's", a, a.theta_final, aligned)]
        shift = (evaluate(spec, aligned, data.x_train, data.y_train)[0]
                 - evaluate(spec, b.theta_final, data.x_train, data.y_train)[0])
        return endpoints.curves(pairs, ALPHAS, model_and_data), shift

    frame, shift = _cached(("align", a.name, a.step, b.name, b.step), compute)
    before, after = (_barrier(frame, label) for label in frame["curve"].unique())
    c1, c2, c3 = st.columns(3)
    c1.metric("Barrier before", f"{before:.3g}", help=BARRIER_HELP + " Train loss.")
    c2.metric("Barrier after", f"{after:.3g}", delta=f"{after - before:.3g}", delta_color="inverse",
              help="The same, once B's hidden units are reordered to line up with A's (weight matching, Ainsworth "
              "et al. 2023).")
    c3.metric("B's loss changed by", f"{shift:.1g}", help="Matching reorders B's units: its function, and so its "
              "loss, stay the same.")
    chart = charts.curves_chart(frame, title="Loss on the line A → B, before and after matching")
    show_chart(chart, key="mn_align_chart")
    chart_downloads(chart, "aligned", key="mn_align_dl")
    csv_download(frame, "Lines (CSV)", "aligned", "mn_align_csv")
