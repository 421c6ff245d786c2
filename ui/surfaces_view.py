"""The Surfaces page's sections: the surface picker, the race with its animation and readouts (random restarts:
ui.surface_restarts).

Widget keys start with sf_. The surface, start, steps, noise and seed are bound to the URL; the optimizer table
(one per surface, so each keeps its own edits) is not.
"""

from __future__ import annotations

import json
import math
import time

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
FLUSH = 0.05  # seconds a frame waits after drawing, so that all of it reaches the browser (see _animation)
SHOWN = "sf_shown"  # session state: the step of the frame on screen, the one the slider, title and readouts show
PLAYED = "sf_played"  # session state: whether the last full run was playing (to tell Play and Pause presses)


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
def surface_grid(name: str, condition: float, angle: float) -> pd.DataFrame:
    return sf.grid(sf.make(name, condition, angle))


def grid_for(surface: sf.Surface) -> pd.DataFrame:
    """The surface's value grid at the page's condition and angle."""
    return surface_grid(surface.name, *surface_params())


def surface_params() -> tuple[float, float]:
    return float(st.session_state.get("sf_condition", 10.0)), float(st.session_state.get("sf_angle", 30.0))


@st.cache_data(show_spinner="Racing…", max_entries=32)
def _race(name: str, condition: float, angle: float, runners: tuple, start: tuple, steps: int, noise: float,
          seed: int) -> tuple[pd.DataFrame, dict]:
    frame = rc.race(sf.make(name, condition, angle), list(runners), start, steps, noise, seed)
    return frame, dict(frame.attrs["stopped"])


def play_step(shown: int, steps: int) -> int:
    """The step of the animation's next frame after the frame at `shown`: about FRAMES frames in all, then `steps`."""
    return min(steps, max(0, shown) + max(1, steps // FRAMES))


def _clamped(step, steps: int) -> int:
    return min(steps, max(0, int(step)))


def _play_or_pause(playing: bool, steps: int) -> None:
    """On a full run: Play starts from the slider's step (from 0 at its end); Pause, and the end of the animation,
    leave the slider at the frame on screen."""
    was = st.session_state.get(PLAYED, False)
    st.session_state[PLAYED] = playing
    if playing and not was:
        start = _clamped(st.session_state.get("sf_step", steps), steps)
        st.session_state[SHOWN] = 0 if start >= steps else start  # Play at the end starts over
    elif was and not playing:
        st.session_state["sf_step"] = _clamped(st.session_state.get(SHOWN, steps), steps)


def current_step(playing: bool, steps: int) -> int:
    """The step of the frame to draw, kept in session state under SHOWN: the one number that the slider, the map's
    title, f's rule and the readouts all read.

    While playing it advances from the last frame drawn; the slider only shows it (a disabled slider with a key per
    frame). It never counts from a slider value that the browser sent: ticks come faster than a frame is drawn, so
    a queued tick carries the value the browser had before the last frame arrived. When not playing it is the
    slider sf_step (a scrub), which ticks queued while playing do not carry."""
    if playing:
        step = play_step(int(st.session_state.get(SHOWN, 0)), steps)
    else:
        step = _clamped(st.session_state.get("sf_step", steps), steps)
    st.session_state[SHOWN] = step
    return step


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
        frame, stopped = _race(surface.name, *surface_params(), tuple(runners), (float(x), float(y)), int(steps),
                               float(noise), int(seed))
    except ValueError as exc:
        st.error(f"Fix this setting: {exc}", **ERROR)
        return
    for name, reason in stopped.items():
        st.warning(f"**{name}** {reason}.", icon=":material/warning:")
    _animation(surface, frame, (float(x), float(y)), int(steps))
    chart = sc.race_chart(surface, grid_for(surface), frame, start=(float(x), float(y)),
                          marks=lm.landmarks(surface))
    a, b = st.columns(2)
    with a:
        chart_downloads(chart, f"surface_{surface.name}", key="sf_dl")
    with b:
        csv_download(frame, "Paths (CSV)", f"path_{surface.name}", "sf_csv")
        grid, marks, start = grid_for(surface), lm.landmarks(surface), (float(x), float(y))
        gif_download(lambda: [sc.race_chart(surface, grid, frame, s, start, marks=marks)
                              for s in export.frame_steps(int(frame["step"].max()))],
                     f"race_{surface.name}", key="sf_gif", label="Animated GIF (the race)")


def _animation(surface: sf.Surface, frame: pd.DataFrame, start, steps: int) -> None:
    """Play / pause and the step slider; the map, f against step and the readouts at that step.

    While playing, a tick reruns the fragment every TICK seconds, and a frame takes longer than that to draw, so the
    ticks queue. Each frame computes everything first, sends it in one burst and waits FLUSH seconds: a fragment
    run that starts drops what the previous run had not yet sent, which would leave the slider, the map and the
    readouts at different frames."""
    if st.session_state.pop("sf_stop_play", False):
        st.session_state["sf_play"] = False
    if st.session_state.get("sf_step", steps) > steps or "sf_step" not in st.session_state:
        st.session_state["sf_step"] = steps
    playing = st.toggle("Play", key="sf_play", help="Animate the race step by step.")
    _play_or_pause(playing, steps)

    @st.fragment(run_every=TICK if playing else None)
    def _frame() -> None:
        if st.session_state.get("sf_play") != playing:  # a tick queued before Play or Pause carries the old value:
            st.session_state["sf_play"] = playing  # Play is outside this fragment, so only a full run changes it
        step = current_step(playing, steps)
        names = list(dict.fromkeys(frame["optimizer"]))
        if st.session_state.get("sf_readout") not in names:
            st.session_state.pop("sf_readout", None)
        readout = readout_text(surface, frame, step, st.session_state.get("sf_readout", names[0]))
        race_map = live_title(drawn_spec(sc.race_chart(surface, grid_for(surface), frame, step, start,
                                                       selectable=True, marks=lm.landmarks(surface))), surface)
        loss = drawn_spec(sc.loss_chart(frame, step))
        # The containers are laid out first and filled in the order the browser is slowest to show them: the map
        # (its title), the readouts, the slider, then what carries no step number.
        top = st.container()
        left, right = st.columns([3, 2])
        map_box, loss_box, pick_box, readout_box = left.container(), *(right.container() for _ in range(3))
        event = map_box.vega_lite_chart(race_map, on_select="rerun", key="sf_map", width="stretch")
        readout_box.markdown(readout, help="A critical point has ‖∇f‖ ≤ 1e-5; its kind follows the signs of the "
                                           "Hessian's eigenvalues (a zero one makes it degenerate).")
        if playing:
            # a new slider for each frame: one the browser mounts shows its value at once, while a value set on a
            # mounted slider lands a few repaints later
            top.slider("Step", 0, steps, step, key=f"sf_step_playing_{step}", disabled=True,
                       help="Pause to pick a step.")
        else:
            top.slider("Step", 0, steps, key="sf_step", help="Drag to any step; Play animates from here.")
        loss_box.vega_lite_chart(loss, key="sf_loss", width="stretch")
        pick_box.selectbox("Readouts at the current point of", names, key="sf_readout")
        left.caption("◇ minimum, ✚ saddle, △ maximum, ○ start, ● where each optimizer is at this step. "
                     "Click a cell (off the paths) to start there.")
        _take_click(event)
        if playing:
            time.sleep(FLUSH)
            if step >= steps:
                st.session_state["sf_stop_play"] = True
                st.rerun(scope="app")

    _frame()


def live_title(spec: dict, surface: sf.Surface) -> dict:
    """The map's drawn spec with its title read from its own data (the column sc.SHOWN of the current points).

    The title's step then comes from the same frame as the points, and the spec is the same from frame to frame, so
    the browser swaps the data in one redraw instead of rebuilding the chart, which lands after the slider and the
    readouts. Exports keep race_chart's plain title."""
    name = next(n for n, f in spec["datasets"].items() if sc.SHOWN in f.columns)
    rows = f"data('{name}')"
    text = (f"{json.dumps(f'{surface.title}: paths at step ', ensure_ascii=False)} + "
            f"(length({rows}) ? format({rows}[0].{sc.SHOWN}, ',') : '')")
    return {**spec, "title": {"text": {"expr": text}}}


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


def readout_text(surface: sf.Surface, frame: pd.DataFrame, step: int, name: str) -> str:
    """Markdown: where optimizer `name` is at `step` (where it stopped, if it stopped before), f, ∇f and the
    Hessian's eigenvalues there. It names `step` itself, as the slider and the map's title do."""
    row = rc.at_step(frame, step).set_index("optimizer").loc[name]
    r = lm.readout(surface, (row["x"], row["y"]))
    shape = r.kind if r.critical else {"minimum": "convex (bowl)", "maximum": "concave (cap)", "saddle": "saddle",
                                       "degenerate": "flat in one direction"}[r.kind]
    what = f"a **{shape}**" if r.critical else f"not a critical point; the surface curves like a **{shape}** here"
    stopped = f" (stopped at step {int(row['step']):,})" if int(row["step"]) < step else ""
    return f"""**{name}** at step {step:,}{stopped}: ({row['x']:.4g}, {row['y']:.4g}), f = {row['f']:.4g}
- gradient ∇f = ({r.grad[0]:.4g}, {r.grad[1]:.4g}), ‖∇f‖ = {r.grad_norm:.3g}
- Hessian eigenvalues λ₁ = {r.eigenvalues[0]:.4g}, λ₂ = {r.eigenvalues[1]:.4g}
- {what}"""
