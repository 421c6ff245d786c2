"""The Network landscape page's controls and drawing: the plane, its honesty readouts, and the Fig. 7 view."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts import landscape as lc
from core.model.records import RunRecord, describe
from core.probes import fig7 as f7
from core.probes import plane as pl
from core.train import replay as rp
from ui.downloads import chart_downloads, csv_download
from ui.interpolation_view import model_and_data
from ui.show import show_chart

URL = {"bind": "query-params"}
CACHE, CACHE_SIZE = "ls_cache", 6
# Chart titles' words for the keys. The keys themselves are the options: a bound widget's URL holds what it shows
# (a format_func's label, if it had one), and ?ls_direction=random reads better than the label.
DIRECTIONS = {"pca": "PCA of the trajectory", "random": "Random, per-neuron"}
SPLITS = {"train": "Train", "validation": "Validation"}
GRIDS = [21, 31, 41, 61, 81, 101]


def settings(records: dict) -> dict:
    """The controls; returns the chosen run and settings."""
    names = list(records)
    if st.session_state.get("ls_run") not in names:
        st.session_state.pop("ls_run", None)
    top = st.columns([2, 3, 1])
    name = top[0].selectbox("Run", names, key="ls_run")
    direction = top[1].segmented_control(
        "Second direction", list(DIRECTIONS), default="pca", required=True, key="ls_direction",
        help="The plane always holds θ_i and θ_f. Its second direction is either **pca**, the one the trajectory "
        "strays along most (PCA of θ_t − θ_i off the line), or **random**, a seeded random direction whose rows "
        "match the norms of θ_f's rows (Li et al. 2018). Both are made orthogonal to θ_f − θ_i.", **URL)
    seed = top[2].number_input("Seed", 0, 2**31 - 1, 0, key="ls_seed", disabled=direction != "random",
                               help="Seed of the random direction.", **URL)
    row = st.columns(5)
    grid = row[0].select_slider("Grid (points a side)", GRIDS, value=41, key="ls_grid", **URL,
                                help="Resolution of the loss grid; 41 x 41 takes a few seconds for a digits MLP.")
    split = row[1].segmented_control("Loss", list(SPLITS), default="train", required=True, key="ls_split", **URL,
                                     help="The loss on the training split or on the validation split.")
    margin = row[2].slider("Margin", 0.0, 1.0, 0.25, 0.05, key="ls_margin", **URL,
                           help="Room around θ_i, θ_f and the path, as a share of ‖θ_f − θ_i‖.")
    threshold = row[3].slider("Dash the path beyond", 0.01, 0.5, 0.1, 0.01, key="ls_threshold", format="%.2f",
                              help="Steps of the path farther than this share of ‖θ_f − θ_i‖ from the plane are "
                                   "drawn dashed with hollow points.", **URL)
    replay = row[4].toggle("Every logged step", True, key="ls_replay", **URL,
                           help="Re-train the run here (deterministic on the CPU, about as long as it first took) "
                                "to get θ at every logged step. Off: the run's up to 17 saved checkpoints.")
    return {"record": records[name], "direction": direction, "seed": int(seed), "grid": int(grid), "split": split,
            "margin": float(margin), "threshold": float(threshold), "replay": bool(replay)}


def _cached(key: tuple, make):
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        cache[key] = make()
        while len(cache) > CACHE_SIZE:
            cache.pop(next(iter(cache)))
    return cache[key]


def _run_key(record: RunRecord) -> tuple:
    return record.name, record.step, record.status, float(record.theta_final.double().sum())


def trajectory(record: RunRecord, replay: bool) -> tuple[list[int], object, str]:
    """(steps, thetas, a note on where they come from): replayed when asked and possible, else the checkpoints."""
    saved = (list(record.steps), record.checkpoints, f"the run's {len(record.steps)} saved checkpoints")
    if not replay:
        return saved
    if record.status == "running":
        return (*saved[:2], saved[2] + " (it is still training, so it is not replayed)")

    def make():
        targets = rp.replay_targets(record.metrics["step"] if "step" in record.metrics else [], record.steps,
                                    record.step, record.checkpoints.shape[1])
        bar = st.progress(0.0, text=f"Replaying the run for {len(targets)} points of its trajectory")
        try:
            steps, thetas = rp.replay(record.config, targets, lambda f: bar.progress(min(f, 1.0)))
            rp.check_replay(steps, thetas, record.steps, record.checkpoints)
        except (ValueError, RuntimeError) as exc:
            return exc
        finally:
            bar.empty()
        return steps, thetas

    got = _cached(("replay", *_run_key(record)), make)
    if isinstance(got, Exception):
        return (*saved[:2], f"{saved[2]}: {got}")
    note = f"{len(got[0])} points, every logged step (the run was replayed here and matched its checkpoints)"
    return got[0], got[1], note


def compute(s: dict, steps, thetas) -> pl.Landscape:
    record = s["record"]
    key = ("plane", *_run_key(record), s["replay"], s["direction"], s["seed"] if s["direction"] == "random" else 0,
           s["grid"], s["margin"])

    def make():
        spec, data = model_and_data(record.config)
        n = s["grid"] ** 2
        bar = st.progress(0.0, text=f"Evaluating the loss on both splits at {n:,} points of the plane")
        result = pl.landscape(spec, data, steps, thetas, s["direction"], s["seed"], s["grid"], s["margin"],
                              progress=lambda f: bar.progress(f, text=f"Evaluating the plane: {f:.0%} of {n:,}"))
        bar.empty()
        return result

    return _cached(key, make)


def with_losses(s: dict, result: pl.Landscape, thetas) -> pd.DataFrame:
    """The trajectory with J at θ_t (loss) and at its shadow on the plane (plane_loss) on the chosen split."""
    record = s["record"]
    key = ("losses", *_run_key(record), s["replay"], s["direction"], s["seed"], s["margin"], s["split"])

    def make():
        spec, data = model_and_data(record.config)
        x, y = (data.x_train, data.y_train) if s["split"] == "train" else (data.x_val, data.y_val)
        with st.spinner("Loss along the trajectory and under it on the plane"):
            return result.trajectory.assign(loss=pl.losses_at(spec, thetas, x, y),
                                            plane_loss=pl.losses_at(spec, pl.shadows(result.plane,
                                                                                     result.trajectory), x, y))

    return _cached(key, make)


def readouts(h: dict, direction: str) -> None:
    a, b, c, d = st.columns(4)
    a.metric("Captured variance", f"{h['captured']:.1%}", help="Share of Σ_t ‖θ_t − θ_i‖² that lies in the plane. "
             f"Along θ_f − θ_i alone: {h['captured_d1']:.1%}.")
    b.metric("Of what the line misses", f"{h['off_line_captured']:.0%}",
             help=f"Share of the trajectory's spread off the line θ_i → θ_f that the {direction} direction holds.")
    c.metric("Mean distance from the plane", f"{h['mean_distance']:.3g}", f"{h['mean_share']:.1%} of ‖θ_f − θ_i‖",
             delta_color="off", delta_arrow="off")
    d.metric("Max distance from the plane", f"{h['max_distance']:.3g}", f"{h['max_share']:.1%} of ‖θ_f − θ_i‖",
             delta_color="off", delta_arrow="off")
    sentence = pl.trust_sentence(h)
    if h["max_share"] <= 0.05:
        st.success(sentence, icon=":material/verified:")
    elif h["max_share"] <= 0.25:
        st.info(sentence, icon=":material/info:")
    else:
        st.warning(sentence, icon=":material/warning:")


def draw(s: dict) -> None:
    record = s["record"]
    steps, thetas, note = trajectory(record, s["replay"])
    try:
        result = compute(s, steps, thetas)
        path = with_losses(s, result, thetas)
    except (ValueError, RuntimeError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.caption(f"{describe(record.config)} · step {record.step:,} ({record.status}) · trajectory: {note} · "
               f"‖θ_f − θ_i‖ = {result.plane.length:.4g}. Coordinates are in parameter units: θ_i at (0, 0), θ_f at "
               f"({result.plane.length:.3g}, 0).")
    readouts(result.honesty, s["direction"])
    title = f"{SPLITS[s['split']]} loss over the plane (second direction: {DIRECTIONS[s['direction']]})"
    chart = lc.plane_chart(result.grid, path, result.plane.length, s["threshold"], s["split"], title=title)
    show_chart(chart, key="ls_chart")
    a, b, c = st.columns(3)
    with a:
        chart_downloads(chart, "plane", key="ls_dl")
    with b:
        csv_download(result.grid[["a", "b", "train_loss", "val_loss", "train_error", "val_error"]], "Grid (CSV)",
                     "grid", "ls_dl_grid")
    with c:
        csv_download(path, "Trajectory (CSV)", "trajectory", "ls_dl_traj")
    fig7(s, steps, thetas, path)


def fig7(s: dict, steps, thetas, path: pd.DataFrame) -> None:
    st.subheader("Paper Fig. 7 view")
    st.caption("No plane at all: the two single coordinates of θ that range furthest over training, with the "
               f"{s['split']} loss as colour, one point per recorded step ({len(steps)} here). As in the paper, it "
               "shows where the optimizer actually went in those coordinates, with nothing projected.")
    frame = f7.fig7_frame(model_and_data(s["record"].config)[0], steps, thetas, path["loss"])
    chart = lc.fig7_chart(frame, s["split"])
    show_chart(chart, key="ls_fig7")
    a, b = st.columns([2, 1])
    with a:
        chart_downloads(chart, "fig7", key="ls_dl_fig7")
    with b:
        csv_download(frame, "Fig. 7 points (CSV)", "fig7", "ls_dl_fig7_csv")

