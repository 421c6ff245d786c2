"""The Long-term dependencies page's views (Deep Learning §8.2.5, §10.7; definitions §14): repeated multiplication
h_t = W h_{t−1} with W's eigenvalues set (core.toys.chain), and ‖∂J/∂h_t‖ of this session's recurrent runs at θ_init
and θ_final (core.probes.memory.state_gradient_norms)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import claims_memory as mc
from core.charts import memory as charts
from core.claims import Evidence
from core.model.records import RunRecord, describe
from core.probes.memory import state_gradient_norms
from core.toys import chain as ch
from ui import claims_view, page_file
from ui.downloads import chart_downloads, csv_download
from ui.interpolation_view import model_and_data
from ui.show import show_chart

URL = {"bind": "query-params"}
DEFAULT_EIGENVALUES = "0.9, 1.0, 1.1"
MAX_EIGENVALUES, MAX_ABS, MAX_T = 9, 3.0, 500  # 3^500 ≈ 4·10²³⁸: every number stays finite in float64
CACHE, CACHE_SIZE = "memory_cache", 16
LINK_SETTINGS = "dataset=adding&model={model}&hidden=32&seq_len=20&optimizer=adam&lr=0.003"


# ---- repeated multiplication -----------------------------------------------------------------------------------
def parse_eigenvalues(text: str) -> list[float]:
    """'0.9, 1.0, 1.1' -> [0.9, 1.0, 1.1]; one ValueError with a sentence for anything else."""
    items = [t.strip() for t in str(text).replace(";", ",").split(",") if t.strip()]
    if not items:
        raise ValueError("Eigenvalues: give at least one number, such as 0.9, 1.0, 1.1.")
    values = []
    for item in items:
        try:
            value = float(item.replace("−", "-"))
        except ValueError:
            raise ValueError(f"Eigenvalues take numbers separated by commas (such as 0.9, 1.0, 1.1); {item!r} is not "
                             "one.") from None
        if not abs(value) <= MAX_ABS:
            raise ValueError(f"Eigenvalues: each must lie between −{MAX_ABS:g} and {MAX_ABS:g}; {item} does not.")
        values.append(value)
    if len(values) > MAX_EIGENVALUES:
        raise ValueError(f"Eigenvalues: at most {MAX_EIGENVALUES} (one line each on the chart); got {len(values)}.")
    return values


def rounding_floor(forward: pd.DataFrame, backward: pd.DataFrame, lam: list[float]) -> bool:
    """Whether some drawn component is off its closed form by more than half of it (lost in float64 rounding)."""
    for frame, back in ((forward, False), (backward, True)):
        long = charts.chain_long(frame, lam, back)
        pairs = long.pivot_table(index=["t", "series"], columns="kind", values="value").dropna()
        if len(pairs) and ((pairs[charts.COMPUTED] - pairs[charts.CLOSED]).abs() > 0.5 * pairs[charts.CLOSED]).any():
            return True
    return False


def _chain_controls() -> tuple[list[float], int, int] | None:
    a, b, c = st.columns([3, 2, 1])
    text = a.text_input("Eigenvalues λ of W", DEFAULT_EIGENVALUES, key="mem_eigs", help=f"Up to {MAX_EIGENVALUES} "
                        f"numbers between −{MAX_ABS:g} and {MAX_ABS:g}, separated by commas. W = Q diag(λ) Qᵀ, Q a "
                        "random orthogonal matrix; one eigenvalue is the scalar chain h_t = λ h_(t−1).", **URL)
    t_max = b.slider("Steps T", 1, MAX_T, 50, key="mem_T", help="The chain runs h_0 … h_T; the gradient goes back "
                     "from h_T to h_0.", **URL)
    seed = c.number_input("Seed of Q", 0, 10**6, 0, key="mem_q_seed", help="Seeds the eigenvectors.", **URL)
    try:
        return parse_eigenvalues(text), int(t_max), int(seed)
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def chain_view() -> None:
    st.subheader("Repeated multiplication: h_t = W h_(t−1)")
    chosen = _chain_controls()
    if chosen is None:
        return
    lam, t_max, seed = chosen
    forward, backward = ch.chain(lam, t_max, seed=seed), ch.gradient_chain(lam, t_max, seed=seed)
    ev = Evidence(tables={"forward": forward, "backward": backward})
    top = max(abs(v) for v in lam)
    a, b, c = st.columns(3)
    a.metric("‖h_T‖ / ‖h_0‖", f"{forward['norm'].iloc[-1] / forward['norm'].iloc[0]:.3g}",
             help="How much the state grew (above 1) or shrank (below 1) over T steps.")
    b.metric("‖∂J/∂h_0‖ / ‖∂J/∂h_T‖", f"{backward['norm'].iloc[0] / backward['norm'].iloc[-1]:.3g}",
             help="How much of the gradient g = ∂J/∂h_T is left after T steps back.")
    c.metric(f"max |λ|ᵀ = {top:g}^{t_max}", f"{top ** t_max:.3g}", help="The spectral norm of W^T: the most any "
             "vector can grow in T steps.")
    fwd, bwd = charts.chain_chart(forward, lam), charts.chain_chart(backward, lam, backward=True)
    left, right = st.columns(2)
    with left:
        show_chart(fwd, key="mem_forward_chart")
    with right:
        show_chart(bwd, key="mem_backward_chart")
    zero = [v for v in lam if v == 0]
    st.caption(f"W = Q diag({', '.join(f'{v:g}' for v in lam)}) Qᵀ with Q a random orthogonal matrix (seed {seed}); "
               "h_0 = Q·1, so every component q_kᵀh_0 is 1, and J = gᵀh_T with g = Q·1. Left: ‖h_t‖ (black line) and "
               "|q_kᵀh_t| (points) against t; right: the same for ∂J/∂h_t = (W^(T−t))ᵀg, computed by backpropagation "
               "through the chain. The dashed lines are the closed forms |λ_k|ᵗ and |λ_k|^(T−t). **Components with "
               "|λ| < 1 vanish, those with |λ| > 1 explode**, and |λ| = 1 stays level; the norm soon follows the "
               "largest |λ|. Both axes of absolute values are logarithmic"
               + (" (λ = 0 gives exact zeros after the first step, which a log axis cannot draw)." if zero else ".")
               + " A recurrent network's W_hh is multiplied in at every step the same way (with a tanh in between)."
               + (" **Some points leave their dashed line**: the components are read off one float64 vector, whose "
                  "rounding error is about 10⁻¹⁶·‖h_t‖, so a component far below the largest one is lost in it (the "
                  "closed-form claims measure the error relative to the vector's norm for this reason)."
                  if rounding_floor(forward, backward, lam) else ""))
    claims_view.show(mc.check(mc.chain_claims(lam, t_max), ev), "the chain drawn above")
    a, b, c = st.columns(3)
    with a:
        chart_downloads(fwd, "chain_forward", key="mem_forward_dl")
    with b:
        chart_downloads(bwd, "chain_backward", key="mem_backward_dl")
    with c:
        csv_download(forward, "Forward chain (CSV)", "chain_forward", "mem_chain_csv")


# ---- gradients through time ------------------------------------------------------------------------------------
def recurrent_runs(records: dict[str, RunRecord]) -> dict[str, RunRecord]:
    return {n: r for n, r in records.items() if r.config.model in ("rnn", "lstm")}


def final_label(record: RunRecord) -> str:
    return "θ_final" if record.status in ("done", "diverged", "failed") else "θ_now"


def state_rows(record: RunRecord) -> pd.DataFrame:
    """run, point, t, norm: ‖∂J/∂h_t‖ on the training split at θ_init and at the run's last checkpoint (cached)."""
    key = ("states", record.name, record.step)
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        spec, data = model_and_data(record.config.replace(device="cpu"))
        parts = []
        for point, step in (("θ_init", 0), (final_label(record), record.step)):
            norms = state_gradient_norms(spec, record.checkpoint(step), data.x_train, data.y_train).numpy()
            parts.append(pd.DataFrame({"run": record.name, "point": point, "step": step,
                                       "t": range(1, len(norms) + 1), "norm": norms}))
        cache[key] = pd.concat(parts, ignore_index=True)
        while len(cache) > CACHE_SIZE:
            cache.pop(next(iter(cache)))
    return cache[key]


def link_params(model: str) -> dict[str, str]:
    """The Train page's settings of the suggested run: model rnn or lstm on the adding problem, T = 20, Adam."""
    return dict(pair.split("=") for pair in LINK_SETTINGS.format(model=model).split("&"))


def train_links(models=("rnn", "lstm")) -> None:
    """Links to the Train page with the suggested settings (in this session: its runs come back here)."""
    labels = {"rnn": "An RNN on the adding problem, T = 20", "lstm": "The LSTM counterpart"}
    for column, model in zip(st.columns(len(models)), models, strict=True):
        column.page_link(page_file("train"), label=labels[model], icon=":material/play_circle:",
                         query_params=link_params(model), help=f"Opens Train with ?{LINK_SETTINGS.format(model=model)};"
                         " press Train there (3,000 steps of Adam, about half a minute on a busy CPU).")


def how_to_train() -> None:
    st.info("No recurrent run in this session yet. Open one of these links, press **Train** there (3,000 steps, "
            "about half a minute), and come back: its run appears here. So does any run with model rnn or lstm on a "
            "sequence data set (adding, copy, parity).", icon=":material/info:")
    train_links()


def _ratio_text(frame: pd.DataFrame, run: str, point: str) -> str:
    ev = Evidence(tables={"states": frame})
    return f"{mc.first_over_last(ev, run, point):.2g}"


def through_time_view(records: dict[str, RunRecord]) -> None:
    st.subheader("Gradients through time: ‖∂J/∂h_t‖ in a recurrent run")
    found = recurrent_runs(records)
    if not found:
        how_to_train()
        return
    names = list(found)
    if st.session_state.get("mem_run") not in names:
        st.session_state.pop("mem_run", None)
    record = found[st.selectbox("Run", names, key="mem_run", help="This session's rnn and lstm runs: the Train "
                                "page's run first, then the kept ones, newest first.")]
    try:
        frame = state_rows(record)
    except (ValueError, RuntimeError) as exc:
        st.error(f"Could not compute the state gradients of {record.name}: {exc}", icon=":material/error:")
        return
    final = final_label(record)
    ev = Evidence(tables={"states": frame})
    metrics = record.metrics
    a, b, c = st.columns(3)
    a.metric("‖∂J/∂h_1‖ / ‖∂J/∂h_T‖ at θ_init", _ratio_text(frame, record.name, "θ_init"))
    b.metric(f"… at {final}", _ratio_text(frame, record.name, final))
    c.metric(f"Train loss at {final}", f"{metrics['train_loss'].iloc[-1]:.3g}" if len(metrics) else "–",
             help=f"At step {record.step:,}; at step 0: {metrics['train_loss'].iloc[0]:.3g}." if len(metrics) else "")
    t_len = record.config.seq_len
    chart = charts.state_gradient_chart(frame, f"‖∂J/∂h_t‖ of {record.name}",
                                        f"dashed: θ_init; solid: {final} (step {record.step:,})")
    others = _comparison(found, record)
    if others is None:
        missing = "lstm" if record.config.model == "rnn" else "rnn"
        st.caption(f"Train an {missing.upper()} too to compare the two side by side:")
        train_links((missing,))
        show_chart(chart, key="mem_states_chart")
    else:
        compare, pair = others
        left, right = st.columns(2)
        with left:
            show_chart(chart, key="mem_states_chart")
        with right:
            show_chart(compare, key="mem_compare_chart")
    per = mc.per_step(ev, record.name, "θ_init")
    st.caption(f"{describe(record.config)}. J is the mean loss on the whole training split, h_t the states of all its "
               f"sequences after reading input t (t = 1..T = {t_len}), ‖·‖ the Frobenius norm over them; ∂J/∂h_t is "
               "the total derivative through every later step (for the LSTM its cell c_t is held fixed). At θ_init "
               f"each step back multiplies the gradient by {per:.2g} on average, so ‖∂J/∂h_1‖ is "
               f"{_ratio_text(frame, record.name, 'θ_init')} of ‖∂J/∂h_T‖: the first inputs' share of the gradient is "
               f"that much smaller than the last ones' (§8.2.5). At {final} the ratio is "
               f"{_ratio_text(frame, record.name, final)}; training can change it either way, "
               "so no claim is made about it.")
    if others is not None:
        pairs = dict.fromkeys(zip(pair["run"], pair["point"], strict=True))
        text = "; ".join(f"{r}: {_ratio_text(pair, r, 'θ_init')} at θ_init, {_ratio_text(pair, r, p)} at {p}"
                         for r, p in pairs if p != "θ_init")
        st.caption(f"Right: the newest RNN and LSTM runs of this session (the chosen run for its kind). "
                   f"‖∂J/∂h_1‖ / ‖∂J/∂h_T‖ — {text}. Measured numbers only: which of the two carries its gradient "
                   "further depends on the task and the run, so no claim is made about it.")
    claims_view.show(mc.check(mc.state_claims(record.name), ev), f"your run {record.name}")
    a, b = st.columns(2)
    with a:
        chart_downloads(chart, "state_gradients", key="mem_states_dl")
    with b:
        csv_download(frame, "State gradients (CSV)", "state_gradients", "mem_states_csv")


def _comparison(found: dict[str, RunRecord], record: RunRecord):
    """(chart, rows) of the newest RNN and the newest LSTM run (the chosen one for its kind), or None."""
    pick = {}
    for name, r in found.items():
        pick.setdefault(r.config.model, name)
    pick[record.config.model] = record.name
    if not {"rnn", "lstm"} <= set(pick):
        return None
    try:
        rows = pd.concat([state_rows(found[pick["rnn"]]), state_rows(found[pick["lstm"]])], ignore_index=True)
    except (ValueError, RuntimeError):
        return None
    return charts.state_gradient_chart(rows, "RNN against LSTM", f"{pick['rnn']} and {pick['lstm']}; dashed: "
                                       "θ_init, solid: the last step"), rows
