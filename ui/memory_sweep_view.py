"""The Long-term dependencies page's sweep view: the share of random restarts that solve a sequence task against its
length T, for the tanh RNN and the LSTM (core.train.restarts.memory_sweep: the restarts of one model and one T are
trained together, one batched step for all of them; definitions §14)."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core import claims_memory as mc
from core.charts import memory as charts
from core.claims import Evidence
from core.model.config import MAX_SEQ_LEN, TrainConfig
from core.train import restarts
from ui import address_problem, claims_view
from ui.downloads import chart_downloads, csv_download
from ui.progress import one_torch_thread, with_progress
from ui.show import show_chart

URL = {"bind": "query-params"}
TASKS = {"adding": "the sum of the two marked values among T (a regression)",
         "parity": "the parity of the first two of T random bits (2 classes)",
         "copy": "name the symbol shown at the first of T steps (4 classes)"}
MODELS = ("rnn", "lstm")
DEFAULT_SEQ_LENS = "2, 4, 8, 12"
MAX_SEQ_LENS, MAX_RESTARTS, SAMPLES, BATCH = 6, 64, 1000, 32
CACHE, ESTIMATES, CACHE_SIZE = "memory_sweep_cache", "memory_sweep_estimates", 8
AUTO_SECONDS = 45.0  # a longer sweep waits for its button


def parse_seq_lens(text: str) -> list[int]:
    """'2, 5, 10, 20' -> [2, 5, 10, 20] (sorted); one ValueError with a sentence for anything else."""
    items = [t.strip() for t in str(text).replace(";", ",").split(",") if t.strip()]
    if len(items) < 2:
        raise ValueError("Lengths T: give at least two whole numbers separated by commas, such as 2, 5, 10, 20.")
    if not all(t.isdigit() for t in items):
        bad = next(t for t in items if not t.isdigit())
        raise ValueError(f"Lengths T take whole numbers separated by commas (such as 2, 5, 10, 20); {bad!r} is not "
                         "one.")
    values = [int(t) for t in items]
    outside = [v for v in values if not 2 <= v <= MAX_SEQ_LEN]
    if outside:
        raise ValueError(f"Lengths T: each must lie between 2 and {MAX_SEQ_LEN}; {outside[0]} does not.")
    if len(set(values)) != len(values):
        raise ValueError(f"Lengths T: {next(v for v in values if values.count(v) > 1)} is listed twice.")
    if len(values) > MAX_SEQ_LENS:
        raise ValueError(f"Lengths T: at most {MAX_SEQ_LENS} (each one a sweep of its own); got {len(values)}.")
    return sorted(values)


def sweep_config(task: str, model: str, hidden: int, lr: float, steps: int) -> TrainConfig:
    """The training config of one model's restarts (its seq_len is set per T by memory_sweep)."""
    return TrainConfig(dataset=task, model=model, hidden=(hidden,), n_samples=SAMPLES, batch_size=BATCH,
                       optimizer="adam", lr=lr, steps=steps, device="cpu")


def run_sweep(configs: dict[str, TrainConfig], seq_lens: list[int], seeds: list[int]) -> pd.DataFrame:
    """memory_sweep of every model, one frame with a `model` column first."""
    with one_torch_thread():
        parts = [restarts.memory_sweep(c, seq_lens, seeds).assign(model=m) for m, c in configs.items()]
    frame = pd.concat(parts, ignore_index=True)
    return frame[["model", *restarts.MEMORY_COLUMNS]]


def estimate_seconds(configs: dict[str, TrainConfig], seq_lens: list[int], seeds: list[int]) -> float:
    """About how long run_sweep takes here: per model, 2 and 10 steps timed twice each at the longest T (after a
    1-step warm-up; the faster of each pair, as a busy machine stalls at random) give a fixed cost (data, the final
    evaluation) and a cost per step; both are scaled by T / T_max (a shorter T loops over fewer steps)."""
    t_max, total = max(seq_lens), 0.0
    part = seeds[: restarts.CHUNK]
    chunks = len(restarts.chunks(seeds))

    def timed(config: TrainConfig, steps: int) -> float:
        start = time.perf_counter()
        restarts.train_restarts(config.replace(seq_len=t_max, steps=steps), part)
        return time.perf_counter() - start

    with one_torch_thread():
        for config in configs.values():
            timed(config, 1)
            short = min(timed(config, 2), timed(config, 2))
            long = min(timed(config, 10), timed(config, 10))
            per_step = max((long - short) / 8, long / 10 / 3)
            fixed = max(short - 2 * per_step, 0.0)
            total += chunks * sum(t / t_max for t in seq_lens) * (fixed + per_step * config.steps)
    return total


# key, label, lowest, highest, default, step, help: the number inputs, bound to the URL
NUMBERS = [("mem_sw_n", "Restarts per T", 1, MAX_RESTARTS, 8, 1, "Seeds s, s + 1, … of each model at each T; they "
            "differ in θ_init and the minibatch order."),
           ("mem_sw_steps", "Steps", 10, 5000, 400, 50, f"Adam steps of every restart (minibatches of {BATCH})."),
           ("mem_sw_H", "State size H", 2, 64, 16, 1, "The width of h_t (and of the LSTM's cell c_t)."),
           ("mem_sw_lr", "Learning rate ε", 0.0001, 1.0, 0.03, 0.005, "Adam's step size."),
           ("mem_sw_seed", "First seed s", 0, 10**6, 0, 1, "Another s draws other restarts: the way to check that "
            "the picture is not one lucky draw.")]


def _controls():
    """(task, seq_lens, seeds, steps, hidden, lr), or None after one error message."""
    raw = {key: st.query_params.get(key) for key in ("mem_sw_task", *(n[0] for n in NUMBERS))}
    a, b = st.columns([2, 3])
    task = a.selectbox("Task", list(TASKS), key="mem_sw_task", help="\n".join(f"- **{k}**: {v}"
                       for k, v in TASKS.items()), **URL)
    text = b.text_input("Lengths T", DEFAULT_SEQ_LENS, key="mem_sw_T", help=f"2 to {MAX_SEQ_LENS} sequence lengths, "
                        f"each from 2 to {MAX_SEQ_LEN}, separated by commas. The time grows with their sum.", **URL)
    values, problems = {}, []
    if raw["mem_sw_task"] is not None and raw["mem_sw_task"] != task:
        problems.append(f"The address gives Task = {raw['mem_sw_task']!r}, which is not one of "
                        f"{', '.join(TASKS)}; the box shows {task} instead: change a setting to go on.")
    for col, (key, label, lo, hi, default, step, help_text) in zip(st.columns(len(NUMBERS)), NUMBERS, strict=True):
        values[key] = col.number_input(label, lo, hi, default, step, key=key, help=help_text,
                                       format="%g" if isinstance(default, float) else "%d", **URL)
        problems.append(address_problem(raw[key], values[key], label, lo, hi))
    try:
        seq_lens = parse_seq_lens(text)
    except ValueError as exc:
        problems.insert(0, str(exc))
    problems = [p for p in problems if p]
    if problems:
        st.error(problems[0], icon=":material/error:")
        return None
    first, n = int(values["mem_sw_seed"]), int(values["mem_sw_n"])
    return (task, seq_lens, list(range(first, first + n)), int(values["mem_sw_steps"]), int(values["mem_sw_H"]),
            float(values["mem_sw_lr"]))


def _cached_sweep(configs, seq_lens, seeds, key):
    """The sweep from this session's cache, else trained now (a long one waits for its button); None while it waits."""
    cache, estimates = st.session_state.setdefault(CACHE, {}), st.session_state.setdefault(ESTIMATES, {})
    if key in cache:
        return cache[key]
    if key not in estimates:
        with st.spinner("Timing a few steps to estimate the sweep…"):
            estimates[key] = estimate_seconds(configs, seq_lens, seeds)
    seconds, slot = estimates[key], st.empty()
    if seconds > AUTO_SECONDS and not slot.button(f"Train the sweep (about {seconds:.0f} s)", key="mem_sw_go",
                                                  icon=":material/play_arrow:", help="The time is measured on this "
                                                  "machine now."):
        st.caption(f"About {seconds:.0f} s on this machine now, so it waits for the button. Fewer steps, restarts "
                   "or shorter lengths T make it quicker.")
        return None
    slot.empty()
    what = f"Training {len(seeds)} restarts × {len(seq_lens)} lengths × {len(configs)} networks"
    cache[key] = with_progress(lambda: run_sweep(configs, seq_lens, seeds), seconds, what)
    while len(cache) > CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return cache[key]


def fit_rule(task: str) -> str:
    if task == "adding":
        return ("its final training mean squared error is at most 0.05·Var(y) (R² ≥ 0.95; Var(y) ≈ 1/6, so MSE ≤ about "
                "0.0083, while always answering the mean scores about 1/6)")
    return "it classifies every training sequence right (training error 0)"


def sweep_view() -> None:
    st.subheader("Random restarts against T: which network solves the task")
    chosen = _controls()
    if chosen is None:
        return
    task, seq_lens, seeds, steps, hidden, lr = chosen
    configs = {m: sweep_config(task, m, hidden, lr, steps) for m in MODELS}
    frame = _cached_sweep(configs, seq_lens, seeds, (task, tuple(seq_lens), tuple(seeds), steps, hidden, lr))
    if frame is None:
        return
    shares = charts.sweep_fractions(frame)
    ev = Evidence(tables={"sweep": frame})
    t_short, t_long = seq_lens[0], seq_lens[-1]
    cols = st.columns(2)
    for col, model in zip(cols, MODELS, strict=True):
        rows = shares[shares["model"] == model]
        col.metric(f"{charts.MODEL_LABELS[model]}: restarts that fit at T = {t_short} → T = {t_long}",
                   f"{rows['fit'].iloc[0]} → {rows['fit'].iloc[-1]} of {len(seeds)}",
                   help="Per T: " + ", ".join(f"T = {r.seq_len}: {r.fit}" for r in rows.itertuples()))
    chart = charts.sweep_chart(shares, f"Restarts that solve {task}, against T",
                               f"{len(seeds)} restarts per network and T; H = {hidden}, Adam ε = {lr:g}, "
                               f"{steps:,} steps")
    show_chart(chart, key="mem_sweep_chart")
    drawn = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"
    st.caption(f"Each point: {len(seeds)} restarts ({drawn}) of a one-layer network with state "
               f"size H = {hidden} on **{task}**, {TASKS[task]}: {int(SAMPLES * 0.8)} training sequences of length T, "
               f"{steps:,} Adam steps (ε = {lr:g}, minibatches of {BATCH}); the restarts differ only in θ_init and "
               f"the minibatch order, and the RNN and the LSTM get the same seeds. A restart **fits** when "
               f"{fit_rule(task)}. The RNN's gradient through time shrinks at every step back (the *through_time* "
               "view), so the longer T, the less of it reaches the early inputs the answer needs; the LSTM's cell "
               "c_t = σ(f)·c_(t−1) + … can carry both the state and the gradient across many steps. Whether that "
               "shows here depends on the task and the budget, so the claims below are checked on this sweep. On the "
               "defaults (adding, T = 2, 4, 8, 12), five sets of 8 seeds (0–39) gave the RNN 8, 8, 0–1 and 0 fits of "
               "8, the LSTM 8, 8, 8 and 7–8. On copy the LSTM's forget gate starts near ½ and halves the stored "
               "symbol at every step, so there the RNN can do better (measured with H = 32 and 3,000 steps: at "
               "T = 40, 7 of 8 RNN restarts fit, no LSTM one).")
    claims_view.show(mc.check(mc.sweep_claims(t_short, t_long), ev), "the sweep drawn above")
    a, b = st.columns(2)
    with a:
        chart_downloads(chart, "restarts_against_T", key="mem_sweep_dl")
    with b:
        csv_download(frame, "Restarts (CSV)", f"restarts_against_T_{task}", "mem_sweep_csv")
