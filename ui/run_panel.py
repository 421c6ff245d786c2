"""The runs panel of the Interpolation and Straying pages: queue progress, the session's runs, and training more."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import presets
from core.model.config import MAX_SEED
from ui import claims_view, runs
from ui.sidebar import settings, widget_values

POLL = 0.5  # seconds between queue checks while runs train


def queue_status() -> None:
    """A progress bar while queued runs train; reruns the whole page when the last one is done."""
    busy = bool(runs.queued())

    @st.fragment(run_every=POLL if busy else None)
    def _poll() -> None:
        problem = runs.advance_queue()
        if problem:
            st.warning(problem, icon=":material/warning:")
        progress = runs.queue_progress()
        if progress is None:
            if busy:
                st.rerun(scope="app")  # the last run is done: draw the page with it
            return
        bar, stop = st.columns([5, 1])
        bar.progress(progress[0], text=progress[1])
        if stop.button("Cancel", key="queue_cancel", icon=":material/cancel:", help="Stop training the queued runs."):
            runs.cancel_queue()
            st.rerun(scope="app")

    _poll()


def apply_preset(page: str) -> None:
    """If the URL asks for a preset (?preset=NAME, from the gallery), queue its runs and set this page's widgets."""
    name = st.query_params.get("preset")
    if name is None or st.session_state.get("preset_applied") == name:
        return  # applied once in this session; the parameter stays, so the address bar keeps the card's link
    st.session_state["preset_applied"] = name
    try:
        preset = presets.get(name)
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if preset.page != page:
        st.error(f"Preset {name} belongs on the {preset.page} page.", icon=":material/error:")
        return
    for key, value in preset.view.items():  # before the page draws its widgets (and settings())
        st.session_state[key] = value
    if page == "train":  # the view holds the sidebar's settings: train them on the page's run
        st.session_state["train_autostart"] = True
    elif preset.runs:  # the sidebar shows (and "Train more" trains) the settings of the figure's first run
        for key, value in widget_values(preset.configs()[0]).items():
            st.session_state[key] = value
        names = runs.enqueue(preset.configs())
        st.session_state[f"{page}_wanted"] = names
        st.session_state["preset_runs"] = names
    st.session_state["preset_shown"] = preset
    st.rerun()


def shown_preset(page: str) -> presets.Preset | None:
    preset = st.session_state.get("preset_shown")
    return preset if preset is not None and preset.page == page else None


def preset_caption(page: str) -> None:
    """The preset's caption and, on the pages that draw runs or analytic problems, its claims checked."""
    preset = shown_preset(page)
    if preset is None:
        return
    st.success(f"**{preset.figure} · {preset.title}.** {preset.caption}", icon=":material/lightbulb:")
    if page != "train":
        claims_view.for_records(preset)


def wanted(page: str) -> list[str] | None:
    """The run names a preset asked this page to show, once they have all finished; None before (or never)."""
    names = st.session_state.get(f"{page}_wanted")
    if not names:
        return None
    pending = {job["name"] for job in runs.queued()}
    if pending & set(names):
        return None
    del st.session_state[f"{page}_wanted"]
    available = runs.available()
    return [n for n in names if n in available]


def runs_table(records: dict) -> None:
    if records:
        frame = pd.DataFrame([runs.describe_record(r) for r in records.values()])
        frame = frame.drop(columns=[c for c in ("val error", "val RMSE") if frame[c].isna().all()])
        st.dataframe(frame, hide_index=True, width="stretch", column_config={
            "train loss": st.column_config.NumberColumn(format="%.4g", help="Mean cross-entropy on the train split "
                                                        "(mean squared error for a regression)"),
            "val error": st.column_config.NumberColumn(format="percent", help="Validation classification error"),
            "val RMSE": st.column_config.NumberColumn(format="%.4g", help="Validation root mean squared error, in the "
                                                      "label's units (a regression)"),
            "steps": st.column_config.NumberColumn(help="Optimizer steps taken"),
        })


def train_more(config) -> None:
    """Queue the sidebar's settings with one or more seeds (for solution → solution, or overlays)."""
    if config is None:
        return
    with st.form("train_more", border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        seeds = left.text_input("Seeds", "0", key="more_seeds",
                                help="Comma-separated initialisation seeds, e.g. 0,1 for two solutions to compare.")
        go = right.form_submit_button("Train", icon=":material/play_arrow:", width="stretch",
                                      help="Train the sidebar's settings once per seed, one after another.")
    if go:
        try:
            values = [int(s) for s in seeds.replace(" ", "").split(",") if s]
            if not values or len(values) > 8 or not all(0 <= v <= MAX_SEED for v in values):
                raise ValueError
        except ValueError:
            st.error(f"Seeds must be 1 to 8 whole numbers between 0 and {MAX_SEED:,}, separated by commas.")
            return
        runs.enqueue([config.replace(seed=v) for v in values])
        st.rerun()


TRAIN_NOW = "train"  # ?train=now: train the sidebar's settings once on arrival (the gallery's §8.2 cards)


def train_on_arrival(config) -> None:
    """A link with ?train=now queues one run of the sidebar's settings (which the link may also set), once: the
    parameter is then removed, so a reload or a copied address does not train again."""
    if st.query_params.get(TRAIN_NOW) != "now":
        return
    del st.query_params[TRAIN_NOW]
    if config is not None:  # else the sidebar says what is wrong with the link's settings
        runs.enqueue([config])


def panel() -> dict:
    """The whole runs panel, with the training settings in the sidebar; returns the available runs by name."""
    config = settings()
    train_on_arrival(config)
    queue_status()
    records = runs.available()
    with st.expander(f"This session's runs ({len(records)})", expanded=not records, icon=":material/list:"):
        runs_table(records)
        st.caption("Train runs with the sidebar's settings here, or on the **Train** page (its run appears here). "
                   "The presets on the Home page train the runs of each figure.")
        train_more(config)
    return records
