"""Download buttons: charts as PNG or SVG (rendered on click), tables as CSV."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

from core.charts.export import to_gif, to_png, to_svg


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


def gif_download(make_frames, name: str, key: str, label: str = "Animated GIF") -> None:
    """A button that renders the frames into a GIF with a progress bar and time estimate, then offers it."""
    cache = st.session_state.setdefault("gif_cache", {})
    if st.button(label, key=f"{key}_make", icon=":material/animated_images:",
                 help="Render the animation as a looping GIF, for a slide (a second or two per ten frames)."):
        frames = make_frames()
        bar, started = st.progress(0.0, text=f"Drawing {len(frames)} frames…"), time.monotonic()

        def progress(done: int, total: int) -> None:
            left = (time.monotonic() - started) / done * (total - done)
            bar.progress(done / total, text=f"Frame {done} of {total} · about {left:.0f} s left")

        cache[key] = to_gif(frames, progress=progress)
        bar.empty()
    if key in cache:
        st.download_button(f"Download {name}.gif", cache[key], f"{name}.gif", "image/gif", key=f"{key}_gif",
                           on_click="ignore", icon=":material/download:")
