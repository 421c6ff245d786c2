"""This browser session's live run, kept in st.session_state so it survives page switches."""

from __future__ import annotations

import streamlit as st

from core.model.config import HOT_FIELDS, TrainConfig
from core.train.live import LiveRun
from ui import runs

KEY = "live_run"


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
        live.set_hot(**changes)
    return changes


def describe_change(name: str, value) -> str:
    """'lr = 0.1', 'curvature_monitor on': one hot change for a toast."""
    if isinstance(value, bool):
        return f"{name} {'on' if value else 'off'}"
    return f"{name} = {value:g}"


def new_run(config: TrainConfig) -> LiveRun | None:
    """Replace this session's run with a fresh one at step 0. If that is impossible, say why and keep the
    old run (returned, or None when there was none)."""
    old = current()
    try:
        live = LiveRun(config)
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        return old
    if old is not None:
        runs.archive(old)  # the Interpolation and Straying pages can still use it
        old.close()
    st.session_state[KEY] = live
    st.session_state[runs.LIVE_NAME] = runs.next_name(config)
    return live


def start(live: LiveRun) -> None:
    """Start training, explaining a refusal (server busy) instead of failing."""
    try:
        live.start()
    except ValueError as exc:
        st.warning(str(exc))
