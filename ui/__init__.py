"""Streamlit helpers shared by app.py and the pages (core/ stays free of Streamlit).

Streamlit runs a `pages/` folder beside the entry script as a legacy multipage app until the entry
script has once called st.navigation. A fresh server's first request for /train would then run
pages/train.py without app.py (no sidebar, no navigation). Each page calls require_frame() first,
which switches the legacy mode off and reruns through app.py.
"""

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_frame() -> None:
    """Rerun through app.py when the legacy pages mode started this page directly."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_file(stem: str) -> Path:
    """The absolute path of pages/STEM.py: page links resolve against the entry script's folder, which is cloud/
    on Streamlit Community Cloud (cloud/streamlit_app.py) and the repository root locally."""
    return Path(__file__).resolve().parents[1] / "pages" / f"{stem}.py"


def address_problem(raw: str | None, value, label: str, lo, hi) -> str | None:
    """The sentence for a number the address gave that its bound widget did not take (Streamlit then shows the
    widget's default without a word), else None. raw: the query parameter's text; value: what the widget holds."""
    if raw is None:
        return None
    try:
        same = float(raw) == float(value)
    except ValueError:
        same = False
    return None if same else (f"The address gives {label} = {raw!r}, which is not a number from {lo:g} to {hi:g}; "
                              f"the box shows {value:g} instead: choose a value there to go on.")
