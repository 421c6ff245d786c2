"""Train: press Train and watch the gradient norm, the error, the interpolation curve and the straying plot."""

import streamlit as st

from core.train.live import REDRAW_FAST, redraw_interval
from ui import claims_view, require_frame, session
from ui.run_panel import apply_preset, preset_caption, shown_preset
from ui.train_view import monitors, status

require_frame()
apply_preset("train")

st.title("Train")
st.caption("Pick a data set, a network and an optimizer in the sidebar, press **Train**, and watch. "
           "The learning rate, momentum and step count can change while it runs.")
preset_caption("train")

config = st.session_state.get("config")
live = session.current()

buttons = st.columns([1, 1, 1, 1, 4])
train = buttons[0].button("Train", type="primary", icon=":material/play_arrow:", key="train_start",
                          disabled=config is None, width="stretch")
if st.session_state.pop("train_autostart", False) and config is not None:  # a gallery card: train its settings
    train, reset = True, True
pause = buttons[1].button("Pause", icon=":material/pause:", key="train_pause",
                          disabled=live is None or not live.training, width="stretch")
step = buttons[2].button("Step", icon=":material/skip_next:", key="train_step", disabled=config is None,
                         help="One optimizer step.", width="stretch")
reset = buttons[3].button("Reset", icon=":material/restart_alt:", key="train_reset", disabled=config is None,
                          help="Back to step 0 with the sidebar's settings.", width="stretch")

changed = []
if live is not None and config is not None:
    changed = session.structural_changes(live, config)
    hot = session.apply_hot_changes(live, config)
    if hot:
        st.toast("Applied to the running run: " + ", ".join(session.describe_change(k, v) for k, v in hot.items()))
if config is not None and (reset or ((train or step) and (live is None or changed))):
    fresh = session.new_run(config)
    if fresh is live:  # refused (the error is shown): the click does nothing else
        train = step = reset = False
    else:
        live, changed = fresh, []
if live is not None:
    if train:
        session.start(live)
    elif pause:
        live.pause()
    elif step:
        live.step_once()
    if (train and live.training) or pause or reset:
        st.rerun()  # redraw the buttons for the new state

if live is None:
    st.info("Press **Train** to start. The defaults train a small tanh network on the two moons in a few seconds.")
    st.stop()
if changed:
    st.info(f"The sidebar now differs from this run in: {', '.join(changed)}. Press **Train** or **Reset** to "
            "start a new run with them.", icon=":material/info:")

was_training = live.training
every = st.session_state.get("redraw_every", REDRAW_FAST)


@st.fragment(run_every=every if was_training else None)
def live_view() -> None:
    grid = config or live.config
    snap = live.snapshot((grid.interp_min, grid.interp_max, grid.interp_points))
    training = snap.status == "running"
    if was_training and not training:
        st.rerun(scope="app")  # the run ended: redraw once more with the buttons and downloads enabled
    if training and redraw_interval(snap.cpu_share, every) != every:
        st.session_state["redraw_every"] = redraw_interval(snap.cpu_share, every)
        st.rerun(scope="app")  # drawing was starving the training (or no longer is): change the pace
    status(snap, every if training else None)
    preset = shown_preset("train")
    if preset is not None:
        claims_view.for_live(preset, snap)
    monitors(live, snap, training)


live_view()
