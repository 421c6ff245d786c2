"""Train: press Train and watch the gradient norm, the error, the interpolation curve and the straying plot."""

import time

import streamlit as st

from core.train.live import REDRAW_FAST, CapacityError, redraw_interval
from ui import claims_view, pace, require_frame, session
from ui.run_panel import apply_preset, preset_caption, shown_preset
from ui.sidebar import settings
from ui.train_view import data_preview, monitors, status, waiting

require_frame()
apply_preset("train")

st.title("Train")
st.caption("Pick a data set, a network and an optimizer in the sidebar, press **Train**, and watch. "
           "The learning rate, momentum and step count can change while it runs.")
preset_caption("train")

if st.session_state.pop("train_autostart", False):  # a gallery card: train its settings
    session.request("reset")
    session.request("train")
if session.pending():  # app.py has carried the clicks out; what is left here is a gallery card's
    session.perform()
config = settings()
live = session.current()
changed = []
if live is not None and config is not None:
    changed = session.structural_changes(live, config)
    hot = session.apply_hot_changes(live, config)
    if hot:
        st.toast("Applied to the running run: " + ", ".join(session.describe_change(k, v) for k, v in hot.items()))

# The buttons only queue what they ask for (session.request); the page does it above, then draws the result.
buttons = st.columns([1, 1, 1, 1, 4])
buttons[0].button("Train", type="primary", icon=":material/play_arrow:", key="train_start", on_click=session.request,
                  args=("train",), disabled=config is None, width="stretch")
buttons[1].button("Pause", icon=":material/pause:", key="train_pause", on_click=session.request, args=("pause",),
                  disabled=live is None or not live.training, width="stretch")
buttons[2].button("Step", icon=":material/skip_next:", key="train_step", on_click=session.request, args=("step",),
                  disabled=config is None, help="One optimizer step.", width="stretch")
buttons[3].button("Reset", icon=":material/restart_alt:", key="train_reset", on_click=session.request,
                  args=("reset",), disabled=config is None, help="Back to step 0 with the sidebar's settings.",
                  width="stretch")
for kind, message in session.notices():
    (st.warning if kind == "warning" else st.error)(message, icon=":material/error:")

if live is None:
    st.info("Press **Train** to start. The defaults train a small tanh network on the two moons in a few seconds.")
    if config is not None:
        left, _ = st.columns(2)
        with left:
            data_preview(config)
    st.stop()
if changed:
    st.info(f"The sidebar now differs from this run in: {', '.join(changed)}. Press **Train** or **Reset** to "
            "start a new run with them.", icon=":material/info:")

if live.waiting:  # no trainer has room for another run: this run starts on its own when one has
    waiting(live)
    st.stop()

was_training = live.training
FIRST_CHART_WAIT = 1.0  # seconds the page waits for a run it just started to take its first steps
every = st.session_state.get("redraw_every", REDRAW_FAST)


@st.fragment(run_every=every if was_training else None)
def live_view() -> None:
    with pace.measured():  # this redraw's CPU time joins the server's drawing load (ui.pace)
        draw_live()


def draw_live() -> None:
    grid = config or live.config
    try:
        snap = live.snapshot((grid.interp_min, grid.interp_max, grid.interp_points))
    except CapacityError as exc:  # parked before its page drew it, and no trainer has room: wait for one
        waiting(live, str(exc))
        return
    except ValueError as exc:  # the run cannot go on (its saved state is damaged, say): one sentence, never a trace
        st.error(str(exc), icon=":material/error:")
        return
    training = snap.status == "running"
    if training and snap.step == 0:  # just started: a trainer gives a new run its first slice at once (core.train.host)
        deadline = time.monotonic() + FIRST_CHART_WAIT  # so this redraw (the click's) can show the first chart
        while live.touch().step == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        snap = live.snapshot((grid.interp_min, grid.interp_max, grid.interp_points))
        training = snap.status == "running"
    if was_training != training:
        st.rerun(scope="app")  # it ended (or started since the buttons were drawn): redraw them, and the pace
    pace_now = redraw_interval(snap.cpu_share, every, pace.load())
    if training and pace_now != every:
        st.session_state["redraw_every"] = pace_now
        st.rerun(scope="app")  # drawing starves the training or the server (or no longer does): change the pace
    status(snap, every if training else None)
    if snap.step == 0 and not training:  # nothing to chart yet: the page is cleared at once (no six empty charts)
        st.info("Step 0: press **Train**, or **Step** for one step. The charts start with the first step.",
                icon=":material/info:")
        left, _ = st.columns(2)
        with left:
            data_preview(grid)
        return
    preset = shown_preset("train")
    if preset is not None:
        claims_view.for_live(preset, snap)
    monitors(live, snap, training)


live_view()
