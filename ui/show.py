"""Drawing Altair charts so that a live redraw is cheap and swaps the data instead of rebuilding the chart."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ui import presenter

_PARTS = ("layer", "hconcat", "vconcat", "concat")  # the ways our charts nest others


def _named(chart, frames: dict[str, pd.DataFrame]):
    """A shallow copy of `chart` whose data frames are references to named datasets, collected into `frames` and
    named by position (playground_0, ...; not data_N, which Vega-Lite uses). The same frame object gets one name."""
    out = chart.copy(deep=False)
    data = chart["data"] if "data" in chart._kwds else alt.Undefined
    if isinstance(data, pd.DataFrame):
        name = next((n for n, f in frames.items() if f is data), None)
        if name is None:
            name = f"playground_{len(frames)}"
            frames[name] = data
        out["data"] = alt.NamedData(name=name)
    for part in _PARTS:
        if part in chart._kwds and chart[part] is not alt.Undefined:
            out[part] = [_named(child, frames) for child in chart[part]]
    return out


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    """±inf as missing, as Altair's own conversion does (a diverged run's loss would otherwise draw at infinity)."""
    floats = frame.select_dtypes("float")
    return frame.replace([np.inf, -np.inf], np.nan) if np.isinf(floats.to_numpy()).any() else frame


def stable_spec(chart: alt.TopLevelMixin) -> dict:
    """chart.to_dict() with its data frames passed as named datasets, named by position, not by content.

    Streamlit's frontend re-embeds a chart whose spec changed, but only replaces the data of one whose spec is the
    same. Altair names datasets by a hash of their content, so every redraw would look like a new chart. The frames
    stay frames (Streamlit sends them as Arrow) instead of going through Altair's JSON records, and validation is
    skipped (the chart tests validate the specs): together most of the time of a redraw.
    """
    frames: dict[str, pd.DataFrame] = {}
    spec = _named(chart, frames).to_dict(validate=False)
    spec["datasets"] = {name: _finite(frame) for name, frame in frames.items()}
    return spec


def drawn_spec(chart: alt.TopLevelMixin) -> dict:
    """The spec Streamlit draws: stable dataset names, and the presenter's style while presenting."""
    return presenter.configure(stable_spec(chart))


def show_chart(chart: alt.TopLevelMixin, key: str) -> None:
    """Draw a chart full width; redraws with new data update it in place."""
    st.vega_lite_chart(drawn_spec(chart), width="stretch", key=key)
