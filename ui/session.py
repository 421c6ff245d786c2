"""This browser session's live run, kept in st.session_state so it survives page switches."""

from __future__ import annotations

import streamlit as st

from core.model.config import HOT_FIELDS, TrainConfig
from core.train.live import CapacityError, LiveRun
from ui import heartbeat, runs
from ui.sidebar import config_from_widgets

KEY = "live_run"
NOTICES, REQUESTS, BATCH = "train_notices", "train_requests", "train_batch"


def current() -> LiveRun | None:
    return st.session_state.get(KEY)


def structural_changes(live: LiveRun, config: TrainConfig) -> list[str]:
    """Fields that differ from the run's and need a new run."""
    old, new = live.config.to_dict(), config.to_dict()
    return [k for k in new if k not in HOT_FIELDS and new[k] != old[k] and not k.startswith("interp_")]


def apply_hot_changes(live: LiveRun, config: TrainConfig) -> dict:
    """Push learning rate, momentum, ... changes into the running run; returns what changed."""
    old, new = live.config.to_dict(), config.to_dict()
    changes = {k: new[k] for k in HOT_FIELDS if new[k] != old[k]}
    if changes:
        try:
            live.set_hot(**changes)
        except CapacityError:  # a parked run, and no trainer has room: the next page run tries again
            return {}
    return changes


def describe_change(name: str, value) -> str:
    """'lr = 0.1', 'curvature_monitor on': one hot change for a toast."""
    if isinstance(value, bool):
        return f"{name} {'on' if value else 'off'}"
    return f"{name} = {value:g}"


def new_run(config: TrainConfig) -> LiveRun:
    """Replace this session's run with a fresh one at step 0; a ValueError (and the old run stays) when impossible.
    The old run is kept for the other pages and taken off its trainer in the background (runs.retire)."""
    old, name = current(), st.session_state.get(runs.LIVE_NAME)
    live = LiveRun(config)
    if old is not None:
        runs.retire(old, name)
    st.session_state[KEY] = live
    heartbeat.watch(live)  # alive while this tab is open, however seldom the browser redraws it
    st.session_state[runs.LIVE_NAME] = runs.next_name(config)
    return live


ORDER = {"reset": 0, "step": 1, "train": 2, "pause": 3}  # clicks that arrive in one rerun: the order they mean
WORKING = {"train": "Starting the training…", "pause": "Pausing…", "step": "Taking one step…",
           "reset": "Starting a new run at step 0…"}  # what the page says at once while it carries a click out


def request(action: str) -> None:
    """The on_click callback of the Train page's buttons (train, pause, step, reset): queue the action. Callbacks
    run before the page is drawn and are never cut short by a later click, so no click is lost; the page carries
    the queue out in order (perform()), after it has shown that it is working. Clicks that Streamlit merges into
    one rerun come without their order: Reset goes before Train ("start again"), and Pause last."""
    batch = st.session_state.get(BATCH, 0)
    st.session_state.setdefault(REQUESTS, []).append((batch, ORDER[action], action))
    st.session_state[REQUESTS].sort()


def pending() -> list[str]:
    return [action for _, _, action in st.session_state.get(REQUESTS, [])]


def perform() -> None:
    """Carry out the queued actions in order. Each leaves the queue before it starts: a click during the work
    interrupts the page only between actions (at its next element), and the next page run goes on with the rest."""
    queue = st.session_state.get(REQUESTS, [])
    st.session_state[BATCH] = st.session_state.get(BATCH, 0) + 1  # later clicks come after these
    while queue:
        act(queue.pop(0)[2])


def act(action: str) -> None:
    """Train, pause, step or reset this session's run, with the sidebar's settings as they are now. What went wrong
    is kept for the page to show (notices())."""
    config, live = config_from_widgets(), current()
    if config is None:  # the sidebar says what is wrong with its settings
        return
    try:
        if action == "reset" or (action in ("train", "step") and (live is None or structural_changes(live,
                                                                                                     config))):
            live = new_run(config)
        if action == "train":
            live.start()
        elif action == "pause" and live is not None:
            live.pause()
        elif action == "step":
            live.step_once()
    except CapacityError as exc:  # no trainer has room for the run yet
        st.session_state.setdefault(NOTICES, []).append(("warning", str(exc)))
    except ValueError as exc:  # a refused config (e.g. Newton on too many parameters)
        st.session_state.setdefault(NOTICES, []).append(("error", str(exc)))


def notices() -> list[tuple[str, str]]:
    """What the last clicks could not do, as (kind, message), once."""
    return st.session_state.pop(NOTICES, [])
