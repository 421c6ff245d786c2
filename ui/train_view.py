"""Drawing a live run snapshot: status, the four monitors, and the decision regions (or a 1-D regression's fit)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.charts import curvature as curvature_charts
from core.charts import export
from core.charts import training as charts
from core.frames import WINDOW
from core.model.config import TrainConfig
from core.model.data import DATASETS, from_config
from core.probes.boundary import draws_fit, fit_points, points_frame
from core.probes.interpolation import BARRIER_HELP, curve_metrics, end_drops
from core.probes.straying import straying_summary
from core.train.live import REDRAW_FAST, LiveRun, Snapshot
from ui.downloads import chart_downloads, csv_download, gif_download
from ui.show import show_chart

SPEC_CACHE = "chart_cache"
EDGE_LINK = "train?optimizer=sgd&lr=1.0&batch_size=0&steps=1500&curvature_monitor=true"
EDGE_LABEL = ("full-batch gradient descent at ε = 1, where λ_max rises to about 2/ε, overshoots briefly (the loss "
              "jumps) and falls back, again and again, while the loss keeps falling")


def status(snap: Snapshot, redraw_every: float | None) -> None:
    """Progress bar with step, speed and state; the run's message when it stopped on its own."""
    rate = f" · {snap.steps_per_second:,.0f} steps/s" if snap.steps_per_second == snap.steps_per_second else ""
    pace = ""
    if redraw_every is not None and redraw_every > REDRAW_FAST:
        pace = f" · redrawing every {redraw_every:g} s, to leave the CPU to the training and to other visitors"
    st.progress(min(snap.step / snap.config.steps, 1.0),
                text=f"Step {snap.step:,} of {snap.config.steps:,}{rate} · **{snap.status}**{pace}")
    if snap.status in ("diverged", "failed"):
        st.error(snap.message, icon=":material/error:")
    elif snap.message:
        st.warning(snap.message, icon=":material/pause_circle:")


@st.cache_data(max_entries=32, show_spinner=False)
def _plane_points(config: TrainConfig) -> pd.DataFrame | None:
    """The training points of a 2-D data set, or of a 1-D regression (kind column); None for other data."""
    data = from_config(config)
    if draws_fit(data):
        return fit_points(data.x_train, data.y_train)
    return points_frame(data.x_train, data.y_train) if data.is_2d and data.task == "classification" else None


def data_preview(config: TrainConfig) -> None:
    """Before the first run: the training points of a 2-D data set (what the decision regions will be drawn on), or
    of a 1-D regression (what the fit will be drawn on). Data laid out as images or signals are not drawn."""
    if DATASETS[config.dataset].shape:
        return
    try:
        points = _plane_points(config)
    except ValueError:  # an unreadable CSV: the sidebar says why
        return
    if points is None:
        return
    title = f"The data: {config.dataset}, {len(points):,} training points"
    draw = charts.fit_chart if "kind" in points else charts.data_chart
    _chart(lambda: draw(points, title), (config.dataset, config.n_samples, config.noise, config.val_fraction,
                                         config.data_seed, config.csv_path, config.label_column), "data", False)


def waiting(live: LiveRun, why: str | None = None) -> None:
    """A run in line for a trainer process (or, with `why`, a parked run whose charts need one): say so, and redraw
    the page once it has one."""

    @st.fragment(run_every=1.0)
    def poll() -> None:
        s = live.touch()  # also keeps the run's place in line
        if why is None and not live.waiting:
            st.rerun(scope="app")
        if why is not None:
            try:
                live.snapshot()
                st.rerun(scope="app")
            except ValueError:
                pass
        st.progress(min(s.step / s.steps, 1.0), text=f"Step {s.step:,} of {s.steps:,} · **{s.status}**")
        st.info(why or s.message, icon=":material/hourglass_top:")

    poll()


def _chart(make_chart, version, name: str, downloads: bool) -> None:
    """Draw make_chart(); while `version` of its inputs is unchanged, reuse the chart built last time."""
    cache = st.session_state.setdefault(SPEC_CACHE, {})
    if name not in cache or cache[name][0] != version:
        cache[name] = (version, make_chart())
    chart = cache[name][1]
    show_chart(chart, key=f"chart_{name}")
    if downloads:
        chart_downloads(chart, name, key=f"dl_{name}")


def _interp_metrics(frame, ends) -> None:
    m = curve_metrics(frame["alpha"], frame["train_loss"])
    before, after = end_drops(ends["alpha"], ends["train_loss"])
    a, b, c = st.columns(3)
    a.metric("Monotone on [0, 1]", "yes" if m["monotone"] else "no", help="Train loss never rises from α=0 to α=1.")
    b.metric("Max bump", f"{m['max_bump']:.3g}", help=f"Largest rise above the running minimum, at α = "
             f"{m['bump_alpha']:.3g} (train loss).")
    c.metric("Barrier", f"{m['barrier']:.3g}", help=BARRIER_HELP + " Train loss.")
    if after > 0:
        st.caption(f"The training loss keeps falling past α = 1 (by {after:.3g} at α ≤ 1.1): θ is where training "
                   "stopped, not a minimum along this line.")


def _straying_metrics(frame) -> None:
    s = straying_summary(frame)
    a, b, c = st.columns(3)
    a.metric("Max residual", f"{s['max_residual']:.3g}", help="Largest distance of θ_t from the straight line.")
    b.metric("Max ρ = r/‖θ‖", f"{s['max_rho']:.3f}", help="Share of the parameter norm the line misses.")
    c.metric("Line keeps ≥ 2/3 of ‖θ‖", "yes" if s["two_thirds_holds"] else "no",
             help="The paper's claim for its maxout network: ρ ≤ 1/3 at every step.")


def _curvature_readouts(snap: Snapshot) -> None:
    points = snap.curvature
    recent = points.tail(WINDOW)
    rows = snap.metrics.dropna(subset=["lambda_max"]) if "lambda_max" in snap.metrics else snap.metrics.iloc[:0]
    a, b = st.columns(2)
    a.metric("Steps with ratio > 1", f"{(recent['curvature_ratio'] > 1).mean():.0%}" if len(recent) else "–",
             help=f"Among the last {len(recent)} drawn steps: the quadratic model (eq. 8.10) says these steps raised "
             "the minibatch cost, because ½ε²·gᵀHg outweighed ε·gᵀg.")
    b.metric("Median ratio", f"{recent['curvature_ratio'].median():.3g}" if len(recent) else "–",
             help="The median of ½ε·gᵀHg / gᵀg over the same steps. Near or above 1: the learning rate is at the "
             "edge of what this curvature allows.")
    if len(rows):
        last = rows.iloc[-1]
        a, b = st.columns(2)
        a.metric("λ_max", f"{last['lambda_max']:.4g}", help=f"Largest Hessian eigenvalue of the minibatch loss at "
                 f"step {int(last['step']):,}: a few warm-started Lanczos iterations.")
        b.metric("ε·λ_max / 2", f"{0.5 * last['lr'] * last['lambda_max']:.3g}",
                 help="Above 1, gradient descent on the quadratic model diverges along the top eigenvector: "
                 "ε > 2/λ_max. With heavy-ball momentum μ the quadratic model's limit is ε < 2(1 + μ)/λ_max.")


def curvature_section(snap: Snapshot, downloads: bool) -> None:
    """Eq. 8.10 per step and λ_max against 2/ε, when the monitor is (or was) on."""
    if not snap.config.curvature_monitor and not len(snap.curvature):
        st.caption("Turn on **Curvature monitor** in the sidebar to see eq. 8.10's terms and λ_max against 2/ε "
                   f"while it trains (one extra Hessian-vector product per step). Or try [{EDGE_LABEL}]({EDGE_LINK}).")
        return
    st.markdown("**Curvature (Deep Learning eq. 8.10).** A step −εg changes the cost by about "
                "−ε·gᵀg + ½ε²·gᵀHg; when the ratio ½ε·gᵀHg/gᵀg passes 1 the step makes things worse, however large "
                "the gradient. g and H are of the step's own minibatch.")
    version = (id(snap.curvature), snap.step)
    left, right = st.columns(2)
    with left:
        _chart(lambda: curvature_charts.terms_chart(snap.curvature), version, "curvature_terms", downloads)
    with right:
        _chart(lambda: curvature_charts.ratio_chart(snap.curvature), version, "curvature_ratio", downloads)
    left, right = st.columns(2)
    with left:
        _chart(lambda: curvature_charts.lambda_max_chart(snap.metrics), version, "lambda_max", downloads)
    with right:
        _curvature_readouts(snap)


def _replay_frame(points, metrics, regression: bool):
    """The gradient norm and the error side by side, up to the last step of `metrics` (a frame of the replay)."""
    last = metrics["step"].max()
    return alt.hconcat(charts.grad_norm_chart(points[points["step"] <= last]).properties(width=380),
                       charts.error_chart(metrics, regression).properties(width=380))


def monitors(live: LiveRun, snap: Snapshot, training: bool) -> None:
    """The four live monitors, two per row, and for 2-D data the decision regions (a 1-D regression's fit)."""
    downloads = not training
    regression = snap.task == "regression"  # its error columns hold the RMSE, its loss the mean squared error
    rows = (id(live), len(snap.metrics), snap.step if snap.metrics.empty else snap.metrics["step"].iloc[-1])
    left, right = st.columns(2)
    with left:
        _chart(lambda: charts.grad_norm_chart(snap.points), (id(live), snap.step), "gradient_norm", downloads)
    with right:
        _chart(lambda: charts.error_chart(snap.metrics, regression), rows,
               "rmse" if regression else "classification_error", downloads)
    curvature_section(snap, downloads)
    left, right = st.columns(2)
    with left:
        _chart(lambda: charts.loss_chart(snap.metrics, regression=regression), rows, "loss", downloads)
    with right:
        line, at = snap.line, snap.line_step
        curve, ends = line[~line["past_ends"]].drop(columns="past_ends"), line[line["past_ends"]]
        end = "θ_final" if snap.status == "done" else "θ now"
        _chart(lambda: charts.interpolation_chart(curve, title=f"Loss on the line θ_i → {end}", regression=regression),
               (id(line), end), "interpolation", downloads)
        st.caption(f"θ = the parameters at step {at:,}" + (", the end of the run." if snap.status == "done" else
                   "; recomputed while training, as often as its cost allows."))
        _interp_metrics(curve, ends)
    left, right = st.columns(2)
    with left:
        strayed = (id(live), len(snap.straying), tuple(snap.straying.iloc[-1]))
        _chart(lambda: charts.straying_chart(snap.straying), strayed, "straying", downloads)
        _straying_metrics(snap.straying)
    with right:
        if snap.regions is not None:
            _chart(lambda: charts.boundary_chart(snap.regions, snap.points_2d), (id(live), id(snap.regions)),
                   "decision_regions", downloads)
        elif snap.fit is not None:
            _chart(lambda: charts.fit_chart(snap.fit), (id(live), id(snap.fit)), "fit", downloads)
        else:
            _chart(lambda: charts.norms_chart(snap.metrics), rows, "norms", downloads)
    if downloads:
        csv_download(snap.metrics, "Metrics (CSV)", "metrics", "dl_metrics_csv")
        gif_download(lambda: export.growth(lambda rows: _replay_frame(snap.points, rows, regression), snap.metrics),
                     "training", key="train_gif", label="Animated GIF (the run replayed)")
    else:
        st.caption("Pause to download the charts (PNG, SVG) and the metrics (CSV).")
