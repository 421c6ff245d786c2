"""The Gradients page's noise view: how far minibatch gradients lie from the full gradient at a point of a run, against
the batch size (definitions §12), and the helpers the page's views share. The live and depth views are in
ui.gradients_live_depth."""

from __future__ import annotations

import time

import streamlit as st
import torch

from core import claims_gradients as gc
from core.charts import gradients as charts
from core.claims import Evidence
from core.model import networks
from core.model.records import RunRecord, describe
from core.probes import gradient_noise as gn
from ui import claims_view
from ui.downloads import chart_downloads, csv_download
from ui.interpolation_view import model_and_data
from ui.progress import with_progress
from ui.show import show_chart

CACHE, CACHE_SIZE = "gradients_cache", 8
DEFAULT_SIZES = "1,4,16,64,256,full"
MAX_SAMPLES = 4096
DEFAULT_SAMPLES = 256  # the rms slope's claim held on 7 of 10 draw seeds with 64 samples, on all tried with 256
MAX_WORK = 4_000_000  # examples in all the minibatches of one table (samples × the batch sizes below N)
URL = {"bind": "query-params"}


# ---- shared ----------------------------------------------------------------------------------------------------
def cached(key, compute):
    """compute() once per key in this session (the last CACHE_SIZE results are kept)."""
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        cache[key] = compute()
        while len(cache) > CACHE_SIZE:
            cache.pop(next(iter(cache)))
    return cache[key]


def pick_run(records: dict[str, RunRecord], key: str) -> RunRecord:
    names = list(records)
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)
    return records[st.selectbox("Run", names, key=key, help="This session's runs (see the panel above): the Train "
                                "page's run first, then the kept ones, newest first.")]


@st.cache_resource(show_spinner="Loading torch.func (once per server, a few seconds)…")
def _torch_func_ready() -> bool:
    """torch.func's first call imports much of PyTorch's compiler; pay it once, outside the estimates."""
    torch.func.grad(lambda v: (v * v).sum())(torch.ones(2))
    return True


# ---- inexact gradients at a point of a run --------------------------------------------------------------------
def parse_sizes(text: str, n: int) -> tuple[list[int], list[int]]:
    """'1,4,16,full' -> ([1, 4, 16, n], dropped): whole numbers >= 1 or 'full' (= n), sorted, each once; those above
    n are dropped (full holds the whole split). One ValueError with a sentence for anything else."""
    items = [t.strip().lower() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ValueError("Batch sizes: name at least one, such as 1,4,16,64,full.")
    sizes = []
    for t in items:
        if t != "full" and not (t.isdigit() and int(t) >= 1):
            raise ValueError(f"Batch sizes take whole numbers of at least 1 or 'full', separated by commas (such as "
                             f"1,4,16,64,full); {t!r} is not one.")
        sizes.append(n if t == "full" else int(t))
    dropped = sorted({m for m in sizes if m > n})
    return sorted({m for m in sizes if m <= n}), dropped


def point_label(record: RunRecord, step: int) -> str:
    if step == 0:
        return "θ_init (step 0)"
    if step == record.step:
        return f"θ_{'final' if record.status == 'done' else 'now'} (step {step:,})"
    return f"θ at step {step:,}"


def noise_seconds(spec, theta, x, y, sizes: list[int], samples: int) -> float:
    """About how long noise_result takes here, from three timed calls as large as the work's own chunks: a minibatch
    gradient costs a + b·m (a: making one P-vector, b: one example), a per-example gradient c (twice: for tr Σ and
    for the deviations)."""
    n, k, r = len(y), min(len(y), 64), min(samples, 64)

    def timed(work) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    one = timed(lambda: gn.gradients_on(spec, theta, x, y, torch.zeros(r, 1, dtype=torch.long))) / r
    many = timed(lambda: gn.gradients_on(spec, theta, x, y, torch.arange(k).repeat(r, 1))) / r
    b = max(many - one, 0.0) / max(k - 1, 1)
    a = max(one - b, 0.0)
    rows = min(n, 512, max(1, gn.CHUNK_FLOATS // theta.numel()))  # one chunk of the per-example gradients
    c = timed(lambda: deviations(spec, theta, x[:rows], y[:rows], torch.zeros_like(theta, dtype=torch.float64)))
    c /= rows
    below = [m for m in sizes if m < n]
    return samples * (len(below) * a + b * sum(below)) + 3 * b * n + 2 * c * n


def deviations(spec, theta, x, y, g: torch.Tensor) -> torch.Tensor:
    """‖g_i − g‖² of every example's own gradient g_i (N,), float64, chunk by chunk (tr Σ is their mean)."""
    rows = max(1, gn.CHUNK_FLOATS // theta.numel())
    parts = [(gn.per_example_gradients(spec, theta, x[s : s + rows], y[s : s + rows]).double() - g).square().sum(1)
             for s in range(0, len(y), rows)]
    return torch.cat(parts)


def noise_result(spec, theta, x, y, sizes: list[int], samples: int, seed: int) -> dict:
    """The noise table; the relative error of one minibatch of all N examples in shuffled order (the gradient of the
    same mean loss, summed in another order: float rounding only); and how much of tr Σ the 5% of examples with the
    largest ‖g_i − g‖ carry, and (classification) the misclassified ones."""
    table = gn.noise_table(spec, theta, x, y, sizes, samples, seed)
    g = gn.full_gradient(spec, theta, x, y).double()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    whole = gn.gradients_on(spec, theta, x, y, order[None])[0].double()
    norm = torch.linalg.vector_norm(g).item()
    error = torch.linalg.vector_norm(whole - g).item() / norm if norm > 0 else float("nan")
    d = deviations(spec, theta, x, y, g)
    top = max(1, round(0.05 * len(y)))
    out = {"table": table, "full_error": error, "top": top,
           "top_share": (d.sort(descending=True).values[:top].sum() / d.sum()).item()}
    if getattr(spec, "task", "classification") == "classification":
        with torch.no_grad():
            wrong = networks.forward(spec, spec.split(theta), x).argmax(-1) != y
        out["wrong"], out["wrong_share"] = int(wrong.sum()), (d[wrong].sum() / d.sum()).item()
    return out


def _noise_controls(record: RunRecord, n: int) -> tuple[int, list[int], int, int] | None:
    """(step, sizes, samples, seed) from the controls, or None after one clear message."""
    left, mid, right, far = st.columns([3, 3, 1.3, 1])
    if st.session_state.get("gr_point") not in record.steps:
        st.session_state["gr_point"] = record.step
    step = left.selectbox("Point θ", list(reversed(record.steps)), key="gr_point",
                          format_func=lambda s: point_label(record, s),
                          help="θ_final, θ_init or one of the run's stored checkpoints.")
    text = mid.text_input("Batch sizes m", DEFAULT_SIZES, key="gr_sizes", help="Comma-separated numbers of examples "
                          "per minibatch; full = the whole training split. Sizes above it are left out.", **URL)
    samples = right.number_input("Samples", 2, MAX_SAMPLES, DEFAULT_SAMPLES, key="gr_samples", help="Minibatches "
                                 "drawn per batch size, each its own random subset (without replacement).", **URL)
    seed = far.number_input("Draw seed", 0, 10**6, 0, key="gr_seed", help="Seeds the minibatch draws.", **URL)
    try:
        sizes, dropped = parse_sizes(text, n)
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    if dropped:
        st.caption(f"Left out: {', '.join(f'{m:,}' for m in dropped)} (more than the N = {n:,} training examples; "
                   "full holds them all).")
    if not sizes:
        st.error(f"Batch sizes: none is at most the N = {n:,} training examples; add full.", icon=":material/error:")
        return None
    work = int(samples) * sum(m for m in sizes if m < n)
    if work > MAX_WORK:
        st.error(f"That is {work:,} examples in all the minibatches (samples × the batch sizes below N); the page "
                 f"takes up to {MAX_WORK:,}. Use fewer samples or smaller batch sizes.", icon=":material/error:")
        return None
    return int(step), sizes, int(samples), int(seed)


def signed(value: float, fmt: str = ".2f") -> str:
    """A number with a true minus sign (−0.45, not -0.45)."""
    return f"{value:{fmt}}".replace("-", "−")


def _noise_caption(record: RunRecord, step: int, found: dict, n: int, samples: int, mean: float, rms: float) -> None:
    table = found["table"]
    below = table[table["batch_size"] < n]
    lines = [f"{describe(record.config)}, at {point_label(record, step)}. N = {n:,} training examples; {samples} "
             "minibatches per batch size m, each m distinct examples. **Sampling theory** is √((tr Σ/m)·(N − m)/"
             "(N − 1))/‖g‖, with tr Σ the exact variance of one example's gradient g_i (definitions §12); the **1/√m "
             "reference** leaves out the factor (N − m)/(N − 1), so the two meet at m = 1 and part as m nears N.",
             "**Mean and rms.** Sampling theory predicts the rms √mean‖g_B − g‖²/‖g‖; the mean of ‖g_B − g‖/‖g‖ is "
             "a typical minibatch's error."]
    heavy = (f"the {found['top']:,} examples ({found['top'] / n:.0%}) with the largest ‖g_i − g‖ carry "
             f"{found['top_share']:.0%} of tr Σ")
    if "wrong" in found and found["wrong"]:
        heavy += f", the {found['wrong']:,} misclassified ones {found['wrong_share']:.0%}"
    if len(below) >= 2:
        first, last = below.iloc[0], below.iloc[-1]
        share = (f"at m = {int(first.batch_size):,} the mean is "
                 f"{first.relative_error_mean / first.relative_error_rms:.0%} of the rms, at m = "
                 f"{int(last.batch_size):,} it is {last.relative_error_mean / last.relative_error_rms:.0%}")
        if mean - rms > 0.1:
            lines.append(f"Here the mean falls more slowly (slope {signed(mean)}) than the rms ({signed(rms)}); "
                         f"{share}. A few examples carry most of the variance: {heavy}. The squared error is "
                         "dominated by the rare minibatches that hold one of them; a minibatch of a few examples "
                         "usually holds none and lies closer to g than the rms says, a large one nearly always holds "
                         "some, so the mean catches up."
                         + (f" For the same reason the rms of {samples} samples is itself noisy at small m: another "
                            "draw seed can move its fitted slope by 0.1 or more, and a few hundred samples steady it."
                            if samples < 256 else ""))
        else:
            lines.append(f"Here the two fall alike (slopes {signed(mean)} and {signed(rms)}; {share}): {heavy}, so no "
                         "few examples dominate. On a trained network the mean usually falls more slowly; pick its "
                         "θ_final to compare.")
    st.caption(" ".join(lines))


def noise_view(records: dict[str, RunRecord]) -> None:
    st.subheader("Inexact gradients: a minibatch estimates g")
    record = pick_run(records, "gr_run")
    spec, data = model_and_data(record.config.replace(device="cpu"))
    x, y, n = data.x_train, data.y_train, len(data.y_train)
    chosen = _noise_controls(record, n)
    if chosen is None:
        return
    step, sizes, samples, seed = chosen
    theta = record.checkpoint(step)
    _torch_func_ready()
    key = ("noise", record.name, record.step, step, tuple(sizes), samples, seed)
    found = st.session_state.get(CACHE, {}).get(key)
    if found is None:
        try:
            with st.spinner("Timing a few gradients to estimate the work…"):
                seconds = noise_seconds(spec, theta, x, y, sizes, samples)
            what = f"Drawing {samples} minibatches of each of {len(sizes)} batch sizes"
            found = cached(key, lambda: with_progress(lambda: noise_result(spec, theta, x, y, sizes, samples, seed),
                                                      seconds, what))
        except (ValueError, RuntimeError) as exc:  # e.g. out of memory: one sentence, no traceback
            st.error(f"Could not compute the minibatch gradients of this run: {exc}", icon=":material/error:")
            return
    table = found["table"]
    mean, rms = gc.slope(_evidence(found, n), "relative_error_mean"), gc.slope(_evidence(found, n),
                                                                                "relative_error_rms")
    theory = gc.slope(_evidence(found, n), "predicted")
    fitted = [m for m in sizes if m <= gc.FIT_FRACTION * n]
    a, b, c, d = st.columns(4)
    over = f"Fitted over m = {', '.join(map(str, fitted))} (m ≤ N/10 = {n / 10:g})" if len(fitted) > 1 else \
        "Needs two batch sizes with m ≤ N/10"
    a.metric("Slope of the rms error", signed(rms, ".3f"), help=f"{over}, log-log. Sampling theory: −0.5 while m ≪ N.")
    b.metric("Slope of the mean error", signed(mean, ".3f"), help=f"{over}, log-log.")
    c.metric("Sampling theory's slope", signed(theory, ".3f"), help=f"{over}: −0.5 bent by the factor (N − m)/(N − 1).")
    d.metric("Error at m = N", f"{found['full_error']:.1g}", help="‖g_B − g‖/‖g‖ of one minibatch of all N examples "
             "in shuffled order: the same gradient summed in another order, so only float rounding.")
    error_chart, cosine_chart = charts.error_chart(table, n), charts.cosine_chart(table, n)
    left, right = st.columns(2)
    with left:
        show_chart(error_chart, key="gr_error_chart")
    with right:
        show_chart(cosine_chart, key="gr_cosine_chart")
    _noise_caption(record, step, found, n, samples, mean, rms)
    verdicts = gc.check(gc.noise_claims(sizes, n), _evidence(found, n))
    claims_view.show(verdicts, f"your run {record.name} at {point_label(record, step)}")
    a, b, c = st.columns(3)
    with a:
        chart_downloads(error_chart, "gradient_noise_error", key="gr_error_dl")
    with b:
        chart_downloads(cosine_chart, "gradient_noise_cosine", key="gr_cosine_dl")
    with c:
        csv_download(table, "Table (CSV)", "gradient_noise", "gr_noise_csv")


def _evidence(found: dict, n: int) -> Evidence:
    return Evidence(tables={"noise": found["table"]}, numbers={"n": n, "full_error": found["full_error"]})
