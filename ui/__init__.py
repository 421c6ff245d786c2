"""Streamlit helpers shared by app.py and the pages (core/ stays free of Streamlit).

Streamlit runs a `pages/` folder beside the entry script as a legacy multipage app until the entry
script has once called st.navigation. A fresh server's first request for /train would then run
pages/train.py without app.py (no sidebar, no navigation). Each page calls require_frame() first,
which switches the legacy mode off and reruns through app.py.
"""

import math
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.pages_manager import PagesManager

DROPPED = "link_dropped"  # session key: {parameter: text} that drop_unusable_numbers took out of this run's link


def require_frame() -> None:
    """Rerun through app.py when the legacy pages mode started this page directly."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_file(stem: str) -> Path:
    """The absolute path of pages/STEM.py: page links resolve against the entry script's folder, which is cloud/
    on Streamlit Community Cloud (cloud/streamlit_app.py) and the repository root locally."""
    return Path(__file__).resolve().parents[1] / "pages" / f"{stem}.py"


def url_number(raw) -> float | None:
    """The one conversion of a link's text to a number: a finite float, or None for anything else (not a number,
    NaN, or beyond the floats: 1e400, inf, a run of 5,000 nines all read as infinity)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def unusable_number(raw) -> bool:
    """Text that reads as an infinite number (1e400, inf, a run of 5,000 nines). Streamlit seeds a bound whole-number
    box from the link with int(float(text)), which raises OverflowError on infinity (and a ValueError, which it
    handles, on NaN or text), so such a value must leave the link before any widget is drawn."""
    try:
        return math.isinf(float(raw))
    except (TypeError, ValueError):
        return False


def drop_unusable_numbers() -> None:
    """Take every unusable_number out of the link, keep it in st.session_state[DROPPED] for the next run's messages,
    and rerun: Streamlit seeds widgets from the address a run starts with, so the cleaned address needs a new run.
    app.py calls this before drawing any widget, and forgets DROPPED when that next run ends."""
    bad = {k: st.query_params[k] for k in st.query_params if unusable_number(st.query_params[k])}
    dropped = {}
    for name, text in bad.items():
        try:  # Streamlit refuses to delete a parameter a widget of an earlier run is bound to
            del st.query_params[name]
        except StreamlitAPIException:
            continue
        dropped[name] = text
    if dropped:  # only then: a rerun with the same address would come back here
        st.session_state[DROPPED] = {**st.session_state.get(DROPPED, {}), **dropped}
        st.rerun()


def shown(raw) -> str:
    """A link's text for a message, cut short (core.model.config.cut: imported here, not at the top, so that
    ui/launch.py, which imports this package, stays free of torch)."""
    from core.model.config import cut

    return cut(str(raw))


def link_values() -> dict[str, str]:
    """The link's parameters as they came: the address now, with those drop_unusable_numbers took out of it."""
    return {**st.session_state.get(DROPPED, {}), **{k: st.query_params[k] for k in st.query_params}}


def dropped_note(skip) -> None:
    """A warning naming the dropped parameters that are not in `skip` (names whose page says why it ignored them,
    as the sidebar does for the training settings)."""
    names = [f"`{k}={shown(v)}`" for k, v in st.session_state.get(DROPPED, {}).items() if k not in skip]
    if names:
        st.warning(f"This link had settings the app could not use: {', '.join(names)} "
                   f"{'was' if len(names) == 1 else 'were'} ignored, as {'it is' if len(names) == 1 else 'they are'} "
                   "not a finite number; the page shows its defaults instead.", icon=":material/link_off:")


def address_problem(raw: str | None, value, label: str, lo, hi) -> str | None:
    """The sentence for a number the address gave that its bound widget did not take (Streamlit then shows the
    widget's default without a word), else None. raw: the query parameter's text; value: what the widget holds."""
    if raw is None:
        return None
    number = url_number(raw)
    same = number is not None and number == float(value)
    return None if same else (f"The address gives {label} = {shown(raw)!r}, which is not a number from {lo:g} to "
                              f"{hi:g}; the box shows {value:g} instead: choose a value there to go on.")
