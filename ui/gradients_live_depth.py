"""The Gradients page's live and depth views: each logged step's own minibatch gradient against the full gradient while
a run trains (the run's grad_cosine and grad_rel_error columns), and the activations and weight gradients of a deep MLP
at initialisation, layer by layer, for several initialisation scales (definitions §12–13; Deep Learning §8.2.5,
§8.2.6, §8.4)."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core import claims_gradients as gc
from core.charts import gradients as charts
from core.claims import Evidence
from core.model.config import TrainConfig
from core.model.networks import ACTIVATIONS
from core.model.records import RunRecord, describe
from core.probes import depth_signal as ds
from ui import claims_view, runs
from ui.downloads import chart_downloads, csv_download
from ui.gradients_view import CACHE_SIZE, pick_run
from ui.show import show_chart

CACHE = "gradients_depth_cache"
DATA = {"digits": "8×8 digits (64 inputs, 10 classes)", "mnist1d": "MNIST-1D (40 inputs, 10 classes)",
        "moons": "two moons (2 inputs, 2 classes)", "spirals": "two spirals (2 inputs, 2 classes)"}
SCALES = ["0.5", "1", "2"]  # strings: a bound widget's URL holds what it shows
WIDTHS = [8, 16, 32, 64, 128, 256, 512, 1024]
BATCH = 512  # training inputs in the batch (all of them when the split is smaller)
URL = {"bind": "query-params"}
LIVE_EVERY = 1.0  # seconds between redraws while the chosen run trains


# ---- the same at each logged step of a run -------------------------------------------------------------------
def live_draw(record: RunRecord) -> None:
    metrics, config = record.metrics, record.config
    rows = metrics.dropna(subset=["grad_rel_error"]) if "grad_rel_error" in metrics else metrics.iloc[:0]
    if not len(rows):
        if "grad_rel_error" not in metrics:
            why = ("This run was kept before the app logged these two columns. Train it again to see them.")
        elif not (metrics["step"] > 0).any():
            why = "This run has no logged step after step 0 yet."
        else:
            why = (f"This run is full-batch (batch size {config.batch_size}: the whole training split): each step's "
                   "gradient is g itself, cosine 1 and error 0 by definition, so the run does not log them. Train "
                   "one with a minibatch (the sidebar's batch size, such as 32).")
        st.info(why, icon=":material/info:")
        return
    a, b, c, d = st.columns(4)
    a.metric("Batch size m", f"{config.batch_size:,}", help="The run's minibatch size.")
    b.metric("Median cos(g_B, g)", f"{rows['grad_cosine'].median():.3f}", help="Over the logged steps.")
    c.metric("Median ‖g_B − g‖/‖g‖", f"{rows['grad_rel_error'].median():.3g}", help="Over the logged steps.")
    d.metric("Logged steps", f"{len(rows):,}", help="Each costs one extra gradient on the whole training split.")
    cosine, error = charts.live_cosine_chart(metrics), charts.live_error_chart(metrics)
    left, right = st.columns(2)
    with left:
        show_chart(cosine, key="gr_live_cosine")
    with right:
        show_chart(error, key="gr_live_error")
    st.caption(f"{describe(config)}, batch size {config.batch_size}, up to step {record.step:,} ({record.status}). "
               "At each logged step (where the whole splits are evaluated) the run also takes the gradient g of the "
               "mean loss over the whole training split at the θ the step started from, and compares the step's "
               "own minibatch gradient g_B (before clipping) with it: faint, each logged step; solid, their running "
               f"median over {charts.LIVE_WINDOW} logged steps. The steps follow g_B, not g (Deep Learning §8.2.6, "
               "inexact gradients); the **noise** view draws the same two numbers against the batch size.")
    verdicts = gc.check(gc.LIVE_CLAIMS, Evidence(monitors={"metrics": metrics}))
    claims_view.show(verdicts, f"your run {record.name}", final=record.status in ("done", "diverged", "failed"))
    a, b, c = st.columns(3)
    with a:
        chart_downloads(cosine, "live_gradient_cosine", key="gr_live_cosine_dl")
    with b:
        chart_downloads(error, "live_gradient_error", key="gr_live_error_dl")
    with c:
        csv_download(metrics, "Metrics (CSV)", "metrics", "gr_live_csv")


def live_view(records: dict[str, RunRecord]) -> None:
    st.subheader("Gradient noise while training")
    record = pick_run(records, "gr_live_run")
    live = record.status == "running"

    @st.fragment(run_every=LIVE_EVERY if live else None)
    def _draw() -> None:
        view = runs.train_page_view() if live else None
        live_draw(view if view is not None and view.name == record.name else record)

    _draw()


# ---- the signal through depth at initialisation ----------------------------------------------------------------
def _controls() -> tuple[TrainConfig, tuple[int, ...], list[float]]:
    a, b, c, d = st.columns([2, 1.2, 1.6, 1.6])
    dataset = a.selectbox("Data", list(DATA), format_func=DATA.get, key="gr_data", help="The network's inputs and "
                          "outputs, and the batch the signal is measured on.", **URL)
    activation = b.selectbox("Activation", list(ACTIVATIONS), index=list(ACTIVATIONS).index("tanh"), key="gr_act",
                             **URL)
    depth = c.slider("Hidden layers L", 1, ds.MAX_SIGNAL_DEPTH, ds.MAX_SIGNAL_DEPTH, key="gr_depth", **URL)
    width = d.select_slider("Width (units per layer)", WIDTHS, value=64, key="gr_width", **URL)
    e, f, g = st.columns([2, 2.4, 1])
    picked = e.pills("Init scales s", SCALES, selection_mode="multi", default=SCALES, key="gr_scales",
                     help="Every weight and bias ~ U(−s/√fan_in, s/√fan_in): PyTorch's default times s.", **URL)
    custom = f.slider("And one more scale s", 0.1, 10.0, 8.0, 0.1, key="gr_custom", help="Added to the scales "
                      "ticked on the left (once, if it is one of them).", **URL)
    seed = g.number_input("Seed", 0, 10**6, 0, key="gr_depth_seed", help="Seeds θ; the batch is the same.", **URL)
    scales = sorted({float(s) for s in picked or []} | {round(float(custom), 4)})
    config = TrainConfig(dataset=dataset, activation=activation, seed=int(seed), device="cpu")
    return config, (int(width),) * int(depth), scales


def _signal(config: TrainConfig, hidden: tuple[int, ...], scales: list[float]) -> pd.DataFrame:
    """depth_signal one scale at a time (the same rows as all at once), with a progress bar and the time left."""
    bar = st.progress(0.0, text=f"Initialising the network at s = {scales[0]:g}…")
    start, parts = time.perf_counter(), []
    for k, s in enumerate(scales):
        parts.append(ds.depth_signal(config, [s], BATCH, 0, hidden))
        done = k + 1
        left = (time.perf_counter() - start) / done * (len(scales) - done)
        bar.progress(done / len(scales), text=f"{done} of {len(scales)} scales · about {left:.0f} s left")
    bar.empty()
    return pd.concat(parts, ignore_index=True)


def _caption(config: TrainConfig, hidden: tuple[int, ...], frame: pd.DataFrame) -> None:
    ev = Evidence(tables={"signal": frame})
    scales = sorted(frame["scale"].unique())
    lo, hi, best = scales[0], scales[-1], gc.flattest(frame)
    text = [f"A {config.activation} MLP with {len(hidden)} hidden layers of {hidden[0]} units on {DATA[config.dataset]}"
            f", seed {config.seed}; a batch of up to {BATCH} training inputs. At each scale s every weight and bias is "
            "drawn from U(−s/√fan_in, s/√fan_in). Left: the std of each layer's activations (out: the logits). "
            "Right: the norm of the gradient of the batch's mean loss with respect to each layer's weights.",
            f"Measured here: at s = {lo:g} layer 1's gradient is {gc.first_over_out(ev, lo):.2g} times the output "
            "layer's (it vanishes on its way back)."]
    if hi > lo:
        forward = frame[frame["scale"] == hi]["activation_std"].to_numpy()
        grows = forward[-2] / forward[0] if len(forward) > 1 else float("nan")
        text.append(f"At s = {hi:g} the last hidden layer's activation std is {grows:.2g} times layer 1's and layer "
                    f"1's gradient {gc.first_over_out(ev, hi):.2g} times the output layer's"
                    + (" (tanh and sigmoid units saturate, so their activations stay bounded)."
                       if config.activation in ("tanh", "sigmoid") else "."))
    text.append(f"The flattest scale drawn is s = {best:g}: its gradient norms span {gc.grad_spread(ev, best):.3g}× "
                f"across the layers and its activation stds {gc.act_spread(ev, best):.3g}× across the hidden layers. "
                "With a linear activation the std changes by about s/√3 a layer (definitions §13).")
    st.caption(" ".join(text))


def depth_view() -> None:
    st.subheader("Signal through depth at initialisation")
    config, hidden, scales = _controls()
    key = (config, hidden, tuple(scales))
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        try:
            cache[key] = _signal(config, hidden, scales)
        except ValueError as exc:  # the probe's checks, said as one sentence
            st.error(f"Cannot draw this network: {exc}.", icon=":material/error:")
            return
        while len(cache) > CACHE_SIZE:
            cache.pop(next(iter(cache)))
    frame = cache[key]
    ev, best = Evidence(tables={"signal": frame}), gc.flattest(frame)
    a, b, c = st.columns(3)
    a.metric(f"Layer 1 over out, s = {scales[0]:g}", f"{gc.first_over_out(ev, scales[0]):.2g}",
             help="Layer 1's weight-gradient norm over the output layer's, at the smallest scale.")
    a2 = gc.first_over_out(ev, scales[-1])
    b.metric(f"Layer 1 over out, s = {scales[-1]:g}", f"{a2:.2g}", help="The same at the largest scale.")
    c.metric("Flattest scale", f"s = {best:g}", help="The scale whose gradient norms and activation stds vary least "
             "across the layers (the larger of the two largest-over-smallest ratios).")
    stds, grads = charts.signal_chart(frame, "activation_std"), charts.signal_chart(frame, "grad_norm")
    left, right = st.columns(2)
    with left:
        show_chart(stds, key="gr_std_chart")
    with right:
        show_chart(grads, key="gr_grad_chart")
    _caption(config, hidden, frame)
    claims_view.show(gc.check(gc.depth_claims(frame), ev), "the networks drawn above")
    a, b, c = st.columns(3)
    with a:
        chart_downloads(stds, "depth_activation_std", key="gr_std_dl")
    with b:
        chart_downloads(grads, "depth_gradient_norm", key="gr_grad_dl")
    with c:
        csv_download(frame, "Per layer (CSV)", "depth_signal", "gr_depth_csv")
