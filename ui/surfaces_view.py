"""The Surfaces page's sections: the surface picker, the race with its animation and readouts, random restarts.

Widget keys start with sf_. The surface, start, steps, noise and seed are bound to the URL; the optimizer table
(one per surface, so each keeps its own edits) is not.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.charts import export
from core.charts import surfaces as sc
from core.model.optim import OPTIMIZERS
from core.toys import landmarks as lm
from core.toys import race as rc
from core.toys import surfaces as sf
from ui.downloads import chart_downloads, csv_download, gif_download
from ui.show import drawn_spec

URL = {"bind": "query-params"}
TICK = 0.25  # seconds between animation frames
FRAMES = 40  # an animation plays the race in about this many frames (a frame takes about 0.4 s to draw)
EXTRA_ROWS = {"cliff": [("sgd, clipped", "sgd", 1.0)]}  # (name, kind, clip norm) raced beside the defaults
ERROR = {"icon": ":material/error:"}


def surface_ui() -> sf.Surface | None:
    """Surface picker, the bowl's parameters and the caption; None (after an error) when a parameter is bad."""
    cols = st.columns([2, 1, 1])
    # the keys themselves are the options: a bound widget with format_func would put its label in the URL
    name = cols[0].selectbox("Surface", list(sf.SURFACES), key="sf_surface", **URL,
                             help="\n".join(f"- **{key}**: {label}" for key, label in sf.LABELS.items()))
    condition, angle = 10.0, 30.0
    if name == "bowl":
        condition = cols[1].number_input("Condition number", 1.0, 1e4, 10.0, 5.0, key="sf_condition", **URL)
        angle = cols[2].slider("Rotation (degrees)", -90.0, 90.0, 30.0, 5.0, key="sf_angle", **URL)
    try:
        surface = sf.make(name, condition, angle)
    except ValueError as exc:
        st.error(f"Fix this setting: {exc}", **ERROR)
        return None
    st.caption(f"**{sf.LABELS[name]}**: {surface.title}. {surface.caption}")
    return surface


def _surface_id(surface: sf.Surface) -> str:
    return f"{surface.name}|{surface.title}"


def _reset_on_new_surface(surface: sf.Surface) -> None:
    """The start and steps follow the surface: set them when it changes (the URL wins on a fresh page)."""
    sid = _surface_id(surface)
    changed = st.session_state.get("sf_for") not in (None, sid)
    for key, value in (("sf_x", surface.start[0]), ("sf_y", surface.start[1]), ("sf_steps", surface.steps)):
        if changed or key not in st.session_state:
            st.session_state[key] = value
    if changed:
        st.session_state["sf_step"] = surface.steps
    st.session_state["sf_for"] = sid
    clicked = st.session_state.pop("sf_clicked", None)
    if clicked is not None:
        st.session_state["sf_x"], st.session_state["sf_y"] = clicked


def default_table(surface: sf.Surface) -> pd.DataFrame:
    """One row per optimizer kind with the surface's defaults, the surface's picks enabled, plus its extra rows."""
    rows = []
    for kind in OPTIMIZERS:
        hp = rc.default_hp(surface, kind)
        rows.append({"name": kind, "optimizer": kind, "race": kind in surface.racers, "lr": hp.lr,
                     "momentum": hp.momentum, "damping": hp.damping, "clip": 0.0})
    for name, kind, clip in EXTRA_ROWS.get(surface.name, []):
        hp = rc.default_hp(surface, kind)
        rows.append({"name": name, "optimizer": kind, "race": True, "lr": hp.lr, "momentum": hp.momentum,
                     "damping": hp.damping, "clip": clip})
    return pd.DataFrame(rows)


def _number(value, default: float) -> float:
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def runners_from(table: pd.DataFrame, surface: sf.Surface) -> list[rc.Runner]:
    """The ticked rows as runners; ValueError with a sentence for a bad row."""
    runners = []
    for row in table.to_dict("records"):
        if not row.get("race"):
            continue
        kind = row.get("optimizer")
        if kind not in OPTIMIZERS:
            raise ValueError(f"pick an optimizer for the row '{row.get('name') or '(unnamed)'}'.")
        hp = rc.default_hp(surface, kind)
        name = str(row.get("name") or "").strip() or kind
        r = rc.Runner(name, kind, hp._replace(lr=_number(row.get("lr"), hp.lr),
                                              momentum=_number(row.get("momentum"), hp.momentum),
                                              damping=_number(row.get("damping"), hp.damping)),
                      _number(row.get("clip"), 0.0))
        rc.check_runner(r)
        runners.append(r)
    return runners


@st.cache_data(show_spinner=False, max_entries=32)
def _grid(name: str, condition: float, angle: float) -> pd.DataFrame:
    return sf.grid(sf.make(name, condition, angle))


def _params() -> tuple[float, float]:
    return float(st.session_state.get("sf_condition", 10.0)), float(st.session_state.get("sf_angle", 30.0))


@st.cache_data(show_spinner="Racing…", max_entries=32)
def _race(name: str, condition: float, angle: float, runners: tuple, start: tuple, steps: int, noise: float,
          seed: int) -> tuple[pd.DataFrame, dict]:
    frame = rc.race(sf.make(name, condition, angle), list(runners), start, steps, noise, seed)
    return frame, dict(frame.attrs["stopped"])


@st.cache_data(show_spinner="Running every restart…", max_entries=16)
def _restarts(name: str, condition: float, angle: float, runner: rc.Runner, n: int, steps: int,
              seed: int) -> pd.DataFrame:
    return rc.restarts(sf.make(name, condition, angle), runner, n, steps, seed)


def _start_on_play() -> None:
    if st.session_state.get("sf_play") and st.session_state.get("sf_step", 0) >= st.session_state.get("sf_steps", 0):
        st.session_state["sf_step"] = 0  # Play at the end starts over


def race_section(surface: sf.Surface) -> None:
    """Race controls, the race, its animation and readouts."""
    _reset_on_new_surface(surface)
    c = st.columns(5)
    x = c[0].number_input("Start x", -1e3, 1e3, step=0.1, format="%.3f", key="sf_x", **URL,
                          help="Or click a cell of the map.")
    y = c[1].number_input("Start y", -1e3, 1e3, step=0.1, format="%.3f", key="sf_y", **URL)
    steps = c[2].number_input("Steps", 1, rc.MAX_STEPS, step=50, key="sf_steps", **URL)
    noise = c[3].number_input("Gradient noise σ", 0.0, 1e3, 0.0, 0.1, key="sf_noise", **URL,
                              help="Gaussian noise added to every gradient, as a minibatch would; all optimizers "
                                   "see the same draws.")
    seed = c[4].number_input("Noise seed", 0, 10**6, 0, key="sf_seed", **URL)
    st.caption("Tick the optimizers to race and edit their settings; add rows to race one kind with two settings. "
               "lr is ε; momentum is μ (β₁ for Adam); damping is λ of (H + λI)⁻¹ for Newton and saddle-free Newton; "
               "clip is the gradient-norm limit (0 = off).")
    table = st.data_editor(default_table(surface), key=f"sf_table_{surface.name}", hide_index=True,
                           num_rows="dynamic", width="stretch", column_config={
                               "name": st.column_config.TextColumn("name", required=True),
                               "optimizer": st.column_config.SelectboxColumn("optimizer", options=list(OPTIMIZERS),
                                                                             required=True),
                               "race": st.column_config.CheckboxColumn("race", default=False),
                               "lr": st.column_config.NumberColumn("lr", min_value=0.0, format="%g"),
                               "momentum": st.column_config.NumberColumn("momentum", min_value=0.0, max_value=0.999,
                                                                         format="%g"),
                               "damping": st.column_config.NumberColumn("damping", min_value=0.0, format="%g"),
                               "clip": st.column_config.NumberColumn("clip", min_value=0.0, format="%g")})
    try:
        runners = runners_from(table, surface)
        frame, stopped = _race(surface.name, *_params(), tuple(runners), (float(x), float(y)), int(steps),
                               float(noise), int(seed))
    except ValueError as exc:
        st.error(f"Fix this setting: {exc}", **ERROR)
        return
    for name, reason in stopped.items():
        st.warning(f"**{name}** {reason}.", icon=":material/warning:")
    _animation(surface, frame, (float(x), float(y)), int(steps))
    chart = sc.race_chart(surface, _grid(surface.name, *_params()), frame, start=(float(x), float(y)),
                          marks=lm.landmarks(surface))
    a, b = st.columns(2)
    with a:
        chart_downloads(chart, f"surface_{surface.name}", key="sf_dl")
    with b:
        csv_download(frame, "Paths (CSV)", f"path_{surface.name}", "sf_csv")
        grid, marks, start = _grid(surface.name, *_params()), lm.landmarks(surface), (float(x), float(y))
        gif_download(lambda: [sc.race_chart(surface, grid, frame, s, start, marks=marks)
                              for s in export.frame_steps(int(frame["step"].max()))],
                     f"race_{surface.name}", key="sf_gif", label="Animated GIF (the race)")


def _animation(surface: sf.Surface, frame: pd.DataFrame, start, steps: int) -> None:
    """Play / pause and the step slider; the map, f against step and the readouts at that step."""
    if st.session_state.pop("sf_stop_play", False):
        st.session_state["sf_play"] = False
    if st.session_state.get("sf_step", steps) > steps or "sf_step" not in st.session_state:
        st.session_state["sf_step"] = steps
    playing = st.toggle("Play", key="sf_play", on_change=_start_on_play, help="Animate the race step by step.")

    @st.fragment(run_every=TICK if playing else None)
    def _frame() -> None:
        if playing:
            step = min(steps, st.session_state.get("sf_step", 0) + max(1, steps // FRAMES))
            st.session_state["sf_step"] = step
        step = st.slider("Step", 0, steps, key="sf_step")
        left, right = st.columns([3, 2])
        with left:
            chart = sc.race_chart(surface, _grid(surface.name, *_params()), frame, step, start, selectable=True,
                                  marks=lm.landmarks(surface))
            event = st.vega_lite_chart(drawn_spec(chart), on_select="rerun", key="sf_map", width="stretch")
            st.caption("◇ minimum, ✚ saddle, △ maximum, ○ start, ● where each optimizer is at this step. "
                       "Click a cell (off the paths) to start there.")
            _take_click(event)
        with right:
            st.vega_lite_chart(drawn_spec(sc.loss_chart(frame, step)), key="sf_loss", width="stretch")
            _readouts(surface, frame, step)
        if playing and step >= steps:
            st.session_state["sf_stop_play"] = True
            st.rerun(scope="app")

    _frame()


def _take_click(event) -> None:
    """A click on a cell of the map moves the start there (applied on the next full run)."""
    picked = (event or {}).get("selection", {}).get(sc.START_PARAM) or []
    if not picked or "x" not in picked[0]:
        return
    point = (round(float(picked[0]["x"]), 3), round(float(picked[0]["y"]), 3))
    if point != st.session_state.get("sf_last_click"):
        st.session_state["sf_last_click"] = point
        st.session_state["sf_clicked"] = point
        st.rerun(scope="app")


def _readouts(surface: sf.Surface, frame: pd.DataFrame, step: int) -> None:
    names = list(dict.fromkeys(frame["optimizer"]))
    if st.session_state.get("sf_readout") not in names:
        st.session_state.pop("sf_readout", None)
    name = st.selectbox("Readouts at the current point of", names, key="sf_readout")
    row = rc.at_step(frame, step).set_index("optimizer").loc[name]
    r = lm.readout(surface, (row["x"], row["y"]))
    shape = r.kind if r.critical else {"minimum": "convex (bowl)", "maximum": "concave (cap)", "saddle": "saddle",
                                       "degenerate": "flat in one direction"}[r.kind]
    what = f"a **{shape}**" if r.critical else f"not a critical point; the surface curves like a **{shape}** here"
    st.markdown(f"""**{name}** at step {int(row['step']):,}: ({row['x']:.4g}, {row['y']:.4g}), f = {row['f']:.4g}
- gradient ∇f = ({r.grad[0]:.4g}, {r.grad[1]:.4g}), ‖∇f‖ = {r.grad_norm:.3g}
- Hessian eigenvalues λ₁ = {r.eigenvalues[0]:.4g}, λ₂ = {r.eigenvalues[1]:.4g}
- {what}""", help="A critical point has ‖∇f‖ ≤ 1e-5; its kind follows the signs of the Hessian's eigenvalues "
                   "(a zero one makes it degenerate).")


def restarts_section(surface: sf.Surface) -> None:
    """N random starts with one optimizer: where each ends, and the histogram of final values."""
    if surface.name not in sf.MULTI_MINIMA:
        st.info("Random restarts tell most on surfaces with several minima: Rastrigin and Himmelblau.",
                icon=":material/info:")
    c = st.columns(6)
    kind = c[0].selectbox("Optimizer", list(OPTIMIZERS), key="sf_r_kind", **URL)
    hp = rc.default_hp(surface, kind)
    lr = c[1].number_input("lr", 0.0, 100.0, hp.lr, format="%g", key=f"sf_r_lr_{surface.name}_{kind}")
    momentum = c[2].number_input("momentum", 0.0, 0.999, hp.momentum, 0.05, key=f"sf_r_mom_{kind}")
    n = c[3].number_input("Starts N", 1, rc.MAX_RESTARTS, 50, 10, key="sf_r_n", **URL)
    steps = c[4].number_input("Steps", 1, 2000, surface.steps, 50, key=f"sf_r_steps_{surface.name}")
    seed = c[5].number_input("Seed", 0, 10**6, 0, key="sf_r_seed", **URL)
    try:
        runner = rc.Runner(kind, kind, hp._replace(lr=float(lr), momentum=float(momentum)))
        ends = _restarts(surface.name, *_params(), runner, int(n), int(steps), int(seed))
    except ValueError as exc:
        st.error(f"Fix this setting: {exc}", **ERROR)
        return
    _restart_metrics(surface, ends)
    left, right = st.columns([3, 2])
    chart = sc.restarts_chart(surface, _grid(surface.name, *_params()), ends, marks=lm.landmarks(surface))
    hist = sc.final_values_chart(ends)
    with left:
        st.vega_lite_chart(drawn_spec(chart), key="sf_r_map", width="stretch")
        st.caption("○ a random start, ● where it ended (colour: the known minimum it reached), ◇ known minima, "
                   "✚ saddles, △ maxima.")
        chart_downloads(chart, f"restarts_{surface.name}", key="sf_r_dl")
    with right:
        st.vega_lite_chart(drawn_spec(hist), key="sf_r_hist", width="stretch")
        chart_downloads(hist, f"restarts_final_{surface.name}", key="sf_r_hist_dl")
        counts = ends.groupby("end").size().rename("restarts").reset_index()
        st.dataframe(counts, hide_index=True, column_config={"end": "ended at (known minimum)"})
        csv_download(ends, "Restarts (CSV)", f"restarts_{surface.name}", "sf_r_csv")


def _restart_metrics(surface: sf.Surface, ends: pd.DataFrame) -> None:
    finite = ends["f"].notna()
    best = min(sf.value(surface, m) for m in surface.minima) if surface.minima else None
    a, b, c = st.columns(3)
    if best is not None:
        hit = int((ends.loc[finite, "f"] <= best + 1e-3).sum())
        a.metric("Reached the global minimum", f"{hit} of {len(ends)}", help=f"Final f within 0.001 of {best:.4g}.")
    b.metric("Best final f", f"{ends.loc[finite, 'f'].min():.4g}" if finite.any() else "—")
    stopped = int((ends["stopped"] != "").sum())
    c.metric("Stopped early", f"{stopped} of {len(ends)}", help="Diverged or left the map; see the CSV's `stopped`.")
