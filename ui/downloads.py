"""Download buttons: charts as PNG or SVG (rendered on click), tables as CSV."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.charts.export import to_png, to_svg


def chart_downloads(chart: alt.TopLevelMixin, name: str, key: str) -> None:
    """Two small buttons under a chart; the image is made only when clicked."""
    png, svg = st.columns(2)
    png.download_button("PNG", lambda: to_png(chart), f"{name}.png", "image/png", key=f"{key}_png",
                        on_click="ignore", icon=":material/download:", width="stretch")
    svg.download_button("SVG", lambda: to_svg(chart), f"{name}.svg", "image/svg+xml", key=f"{key}_svg",
                        on_click="ignore", icon=":material/download:", width="stretch")


def csv_download(frame: pd.DataFrame, label: str, name: str, key: str) -> None:
    st.download_button(label, lambda: frame.to_csv(index=False), f"{name}.csv", "text/csv", key=key,
                       on_click="ignore", icon=":material/download:")
