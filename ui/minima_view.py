"""The Minima page's views: one run's permuted and rescaled copies, two runs before and after weight matching with
the barrier left after matching against width, and random restarts with the share that fits against width."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core import claims, presets
from core.charts import minima as minima_charts
from core.charts import training as charts
from core.claims import Evidence
from core.model.config import TrainConfig
from core.model.records import RunRecord, describe
from core.probes import endpoints, symmetry
from core.probes.interpolation import BARRIER_HELP
from core.train import restarts
from ui import claims_view, runs
from ui.downloads import chart_downloads, csv_download
from ui.interpolation_view import model_and_data
from ui.progress import with_progress
from ui.run_panel import shown_preset
from ui.show import show_chart

CACHE = "minima_cache"
AUTO_SECONDS = 8.0  # train without asking when the estimate is at most this; above, a button says how long


def seconds(config, seeds, widths=1) -> float:
    """About how long training `seeds` of `config` takes here, from two short timed runs (20 and 80 steps), times
    `widths` (a sweep's networks, none wider than config's)."""
    def timed(steps: int) -> float:
        start = time.perf_counter()
        restarts.train_restarts(config.replace(steps=steps), seeds)
        return time.perf_counter() - start

    timed(5)  # warm-up
    short, long = timed(20), timed(80)
    per_step = max((long - short) / 60, long / 80 / 4)
    return widths * max(long, short + per_step * (config.steps - 20))


def cached(key, work, what: str = "Evaluating the lines…", estimate=None, button: str = ""):
    """The cached result, else work() now: with a spinner (no estimate), or when estimate() is short or the button
    is pressed, with a progress bar; None while it waits for the button."""
    cache, estimates = st.session_state.setdefault(CACHE, {}), st.session_state.setdefault("minima_estimates", {})
    if key not in cache:
        if key not in estimates:  # timed once: it costs a few dozen steps
            estimates[key] = 0.0 if estimate is None else estimate()
        seconds, preset = estimates[key], shown_preset("minima")
        asked = preset is not None and preset.view.get("mn_view") == st.session_state.get("mn_view")
        label, slot = f"{what.replace('Training', 'Train', 1)} (about {seconds:.0f} s)", st.empty()
        if seconds > AUTO_SECONDS and not asked and not slot.button(label, key=button, icon=":material/play_arrow:",
                                                                    help="The time is measured on this machine now."):
            st.caption(f"About {seconds:.0f} s on this machine now, so it waits for the button.")
            return None
        slot.empty()
        cache[key] = with_progress(work, seconds, what)
        while len(cache) > 8:
            cache.pop(next(iter(cache)))
    return cache[key]


ALWAYS = {*claims.BARRIER_CLAIMS, *(c for d in presets.RESTART_SETS for c in claims.sweep_claims(d))}


def preset_claims(section: str, evidence: Evidence, what: str) -> None:
    """The shown card's claims about this section's runs, checked (the sweeps check their own claims always)."""
    preset = shown_preset("minima")
    if preset is not None and preset.view.get("mn_view") == section:
        claims_view.show(claims.check([c for c in preset.claims if c not in ALWAYS], evidence), what)


def keep_button(labels: dict, make, label: str, key: str) -> None:
    """Pick a restart and train it again as a normal run of this session: make(pick) is its config, whose seed gives
    the same θ_init and minibatch order, so the same final θ."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    pick = left.selectbox(label, list(labels), format_func=labels.get, key=f"{key}_pick", help="Trains it again as "
                          "a normal run, kept for the Interpolation, Straying and Curvature pages.")
    if right.button("Train it as a run", key=f"{key}_keep", icon=":material/add:", width="stretch"):
        st.session_state["mn_kept"] = runs.enqueue([make(pick)])[0]
        st.rerun()


# ---- one run's copies --------------------------------------------------------------------------------------------
def permuted_section(records: dict[str, RunRecord]) -> dict | None:
    st.subheader("A run and its permuted copy")
    left, right = st.columns([3, 1])
    record = records[left.selectbox("Run", list(records), key="mn_run")]
    seed = right.number_input("Permutation seed", 0, 10**6, 0, key="mn_seed")
    spec, data = model_and_data(record.config.replace(device="cpu"))
    if symmetry.units_problem(spec, "permute"):
        st.info(symmetry.units_problem(spec, "permute"), icon=":material/info:")
        return None
    _, frame, numbers = cached(("permute", record.name, record.step, int(seed)),
                                lambda: symmetry.permuted_copy(spec, data, record.theta_final, int(seed)))
    a, b, c = st.columns(3)
    a.metric("Outputs differ by", f"{numbers['max_output_difference']:.1g}", help="The largest difference of any "
             "logit on any sample: the copy computes the same function (up to float rounding).")
    b.metric("Distance ‖θ − θ_perm‖", f"{numbers['distance']:.3g}",
             help=f"For comparison, ‖θ‖ = {numbers['norm']:.3g}.")
    c.metric("Barrier on the line", f"{numbers['barrier']:.3g}", help=BARRIER_HELP + " Train loss.")
    frame = frame.assign(curve=f"{record.name} final → its permuted copy")
    chart = charts.curves_chart(frame, title="Loss from θ_final to its permuted copy")
    show_chart(chart, key="mn_permute_chart")
    st.caption(f"{describe(record.config)}. Every hidden layer's units are reordered (the rows of its weights and "
               "the matching columns of the next layer's). Both ends are the same function, so any bump between "
               "them is an artefact of the straight line, not a second solution (DL §8.2.2).")
    chart_downloads(chart, "permuted_copy", key="mn_permute_dl")
    return {"record": record, "numbers": numbers}


def rescale_section(record: RunRecord) -> pd.DataFrame | None:
    st.subheader("A run and its rescaled copies")
    spec, data = model_and_data(record.config.replace(device="cpu"))
    if symmetry.units_problem(spec, "rescale"):
        st.info(symmetry.units_problem(spec, "rescale"), icon=":material/info:")
        return None
    if spec.activation not in symmetry.RESCALABLE:
        st.info(f"Rescaling does not apply to {spec.activation} units. For a > 0, relu(a·z) = a·relu(z) and max(a·z₁, "
                "a·z₂) = a·max(z₁, z₂), so a ReLU or maxout unit's incoming weights × a and outgoing × 1/a cancel; "
                "tanh(a·z) ≠ a·tanh(z) and sigmoid(a·z) ≠ a·sigmoid(z), so this run's rescaled copy would compute "
                "another function. Pick a ReLU or maxout run.", icon=":material/info:")
        return None
    layers = [str(k) for k in range(1, len(spec.hidden) + 1)]
    if st.session_state.get("mn_layer") not in layers:
        st.session_state["mn_layer"] = "1"
    left, mid, right = st.columns([1, 1, 2])
    layer = int(left.selectbox("Hidden layer", layers, key="mn_layer"))
    units = ["every unit", *(str(u) for u in range(1, spec.hidden[layer - 1] + 1))]
    if st.session_state.get("mn_unit") not in units:
        st.session_state["mn_unit"] = "every unit"
    unit = mid.selectbox("Unit", units, key="mn_unit", help="Rescale one unit, or every unit of the layer at once.")
    a = right.select_slider("Scale a", list(symmetry.SCALES), value=10.0, key="mn_scale", format_func="{:g}".format,
                            help="Incoming weights and bias × a, outgoing weights × 1/a.")
    table = cached(("rescale", record.name, record.step, layer, unit), lambda: symmetry.rescaled_table(
        spec, data, record.theta_final, layer - 1, presets.rescale_unit({"mn_unit": unit})),
        "Computing λ_max of each rescaled copy (Lanczos)…")
    row, own = table.set_index("a").loc[float(a)], table.set_index("a").loc[1.0]
    c1, c2, c3 = st.columns(3)
    c1.metric("Rescaled outputs differ by", f"{row['max_output_difference']:.1g}",
              help="The largest difference of any logit on any sample between the copy and the run.")
    c2.metric(f"‖θ‖ at a = {a:g}", f"{row['norm']:.3g}", delta=f"{row['norm'] - own['norm']:+.3g} from the run's",
              delta_color="off")
    c3.metric(f"λ_max at a = {a:g}", f"{row['lambda_max']:.3g}", delta=f"×{row['lambda_max'] / own['lambda_max']:.3g} "
              "the run's", delta_color="off", help="Largest eigenvalue of the Hessian of the mean training loss "
              "(Lanczos, float64): the sharpness.")
    chart = minima_charts.rescale_chart(table, float(a))
    show_chart(chart, key="mn_rescale_chart")
    st.caption(f"{describe(record.config)}. Layer {layer}, {'every unit' if unit == 'every unit' else 'unit ' + unit}."
               f" The run's own θ (a = 1) has ‖θ‖ = {own['norm']:.4g} and λ_max = {own['lambda_max']:.4g}; one "
               "function, every sharpness drawn (Dinh et al. 2017: sharpness alone cannot tell how well a solution "
               "generalises).")
    chart_downloads(chart, "rescaled_copies", key="mn_rescale_dl")
    return table


def copies_view(records: dict[str, RunRecord]) -> None:
    found = permuted_section(records)
    if found is None:
        return
    table = rescale_section(found["record"])
    if table is not None:
        evidence = Evidence(records=[found["record"]], numbers=found["numbers"], tables={"rescale": table})
        preset_claims("copies", evidence, f"your run {found['record'].name}")


# ---- two runs aligned, and the aligned barrier against width -------------------------------------------------------
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
    if problem is None and (a.config.model != "mlp" or not a.config.hidden):
        problem = symmetry.units_problem(model_and_data(a.config.replace(device="cpu"))[0], "align")
    if problem:
        st.info(problem, icon=":material/info:")
        return
    spec, data = model_and_data(a.config.replace(device="cpu"))
    _, lines, numbers = cached(("align", a.name, a.step, b.name, b.step),
                                lambda: symmetry.aligned(spec, data, a.theta_final, b.theta_final))
    c1, c2, c3 = st.columns(3)
    c1.metric("Barrier before", f"{numbers['barrier_before']:.3g}", help=BARRIER_HELP + " Train loss.")
    c2.metric("Barrier after", f"{numbers['barrier_after']:.3g}", delta_color="inverse",
              delta=f"{numbers['barrier_after'] - numbers['barrier_before']:.3g}",
              help="The same, once B's hidden units are reordered to line up with A's (weight matching, Ainsworth "
              "et al. 2023).")
    c3.metric("B's loss changed by", f"{numbers['loss_shift']:.1g}", help="Matching reorders B's units: its "
              "function, and so its loss, stay the same.")
    frame = pd.concat([lines["before"].assign(curve="before: A → B"),
                       lines["after"].assign(curve="after: A → B with units matched to A's")], ignore_index=True)
    chart = charts.curves_chart(frame, title="Loss on the line A → B, before and after matching")
    show_chart(chart, key="mn_align_chart")
    chart_downloads(chart, "aligned", key="mn_align_dl")
    csv_download(frame[["curve", "alpha", "train_loss", "val_loss"]], "Lines (CSV)", "aligned", "mn_align_csv")
    preset_claims("aligned", Evidence(records=[a, b], numbers=numbers), f"your runs {a.name} and {b.name}")


BARRIER_LABELS = {"moons": "300 moons, [w, w] ReLU, 1,000 steps", "digits": "8×8 digits, [w, w] ReLU, 1,500 steps"}


def barrier_section() -> None:
    st.subheader("The barrier left after matching, against width")
    name = st.selectbox("Network and data", list(presets.BARRIER_SETS), format_func=BARRIER_LABELS.get,
                        key="mn_bw_data", help="Trains its own networks: seeds 0–3 at each width, all at once.")
    config, widths = TrainConfig(**presets.BARRIER_SETS[name]), presets.BARRIER_WIDTHS
    widest = config.replace(hidden=[max(widths)] * len(config.hidden))
    frame = cached(("barriers", name), lambda: presets.barrier_sweep(name), f"Training 4 seeds at each of "
                    f"{len(widths)} widths", lambda: seconds(widest, list(presets.BARRIER_SEEDS), len(widths)),
                    "mn_bw_go")
    if frame is None:
        return
    chart = minima_charts.barrier_width_chart(frame)
    show_chart(chart, key="mn_bw_chart")
    m = frame.groupby("width")[["barrier_before", "barrier_after"]].median()
    lo, hi = m.index.min(), m.index.max()
    st.caption(f"[w, w] ReLU on {config.dataset}, {config.optimizer} ε = {config.lr:g}, batch {config.batch_size}, "
               f"{config.steps:,} steps. Each point is one of the 6 pairs of seeds 0–3; the line joins the medians. "
               "Ainsworth et al. (2023) found that the barrier left "
               f"after matching shrinks as networks widen. Measured here: after matching, the median is "
               f"{m.barrier_after[lo]:.3g} at width {lo} and {m.barrier_after[hi]:.3g} at width {hi}; before "
               f"matching, {m.barrier_before[lo]:.3g} and {m.barrier_before[hi]:.3g}.")
    claims_view.show(claims.check(claims.BARRIER_CLAIMS, Evidence(tables={"barriers": frame})),
                     "the sweep drawn above")
    chart_downloads(chart, "aligned_barrier_width", key="mn_bw_dl")
    csv_download(frame, "Barriers (CSV)", "aligned_barrier_width", "mn_bw_csv")


def aligned_view(records: dict[str, RunRecord]) -> None:
    if records:
        align_section(records)
    barrier_section()


# ---- random restarts ---------------------------------------------------------------------------------------------
