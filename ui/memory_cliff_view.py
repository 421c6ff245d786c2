"""The Long-term dependencies page's cliff view (Deep Learning §8.2.4, Pascanu et al. 2013): a tanh RNN trained on
the copy task (core.probes.memory.cliff_config), the loss along its own descent direction from θ_final through a
cliff, and plain against clipped gradient descent from the cliff face (core.probes.memory.cliff_probe)."""

from __future__ import annotations

import math
import time

import streamlit as st

from core import claims_cliff as cc
from core.charts import cliff as charts
from core.model.records import describe
from core.probes import memory as probes
from core.train.run import Run
from ui import address_problem, claims_view
from ui.downloads import chart_downloads, csv_download
from ui.progress import one_torch_thread, with_progress
from ui.show import show_chart

URL = {"bind": "query-params"}
CACHE, CACHE_SIZE = "memory_cliff_cache", 8
MAX_LR, MAX_CLIP, MAX_STEPS, MAX_T = 10.0, 1000.0, 200, 60
# (key, label, lo, hi, default, step, help): number inputs; the address's value is checked before the widget reads it
NUMBERS = [("mem_cliff_steps", "Steps from the face", 1, MAX_STEPS, 30, 1, "Steps of each walk, plain and clipped."),
           ("mem_cliff_T", "Sequence length T", 2, MAX_T, 30, 1, "The copy task's length: the symbol read at step 1 "
            "is asked for after step T. Training time grows with T (about 10 s at T = 30)."),
           ("mem_cliff_init", "Init scale", 0.5, 10.0, 3.0, 0.5, "Multiplies PyTorch's initialisation of the RNN."),
           ("mem_cliff_seed", "Seed", 0, 10**6, 0, 1, "Seeds the initialisation and the minibatches. At the "
            "defaults seeds 0, 1 and 5 show a cliff within 1% of ‖θ_final‖; 4 and 6 learn the task but show none "
            "there; 2, 3 and 7 do not learn it."),
           ("mem_cliff_span", "Line length (% of ‖θ‖)", 0.1, 10.0, 1.0, 0.5, "The line runs from θ_final over "
            "this share of ‖θ_final‖ (201 points).")]
# seconds per sequence step T: a training step, a point of the line (J and ∇J), a step of one walk (measured, 1 thread)
SECONDS_TRAIN, SECONDS_POINT, SECONDS_WALK = 1.5e-4, 3.5e-4, 2.5e-4


def parse_positive(text: str, name: str, example: str, hi: float) -> float:
    """'0.01' -> 0.01; one ValueError with a sentence for anything but a number in (0, hi]."""
    text = str(text).strip()
    try:
        value = float(text.replace("−", "-"))
    except ValueError:
        raise ValueError(f"{name} takes a positive number such as {example}; {text!r} is not one.") from None
    if not 0 < value <= hi:
        raise ValueError(f"{name} must lie above 0 and at most {hi:g}; {text} does not.")
    return value


def _controls() -> dict | None:
    raw = {key: st.query_params.get(key) for key, *_ in NUMBERS}
    cols = st.columns([1.2, 1.2, 1, 1, 1, 1, 1.2])
    lr = cols[0].text_input("Step size ε", "0.01", key="mem_cliff_lr", help="The step size of both walks from the "
                            "cliff face, plain and clipped (the network itself is trained with Adam, ε = 0.01).", **URL)
    clip = cols[1].text_input("Clip norm c", "1", key="mem_cliff_clip", help="The clipped walk scales ∇J to norm c "
                              "when it is longer: ε·∇J·min(1, c/‖∇J‖) (§8.2.4, as torch.nn.utils.clip_grad_norm_).",
                              **URL)
    values, problems = {}, []
    for col, (key, label, lo, hi, default, step, help_text) in zip(cols[2:], NUMBERS, strict=True):
        values[key] = col.number_input(label, lo, hi, default, step, key=key, help=help_text,
                                       format="%g" if isinstance(default, float) else "%d", **URL)
        problems.append(address_problem(raw[key], values[key], label, lo, hi))
    try:
        settings = {"lr": parse_positive(lr, "Step size ε", "0.01", MAX_LR),
                    "clip": parse_positive(clip, "Clip norm c", "1", MAX_CLIP)}
    except ValueError as exc:
        problems.insert(0, str(exc))
    problems = [p for p in problems if p]
    if problems:
        st.error(problems[0], icon=":material/error:")
        return None
    return {**settings, "steps": int(values["mem_cliff_steps"]), "T": int(values["mem_cliff_T"]),
            "init": float(values["mem_cliff_init"]), "seed": int(values["mem_cliff_seed"]),
            "span": float(values["mem_cliff_span"]) / 100}


def estimate_seconds(settings: dict, trained: bool) -> float:
    """The work's seconds at the measured rates: training (unless cached), the line, and the two walks."""
    per_t = probes.LINE_POINTS * SECONDS_POINT + 2 * (settings["steps"] + 1) * SECONDS_WALK
    if not trained:
        per_t += probes.CLIFF_SETTING["steps"] * SECONDS_TRAIN
    return settings["T"] * per_t


def _train_and_probe(cache: dict, train_key: tuple, settings: dict) -> dict:
    """Train the setting unless cache holds it (kept there under train_key), then probe it."""
    started = time.perf_counter()
    if train_key not in cache:
        run = Run(probes.cliff_config(settings["T"], settings["init"], settings["seed"]))
        run.train()
        if run.status in ("diverged", "failed"):
            raise ValueError(f"training the network {run.status}: {run.message}")
        cache[train_key] = {"config": run.config, "spec": run.spec, "data": run.data,
                            "theta": run.theta.detach().clone(), "seconds": time.perf_counter() - started}
    trained = cache[train_key]
    probe = probes.cliff_probe(trained["spec"], trained["data"], trained["theta"], settings["lr"], settings["clip"],
                               settings["steps"], span_share=settings["span"])
    return {**trained, "probe": probe, "chance": math.log(trained["data"].n_classes)}


def _compute(settings: dict) -> dict:
    """Train the setting (or reuse it from this session's cache) and probe it; cached per settings."""
    cache = st.session_state.setdefault(CACHE, {})
    train_key = ("train", settings["T"], settings["init"], settings["seed"])
    key = (*train_key, settings["lr"], settings["clip"], settings["steps"], settings["span"])
    if key in cache:
        return cache[key]

    def work() -> dict:
        with one_torch_thread():
            return _train_and_probe(cache, train_key, settings)

    what = "Training the RNN and walking its cliff" if train_key not in cache else "Walking the cliff"
    cache[key] = with_progress(work, estimate_seconds(settings, train_key in cache), what)
    while len(cache) > CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return cache[key]


def cliff_view() -> None:
    st.subheader("Cliffs in a recurrent network, and clipping")
    settings = _controls()
    if settings is None:
        return
    try:
        got = _compute(settings)
    except (ValueError, RuntimeError) as exc:
        st.error(f"Could not train and probe this setting: {exc}", icon=":material/error:")
        return
    probe, chance, lr, clip, steps = got["probe"], got["chance"], settings["lr"], settings["clip"], settings["steps"]
    line, plain, clipped = probe.line, probe.plain, probe.clipped
    marks = charts.landing_marks(plain, clipped, chance, lr, clip)
    ev = cc.evidence(probe, chance)
    a, b, c, d = st.columns(4)
    a.metric("J at θ_final", f"{line['loss'].iloc[0]:.3g}", help=f"‖∇J‖ there: {probe.grad_norm:.3g}.")
    b.metric("J and ‖∇J‖ on the face", f"{plain['loss'].iloc[0]:.3g}", f"‖∇J‖ = {plain['grad_norm'].iloc[0]:.3g}",
             delta_color="off", help=f"At s = {probe.face_s:.4g} along the line.")
    c.metric("One plain step lands at", f"{plain['loss'].iloc[1]:.3g}", f"{plain['step_length'].iloc[1]:.3g} long",
             delta_color="off")
    d.metric("One clipped step lands at", f"{clipped['loss'].iloc[1]:.3g}",
             f"{clipped['step_length'].iloc[1]:.3g} long", delta_color="off")
    line_spec, walk_spec = (charts.line_chart(line, probe.face_s, marks, probe.theta_norm),
                            charts.descent_chart(plain, clipped, lr, clip, chance))
    left, right = st.columns(2)
    with left:
        top, bottom = charts.line_panels(line, probe.face_s, marks, probe.theta_norm)
        show_chart(top, key="mem_cliff_line_chart")
        show_chart(bottom, key="mem_cliff_gradient_chart")
    with right:
        show_chart(walk_spec, key="mem_cliff_walk_chart")
    jump = cc.steepest_jump(ev, cc.WINDOW_SHARE)
    st.caption(f"{describe(got['config'])}: {probes.CLIFF_SETTING['steps']:,} steps of Adam on the copy task "
               f"(T = {settings['T']}, init scale {settings['init']:g}, {len(got['data'].y_train)} training "
               f"sequences; trained in {got['seconds']:.0f} s). J is the mean cross-entropy on the whole training "
               f"split. **Left**: J and ‖∇J‖ at θ_final + s·u, u = −∇J/‖∇J‖ at θ_final, over "
               f"{settings['span'] * 100:g}% of ‖θ_final‖: the loss changes up to {jump:.3g}× within "
               f"{cc.WINDOW_SHARE:.1%} of ‖θ_final‖. A small move of θ changes what the state carries through T "
               "steps of the same tanh map, and J jumps — a cliff "
               "(§8.2.4, Pascanu et al. 2013). θ_c, on the face, is the point of the largest ‖∇J‖. **Right**: full-"
               f"batch descent from θ_c with ε = {lr:g}. The plain step is ε·‖∇J‖ = "
               f"{plain['step_length'].iloc[1]:.3g} long ({plain['step_length'].iloc[1] / probe.theta_norm:.0%} of "
               f"‖θ_final‖): it is thrown off the cliff and lands at J = {plain['loss'].iloc[1]:.3g}. Clipping to norm "
               f"{clip:g} keeps the direction and shortens the step to {clipped['step_length'].iloc[1]:.3g}, and the "
               "walk goes down. Both loss axes are logarithmic; the dashed lines on the left are levels (where a step "
               "lands is off the line).")
    claims_view.show(cc.check(cc.cliff_claims(chance, steps, clip), ev), "the line and the walks drawn above")
    a, b = st.columns(2)
    with a:
        chart_downloads(line_spec, "cliff_line", key="mem_cliff_line_dl")
        csv_download(line, "Line (CSV)", "cliff_line", "mem_cliff_line_csv")
    with b:
        chart_downloads(walk_spec, "cliff_descent", key="mem_cliff_walk_dl")
        csv_download(charts.descent_long(plain, clipped, lr, clip), "Walks (CSV)", "cliff_descent",
                     "mem_cliff_walk_csv")
