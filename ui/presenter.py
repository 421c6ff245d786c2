"""Presenter mode (?present=true, or the sidebar's toggle): for a projector at the back of a room. The sidebar and
the secondary controls (downloads) go, type and lines get large and dark, legends sit below the plots."""

from __future__ import annotations

import streamlit as st

KEY = "present"
DARK = "#1a1a1a"
CHART_CONFIG = {  # merged into every chart's Vega-Lite config while presenting
    "title": {"fontSize": 22, "subtitleFontSize": 16, "color": DARK, "subtitleColor": DARK},
    "axis": {"labelFontSize": 15, "titleFontSize": 16, "labelColor": DARK, "titleColor": DARK},
    "legend": {"labelFontSize": 15, "titleFontSize": 15, "labelColor": DARK, "titleColor": DARK, "orient": "bottom",
               "symbolSize": 200},
    "line": {"strokeWidth": 3.5},
    "rule": {"strokeWidth": 2.5},
}
CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stDownloadButton"] {display: none;}
[data-testid="stMainBlockContainer"] {padding-top: 1.5rem; max-width: 100%;}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {font-size: 1.25rem; color: #1a1a1a;}
[data-testid="stCaptionContainer"] p {font-size: 1.1rem; color: #333;}
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p {font-size: 2.6rem;}
[data-testid="stMetricLabel"] p {font-size: 1.1rem;}
</style>"""


def on() -> bool:
    return bool(st.session_state.get(KEY))


def toggle() -> None:
    """The sidebar's switch, bound to the URL so that a slide can link a page in presenter mode."""
    st.toggle("Presenter mode", key=KEY, bind="query-params",
              help="For a projector: hides this sidebar and the downloads, enlarges type and lines. The link "
              "(?present=true) can go on a slide.")


def apply() -> None:
    """While presenting: the page's style, and the one way back (the sidebar is hidden)."""
    if not on():
        return
    st.html(CSS)
    st.button("Leave presenter mode", key="present_leave", icon=":material/close_fullscreen:", on_click=_leave)


def _leave() -> None:
    st.session_state[KEY] = False  # in a callback: before the sidebar's toggle is drawn again


def configure(spec: dict) -> dict:
    """A chart spec with the presenter's config merged in (the chart's own settings for other keys stay)."""
    if not on():
        return spec
    config = dict(spec.get("config", {}))
    for section, values in CHART_CONFIG.items():
        config[section] = {**config.get(section, {}), **values}
    return {**spec, "config": config}
