"""The frame: page config, navigation over pages/, the page links and the run heartbeat in the sidebar. The training
settings join the sidebar on the pages they act on (ui.sidebar.settings)."""

import streamlit as st

from core.model.config import FIELD_TYPES
from core.train import pool
from ui import DROPPED, capacity, drop_unusable_numbers, dropped_note, page_file, presenter, session
from ui.sidebar import unused_link_settings

st.set_page_config(page_title="Optimizer playground", page_icon=":material/landscape:", layout="wide")
st.cache_resource(capacity.secrets_to_environment, show_spinner=False)()  # once per server: Cloud's settings
capacity.turn_away_if_full()  # past PLAYGROUND_MAX_SESSIONS: one sentence, nothing else
drop_unusable_numbers()  # before any widget reads the link: ?seed=1e400 would crash a whole-number box
working = st.empty()  # a click's note, before anything else (the sidebar's links, the run's status) is drawn
if session.pending():
    working.info(session.WORKING.get(session.pending()[0], "Working…"), icon=":material/hourglass_top:")

pages = [  # by absolute path (page_file): the Cloud entrypoint in cloud/ runs this file too
    st.Page(page_file("home"), title="Home", icon=":material/home:", default=True),
    st.Page(page_file("train"), title="Train", icon=":material/play_circle:", url_path="train"),
    st.Page(page_file("interpolation"), title="Interpolation", icon=":material/linear_scale:",
            url_path="interpolation"),
    st.Page(page_file("straying"), title="Straying", icon=":material/conversion_path:", url_path="straying"),
    st.Page(page_file("landscape"), title="Network landscape", icon=":material/terrain:", url_path="landscape"),
    st.Page(page_file("deep_linear"), title="Deep linear", icon=":material/show_chart:", url_path="deep_linear"),
    st.Page(page_file("minima"), title="Minima", icon=":material/swap_horiz:", url_path="minima"),
    st.Page(page_file("curvature"), title="Curvature", icon=":material/ssid_chart:", url_path="curvature"),
    st.Page(page_file("gradients"), title="Gradients", icon=":material/blur_on:", url_path="gradients"),
    st.Page(page_file("surfaces"), title="Surfaces", icon=":material/landscape:", url_path="surfaces"),
    st.Page(page_file("memory"), title="Long-term dependencies", icon=":material/history:", url_path="memory"),
]


SETTINGS_PAGES = {"train", "interpolation", "straying", "landscape", "minima", "curvature",
                  "gradients"}  # draw ui.sidebar.settings


if session.pending():  # the Train page's clicks, carried out before the sidebar's run line is drawn, which then shows
    session.perform()  # what they made (the page itself performs what comes later, e.g. a gallery card's)
_mine = session.current()


# as often as the Train page redraws (its pace, live.redraw_interval), at most once a second
@st.fragment(run_every=max(1.0, st.session_state.get("redraw_every", 1.0)) if _mine is not None
             and _mine.touch().training else 5)
def run_status() -> None:
    """A small status line on every page; asking for it also keeps the run alive while the tab is open."""
    live = session.current()
    if live is None:
        st.caption("No run yet. Open **Train** and press Train.")
        return
    s = live.touch()
    st.caption(f"This tab's run: step {s.step:,} of {s.steps:,} · {s.status}")


# Our own links, not Streamlit's menu: the menu would first list the pages/ folder's files (app, curvature, ...)
# on a fresh server's first request, before this script has run (client.showSidebarNavigation = false).
nav = st.navigation(pages, position="hidden")
with st.sidebar:  # the pages, then this tab's run and the presenter switch: all visible without scrolling
    for page in pages:
        st.page_link(page)
    run_status()
    presenter.toggle()
    if nav.url_path not in SETTINGS_PAGES:
        unused_link_settings()
    dropped_note(skip=FIELD_TYPES)  # the training settings' are named with the settings' other problems
st.cache_resource(pool.warm_up, show_spinner=False)()  # once per server: the trainer processes' parent

presenter.apply()

try:
    nav.run()  # the Train page carries the clicks out (session.perform) and draws what they made
finally:
    working.empty()
    st.session_state.pop(DROPPED, None)  # said once, in the run after drop_unusable_numbers
