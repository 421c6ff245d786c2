"""The Minima page's random restarts: N seeds of the sidebar's network trained at once (core.train.restarts), which
of them fit, and the share that fits against width."""

from __future__ import annotations

import streamlit as st

from core import claims, presets
from core.charts import minima as minima_charts
from core.claims import Evidence
from core.model.config import MAX_SEED
from core.model.data import task_of
from core.model.records import describe
from core.train import restarts
from ui import claims_view
from ui.downloads import csv_download
from ui.minima_view import cached, keep_button, preset_claims, seconds
from ui.show import show_chart


def restarts_section(config, margin: float) -> None:
    st.subheader("Random restarts of the sidebar's network")
    try:
        restarts.check(config, [config.seed])
        if task_of(config) == "regression":
            raise ValueError(f"This view counts the restarts that classify their training points, and the "
                             f"{config.dataset} data make a regression; pick a classification data set in the sidebar.")
    except (ValueError, AttributeError) as exc:  # no config: the sidebar says what to fix
        st.info(str(exc) if config else "Fix the sidebar's settings to train restarts.", icon=":material/info:")
        return
    n = int(st.number_input("Restarts", 2, 256, 16, key="mn_restarts", help="Seeds s, s + 1, … from the "
                            "sidebar's seed s, all trained at once (one batched step for all of them)."))
    seeds = list(range(config.seed, min(config.seed + n, MAX_SEED + 1)))
    result = cached(("restarts", config, n), lambda: restarts.train_restarts(config, seeds),
                     f"Training {n} restarts", lambda: seconds(config, seeds), "mn_restarts_go")
    if result is None:
        return
    frame = presets.restart_table(result, margin)
    fit, loss, best = int(frame["fits"].sum()), frame["final_train_loss"], frame["final_train_error"].min()
    c1, c2, c3 = st.columns(3)
    c1.metric("Restarts that fit", f"{fit} of {len(frame)}", help=f"Training error at most "
              f"{(best + margin) * 100:.3g}%: the best restart's {best * 100:.3g}% plus {margin * 100:g} points.")
    c2.metric("Final training loss", f"{loss.min():.3g} to {loss.max():.3g}", help="Lowest and highest restart.")
    c3.metric("Diverged", f"{int(frame['diverged'].sum())}", help="Restarts whose step left the finite numbers; "
              "they keep their last finite θ.")
    chart = minima_charts.restarts_chart(frame)
    show_chart(chart, key="mn_restarts_chart")
    st.caption(f"{describe(config).split(', seed')[0]}, {config.steps:,} steps, seeds {seeds[0]}–{seeds[-1]}: the "
               f"restarts differ only in θ_init and the order of the minibatches. {fit} of {len(frame)} fit the "
               f"training set: training error at most {(best + margin) * 100:.3g}%, {margin * 100:g} points above the "
               f"best of these restarts (all of one width; on noisy data none classifies every point).")
    preset_claims("restarts", Evidence(tables={"restarts": frame}), "these restarts")
    labels = {int(r.seed): f"seed {r.seed}: loss {r.final_train_loss:.3g}, {'fits' if r.fits else 'does not fit'}"
              for r in frame.itertuples()}
    keep_button(labels, lambda seed: config.replace(seed=seed), "Open a restart as a run", "mn_restarts")


SWEEP_LABELS = {"xor": "XOR, 80 training points", "spirals": "spirals, 160 training points"}


def sweep_section(margin: float) -> None:
    st.subheader("The share that fits, against width")
    c1, c2, c3 = st.columns(3)
    data = c1.selectbox("Data", list(presets.RESTART_SETS), format_func=SWEEP_LABELS.get, key="mn_sw_data")
    activation = c2.selectbox("Activation", ["relu", "tanh"], key="mn_sw_act")
    n = int(c3.number_input("Restarts per width", 2, 256, 32, key="mn_sw_restarts"))
    config, widths = presets.sweep_config(data, activation), presets.RESTART_WIDTHS
    frame = cached(("sweep", data, activation, n), lambda: restarts.sweep(config, widths, range(n)),
                    f"Training {n} restarts at each of {len(widths)} widths",
                    lambda: seconds(config.replace(hidden=[max(widths)]), list(range(n)), len(widths)), "mn_sw_go")
    if frame is None:
        return
    frame = frame.assign(fits=restarts.sweep_fits(frame, margin))
    best = frame.loc[frame["width"] == frame["width"].max(), "final_train_error"].min()
    left, right = st.columns(2)
    with left:
        show_chart(minima_charts.fits_chart(frame), key="mn_fits_chart")
    with right:
        show_chart(minima_charts.losses_chart(frame), key="mn_losses_chart")
    st.caption(f"One hidden layer of w {activation} units; momentum 0.9, ε = {config.lr:g}, full batch, "
               f"{config.steps:,} steps; seeds 0–{n - 1} at every width. Width 0 is logistic regression, whose loss "
               f"is convex. {restarts.fit_rule(margin)} (width {max(widths)}: error at most "
               f"{(best + margin) * 100:.3g}%).")
    claims_view.show(claims.check(claims.sweep_claims(data), Evidence(tables={"sweep": frame})),
                     "the sweep drawn above")
    csv_download(frame, "Restarts (CSV)", f"restarts_{data}_{activation}", "mn_sw_csv")
    labels = {(int(r.width), int(r.seed)): f"width {r.width}, seed {r.seed}: loss {r.final_train_loss:.3g}, "
              f"{'fits' if r.fits else 'does not fit'}" for r in frame.itertuples()}
    keep_button(labels, lambda pick: restarts.with_width(config, pick[0]).replace(seed=pick[1]),
                 "Open a restart of the sweep as a run", "mn_sw")


def restarts_view(config) -> None:
    margin = float(st.number_input("A restart fits within this much of the best training error (points)", 0.0, 50.0,
                                   restarts.FIT_MARGIN * 100, 0.5, key="mn_fit_margin",
                                   help=f"{restarts.fit_rule()}. 0: only restarts as good as the best "
                                   "one.")) / 100
    kept = st.session_state.pop("mn_kept", None)
    if kept:
        st.success(f"Queued **{kept}**: it joins this session's runs (the table above) when trained, for the "
                   "Interpolation, Straying and Curvature pages.", icon=":material/check:")
    restarts_section(config, margin)
    sweep_section(margin)
