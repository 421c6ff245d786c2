"""The Curvature page's sections: the spectrum at a checkpoint, the index along training, optimizers from one
start on a network (the tiny-initialisation saddle, SADDLE_NET, is drawn by ui.curvature_demos)."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st
import torch

from core.charts import curvature as curvature_charts
from core.model.build import model_and_data
from core.model.config import RECURRENT_MODELS, TrainConfig
from core.model.networks import EXACT_HESSIAN_MAX_PARAMS
from core.model.optim import OPTIMIZERS
from core.model.records import RunRecord, describe
from core.probes import curvature, spectrum
from core.train import compare
from ui import sidebar
from ui.downloads import chart_downloads, csv_download
from ui.show import show_chart

CACHE = "curvature_cache"
COMPARE_STEPS = 500  # steps the optimizers compare over by default (the sidebar's count, if smaller)
INDEX_ASK_SECONDS = 20  # the index along training starts at once when estimated faster; else it waits for a click
SECOND_ORDER_TICKED_UP_TO = 400  # parameters: above this Newton and saddle-free Newton start unticked
SADDLE_NET = TrainConfig(dataset="moons", n_samples=400, hidden=(8,), activation="tanh", init_scale=0.01,
                         batch_size=0, steps=200, lr=0.5, damping=0.01, device="cpu")
SADDLE_SETTINGS = {"sgd": {"lr": 0.5}, "momentum": {"lr": 0.5}, "newton": {"lr": 1.0, "damping": 0.01},
                   "saddle-free": {"lr": 1.0, "damping": 0.01}, "adam": {"lr": 0.05}}


def _cached(key, compute):
    """compute() once per key in this session (the last 8 results are kept)."""
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        cache[key] = compute()
        while len(cache) > 8:
            cache.pop(next(iter(cache)))
    return cache[key]


def _default_for_run(key: str, record: RunRecord) -> None:
    """Another run than last time: the widget `key` starts again at that run's default (its method, say)."""
    if st.session_state.get(f"{key}_run") != record.name:
        st.session_state[f"{key}_run"] = record.name
        st.session_state.pop(key, None)


def _pick_run(records: dict, key: str) -> RunRecord:
    names = list(records)
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)
    return records[st.selectbox("Run", names, key=key, help="This session's runs (see the panel above).")]


# ---- spectrum at a checkpoint ---------------------------------------------------------------------------------------
def _spectrum_metrics(s: spectrum.Spectrum, lr: float) -> None:
    a, b, c, d = st.columns(4)
    a.metric("λ_max", f"{s.lambda_max:.4g}", help=f"Largest eigenvalue. Gradient descent at ε = {lr:g} is stable on "
             f"the quadratic model only if λ_max < 2/ε = {2 / lr:.4g}.")
    b.metric("λ_min", f"{s.lambda_min:.4g}", help="Smallest eigenvalue: negative means a direction of descent "
             "curvature, so the point is not a minimum.")
    if s.method == "exact":
        c.metric("Index", f"{s.index:.1%}", help="Fraction of eigenvalues below −0.01·max|λ|: directions whose "
                 f"negative curvature is at least 1% of the largest. {s.zeros:,} of {s.n_params:,} sit in the "
                 "near-zero bulk (|λ| ≤ 10⁻⁴·max|λ|, flat directions).")
        d.metric("Condition number κ", f"{s.condition:.3g}", help=f"max|λ| over the |λ| at the effective rank "
                 f"r = (Σ|λ|)²/Σλ² = {s.effective_rank:.1f}: the largest curvature against the smallest of those "
                 "that carry the curvature (§8.2.1, ill-conditioning). No cut-off sets it; the near-zero bulk "
                 "barely moves it.")
    else:
        c.metric("ε·λ_max / 2", f"{0.5 * lr * s.lambda_max:.3g}", help="Above 1, a gradient step at this learning "
                 "rate diverges along the top eigenvector of the quadratic model.")
        d.metric("Eigenvalues found", f"{len(s.eigenvalues)} of {s.n_params:,}",
                 help="The extremes by Lanczos; the index and condition number need the whole spectrum.")


def exact_by_default(config: TrainConfig, n_params: int) -> bool:
    """Exact up to EXACT_HESSIAN_MAX_PARAMS parameters, an RNN or LSTM only up to FAST_EXACT_PARAMS: its full Hessian
    takes torch.func's step-by-step loop (Fig. 8's 1,297-parameter LSTM: about 3 min on one thread; Lanczos: 1 s)."""
    limit = spectrum.FAST_EXACT_PARAMS if config.model in RECURRENT_MODELS else EXACT_HESSIAN_MAX_PARAMS
    return n_params <= limit


def spectrum_section(records: dict) -> None:
    record = _pick_run(records, "cv_run")
    cols = st.columns([2, 1, 1])
    step = cols[0].select_slider("Checkpoint (step)", record.steps, value=record.steps[-1], key="cv_step")
    split = cols[1].segmented_control("Loss on", ["train", "val"], default="train", required=True, key="cv_split",
                                      format_func={"train": "training split", "val": "validation split"}.get)
    p = record.checkpoints.shape[1]
    exact_ok = p <= EXACT_HESSIAN_MAX_PARAMS
    recurrent = record.config.model in RECURRENT_MODELS
    spec, data = model_and_data(record.config.replace(device="cpu"))
    too_big = spectrum.exact_memory_problem(spec, data, split)  # its estimate: before any Hessian is built
    _default_for_run("cv_method", record)
    method = cols[2].segmented_control(
        "Method", ["exact", "lanczos"], default="exact" if exact_by_default(record.config, p) and not too_big
        else "lanczos",
        required=True, key="cv_method",
        help=f"Exact: all eigenvalues of the full Hessian (up to {EXACT_HESSIAN_MAX_PARAMS:,} parameters; this "
        f"network has {p:,}). Lanczos: the extremes from Hessian-vector products, for any size."
        + (f" An RNN or LSTM starts exact only up to {spectrum.FAST_EXACT_PARAMS} parameters." if recurrent else ""))
    if method == "exact" and not exact_ok:
        st.warning(f"This network has {p:,} parameters, above the exact limit of {EXACT_HESSIAN_MAX_PARAMS:,}: "
                   "showing the Lanczos extremes.", icon=":material/info:")
        method = "lanczos"
    elif method == "exact" and too_big:
        st.error(too_big, icon=":material/memory:")
        return
    elif method == "exact" and recurrent and p > spectrum.FAST_EXACT_PARAMS:
        st.caption(f"This {record.config.model.upper()}'s full Hessian runs its sequences step by step: minutes.")
    top = st.slider("Extremes to find (each end)", 1, 50, 10, key="cv_top") if method == "lanczos" else None
    st.caption(f"{describe(record.config)} · checkpoint at step {step:,} of {record.step:,}.")
    theta = record.checkpoint(step)
    with st.spinner(f"Computing the {'full Hessian' if method == 'exact' else 'Lanczos extremes'} ({p:,} "
                    "parameters)…"):
        s = _cached(("spectrum", record.name, record.step, step, split, method, top),
                    lambda: spectrum.at_point(spectrum.split_loss(spec, data, split), theta, top))
    _spectrum_metrics(s, record.config.lr)
    chart = curvature_charts.spectrum_chart(s.eigenvalues, s.method, curvature.ZERO_TOL)
    show_chart(chart, key="cv_spectrum")
    frame = pd.DataFrame({"index": range(len(s.eigenvalues)), "eigenvalue": s.eigenvalues.numpy(), "method": s.method})
    a, b = st.columns(2)
    with a:
        chart_downloads(chart, "spectrum", key="cv_dl_spectrum")
    with b:
        csv_download(frame, "Eigenvalues (CSV)", "eigenvalues", "cv_dl_eigenvalues")


# ---- index along training -------------------------------------------------------------------------------------------
def index_seconds(spec, data, record: RunRecord, method: str) -> float:
    """Seconds the index along training takes, from one timed Hessian-vector product: SLQ_PROBES × SLQ_ITERATIONS per
    checkpoint (slq), P on an RNN or LSTM above FAST_EXACT_PARAMS (exact; a lower bound). Other exact spectra: 0, one
    vectorised Hessian each (a 180-parameter LSTM's: 0.14 s)."""
    p = record.checkpoints.shape[1]
    if method == "exact" and (record.config.model not in RECURRENT_MODELS or p <= spectrum.FAST_EXACT_PARAMS):
        return 0.0
    loss = spectrum.split_loss(spec, data, "train")
    theta = record.checkpoints[-1].to(data.x_train.device, data.x_train.dtype)
    curvature.hvp(loss, theta, torch.ones_like(theta))  # warm-up: the first call builds kernels and caches
    started = time.monotonic()
    curvature.hvp(loss, theta, torch.ones_like(theta))
    per_checkpoint = p if method == "exact" else spectrum.SLQ_PROBES * spectrum.SLQ_ITERATIONS
    return (time.monotonic() - started) * per_checkpoint * len(record.steps)


def index_section(records: dict) -> None:
    record = _pick_run(records, "cv_index_run")
    p = record.checkpoints.shape[1]
    spec, data = model_and_data(record.config.replace(device="cpu"))
    too_big = spectrum.exact_memory_problem(spec, data)
    default = "exact" if p <= spectrum.FAST_EXACT_PARAMS and not too_big else "slq"
    options = ["exact", "slq"] if p <= EXACT_HESSIAN_MAX_PARAMS else ["slq"]
    _default_for_run("cv_index_method", record)
    method = st.segmented_control(
        "Index by", options, default=default if default in options else "slq", required=True, key="cv_index_method",
        format_func={"exact": "exact (every eigenvalue)", "slq": "estimate (stochastic Lanczos quadrature)"}.get,
        help=f"Exact costs a full Hessian per checkpoint ({p:,} parameters here). The estimate uses "
        f"{spectrum.SLQ_PROBES} × {spectrum.SLQ_ITERATIONS} Hessian-vector products per checkpoint, whatever the size.")
    st.caption(f"{describe(record.config)} · {len(record.steps)} checkpoints up to step {record.step:,}. Dauphin et "
               "al. (2014): critical points with high loss have many negative eigenvalues (saddles), those with low "
               "loss few. Between checkpoints θ is not a critical point, so read this as the trend of the index.")
    key = ("index", record.name, record.step, method)
    if method == "exact" and too_big:
        st.error(too_big, icon=":material/memory:")
        return
    if key not in st.session_state.get(CACHE, {}):
        seconds = _cached(("index-estimate", *key[1:]), lambda: index_seconds(spec, data, record, method))
        if seconds > INDEX_ASK_SECONDS and not st.button("Compute the index", type="primary", key="cv_index_go",
                                                         icon=":material/play_arrow:"):
            cost = (f"a full {p:,} × {p:,} Hessian" if method == "exact"
                    else f"{spectrum.SLQ_PROBES * spectrum.SLQ_ITERATIONS} Hessian-vector products")
            st.warning(f"Estimated time: about {_duration(seconds)}, {cost} at each of {len(record.steps)} checkpoints"
                       + (", run step by step through the sequences." if record.config.model in RECURRENT_MODELS
                          else "."), icon=":material/schedule:")
            return
        bar = st.progress(0.0, text="Computing the index at each checkpoint…")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            left = (time.monotonic() - started) / done * (total - done)
            bar.progress(done / total, text=f"Checkpoint {done} of {total} · about {left:.0f} s left")

        _cached(key, lambda: spectrum.along_training(spec, data, record.steps, record.checkpoints, method=method,
                                                     progress=progress))
        bar.empty()
    frame = st.session_state[CACHE][key]
    chart = curvature_charts.index_loss_chart(frame)
    show_chart(chart, key="cv_index_chart")
    a, b = st.columns(2)
    with a:
        chart_downloads(chart, "index_vs_loss", key="cv_dl_index")
    with b:
        csv_download(frame, "Index along training (CSV)", "index_along_training", "cv_dl_index_csv")


# ---- optimizers from one start --------------------------------------------------------------------------------------
def _settings_table(config: TrainConfig, key: str, defaults: dict | None = None, second_order: bool = True
                    ) -> dict[str, dict]:
    defaults = defaults or {}
    rows = [{"optimizer": name, "use": name != "nesterov" and (second_order or not OPTIMIZERS[name].needs_hessian),
             "lr": defaults.get(name, {}).get("lr", 1.0 if name in ("newton", "saddle-free") else config.lr),
             "momentum": config.momentum,
             "damping": defaults.get(name, {}).get("damping", config.damping)} for name in OPTIMIZERS]
    table = st.data_editor(
        pd.DataFrame(rows), key=key, hide_index=True, disabled=["optimizer"], width="stretch",
        column_config={
            "use": st.column_config.CheckboxColumn("Use"),
            "lr": st.column_config.NumberColumn("Learning rate ε", min_value=1e-6, max_value=100.0, format="%.4g"),
            "momentum": st.column_config.NumberColumn("Momentum μ (Adam β₁)", min_value=0.0, max_value=0.999),
            "damping": st.column_config.NumberColumn("Damping λ (Newton, saddle-free)", min_value=0.0,
                                                     max_value=1e6, format="%.4g"),
        })
    chosen = table[table["use"]]
    return {r.optimizer: {"lr": float(r.lr), "momentum": float(r.momentum), "damping": float(r.damping)}
            for r in chosen.itertuples()}


def _draw_comparison(frame: pd.DataFrame, messages: dict, prefix: str) -> None:
    for name, message in messages.items():
        st.warning(f"**{name}** stopped early. {message}", icon=":material/warning:")
    left, right = st.columns(2)
    loss = curvature_charts.compare_chart(frame, "train_loss", "Training loss (log scale)", "J(θ)")
    grad = curvature_charts.compare_chart(frame, "grad_norm", "Gradient norm at θ (log scale)", "‖∇J(θ)‖₂")
    with left:
        show_chart(loss, key=f"{prefix}_loss")
    with right:
        show_chart(grad, key=f"{prefix}_grad")
    if frame["index"].notna().any():
        index = curvature_charts.compare_chart(frame, "index", "Index of the Hessian at θ", "share negative",
                                               log_y=False)
        left, right = st.columns(2)
        with left:
            show_chart(index, key=f"{prefix}_index")
        with right:
            last = frame.groupby("optimizer", sort=False).last()
            st.dataframe(last[["step", "train_loss", "grad_norm", "index"]].style.format(
                {"train_loss": "{:.4g}", "grad_norm": "{:.3g}", "index": "{:.1%}"}), width="stretch")
            st.caption("Where each optimizer ended. A loss plateau with a small gradient and a positive index is a "
                       "saddle point; index 0 with a small gradient is a minimum.")
    csv_download(frame, "Losses and gradient norms (CSV)", "optimizers", f"{prefix}_csv")


def run_comparison(config: TrainConfig, settings: dict[str, dict], key: tuple, prefix: str) -> None:
    if key not in st.session_state.get(CACHE, {}):
        bar = st.progress(0.0, text="Training each optimizer from the same start…")
        _cached(key, lambda: compare.compare(config, list(settings), settings,
                                             progress=lambda d, t: bar.progress(d / t, text=f"Training: {d / t:.0%}")))
        bar.empty()
    _draw_comparison(*st.session_state[CACHE][key], prefix)


def optimizers_section() -> None:
    config = sidebar.settings()  # the sidebar's network and data
    if config is None:
        st.info("Fix the sidebar's settings first.", icon=":material/info:")
        return
    spec, _ = model_and_data(config.replace(device="cpu"))
    st.caption(f"The sidebar's network and data ({describe(config)}; {spec.n_params:,} parameters), trained by each "
               f"optimizer ticked below from the same θ_i with the same minibatches.")
    second_order = spec.n_params <= SECOND_ORDER_TICKED_UP_TO
    if not second_order:
        st.caption(f"Newton and saddle-free Newton start unticked here: each of their steps builds the exact "
                   f"{spec.n_params:,} × {spec.n_params:,} Hessian (seconds a step on this network). Tick them to see "
                   "what they would cost.")
    steps = st.number_input("Steps", 1, config.steps, min(config.steps, COMPARE_STEPS), key="cv_compare_steps",
                            help=f"Up to the sidebar's {config.steps:,}; each optimizer trains this many steps.")
    config = config.replace(steps=int(steps))
    settings = _settings_table(config, "cv_optimizers", second_order=second_order)
    second = [n for n in settings if n in ("newton", "saddle-free")]
    problems = []
    if not settings:
        problems.append("Tick at least one optimizer.")
    if second and spec.n_params > EXACT_HESSIAN_MAX_PARAMS:
        problems.append(f"{' and '.join(second)} need the exact Hessian: at most {EXACT_HESSIAN_MAX_PARAMS:,} "
                        f"parameters, and this network has {spec.n_params:,}. Untick them or use a smaller network.")
    if spec.n_params > spectrum.FAST_EXACT_PARAMS:
        st.caption(f"The index is drawn for networks of up to {spectrum.FAST_EXACT_PARAMS} parameters.")
    for problem in problems:
        st.warning(problem, icon=":material/warning:")
    key = ("compare", config, tuple((n, tuple(sorted(v.items()))) for n, v in settings.items()))
    if problems:
        return
    if key not in st.session_state.get(CACHE, {}):
        with st.spinner("Estimating the time: a few steps of each optimizer…"):
            seconds = _cached(("estimate", *key[1:]), lambda: compare.estimate_seconds(config, settings))
        (st.warning if seconds > 20 else st.caption)(
            f"Estimated time: about {_duration(seconds)}." + (" Fewer steps, or unticking Newton and saddle-free "
                                                               "Newton, makes it quicker." if seconds > 20 else ""))
    if key in st.session_state.get(CACHE, {}) or st.button("Train them", type="primary", key="cv_compare_go",
                                                            icon=":material/play_arrow:"):
        run_comparison(config, settings, key, "cv_cmp")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
