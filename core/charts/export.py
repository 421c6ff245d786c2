"""Charts as PNG or SVG files, through vl-convert (no browser)."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc


def to_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (vl-convert, no browser)."""
    return vlc.vegalite_to_png(chart.to_json(), scale=scale)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG document."""
    return vlc.vegalite_to_svg(chart.to_json())
