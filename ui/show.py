"""Drawing Altair charts so that a live redraw swaps the data instead of rebuilding the chart."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ui import presenter


def _renamed(node, names: dict[str, str]):
    """The spec with every {"name": old} data reference replaced by its stable name."""
    if isinstance(node, dict):
        if set(node) == {"name"} and node["name"] in names:
            return {"name": names[node["name"]]}
        return {k: _renamed(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(v, names) for v in node]
    return node


def stable_spec(chart: alt.TopLevelMixin) -> dict:
    """chart.to_dict() with its datasets named by position (playground_0, ...), not by content hash.

    Streamlit's frontend re-embeds a chart whose spec changed, but only replaces the data of one whose spec
    is the same. Altair names datasets by a hash of their content, so every redraw would look like a new
    chart. The specs are validated by the chart tests, so validation is skipped here (it costs most of the time).
    """
    spec = chart.to_dict(validate=False)
    datasets = spec.pop("datasets", {})
    names = {old: f"playground_{i}" for i, old in enumerate(datasets)}  # not data_N: Vega-Lite uses those
    spec = _renamed(spec, names)
    spec["datasets"] = {names[old]: values for old, values in datasets.items()}
    return spec


def drawn_spec(chart: alt.TopLevelMixin) -> dict:
    """The spec Streamlit draws: stable dataset names, and the presenter's style while presenting."""
    return presenter.configure(stable_spec(chart))


def show_chart(chart: alt.TopLevelMixin, key: str) -> None:
    """Draw a chart full width; redraws with new data update it in place."""
    st.vega_lite_chart(drawn_spec(chart), width="stretch", key=key)
