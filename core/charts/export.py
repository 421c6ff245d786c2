"""Charts as PNG or SVG files, through vl-convert (no browser), and animated GIFs of them for slides."""

from __future__ import annotations

import io

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc
from PIL import Image


def to_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (vl-convert, no browser)."""
    return vlc.vegalite_to_png(chart.to_json(), scale=scale)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG document."""
    return vlc.vegalite_to_svg(chart.to_json())


def to_gif(charts, seconds_per_frame: float = 0.2, scale: float = 1.0, progress=None) -> bytes:
    """An animated GIF (looping) of the charts as frames, each drawn by vl-convert and centred on a white canvas of
    the largest frame's size; progress(done, total) after each frame."""
    charts = list(charts)
    images = []
    for i, chart in enumerate(charts, start=1):
        images.append(Image.open(io.BytesIO(to_png(chart, scale))).convert("RGB"))
        if progress is not None:
            progress(i, len(charts))
    if not images:
        raise ValueError("an animation needs at least one frame")
    size = (max(im.width for im in images), max(im.height for im in images))
    frames = []
    for im in images:
        canvas = Image.new("RGB", size, "white")
        canvas.paste(im, ((size[0] - im.width) // 2, (size[1] - im.height) // 2))
        frames.append(canvas.quantize(colors=255))
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=int(seconds_per_frame * 1000))
    return out.getvalue()


def growth(make_chart, frame: pd.DataFrame, column: str = "step", frames: int = 30) -> list:
    """make_chart(rows up to a value of `column`) at `frames` evenly spaced values: a chart that grows as the run
    did (the last frame is the whole frame)."""
    values = np.unique(frame[column].to_numpy())
    if not len(values):
        return []
    picks = values[np.unique(np.linspace(0, len(values) - 1, min(frames, len(values))).round().astype(int))]
    return [make_chart(frame[frame[column] <= v]) for v in picks]


def frame_steps(last: int, frames: int = 30) -> list[int]:
    """At most `frames` evenly spaced steps from 0 to last, both included."""
    return sorted({int(round(s)) for s in np.linspace(0, last, min(frames, last + 1))})
