"""Who this server takes: the deployment's settings from st.secrets, and a cap on sessions.

On Streamlit Community Cloud the settings of core.train.pool (PLAYGROUND_TRAINERS, PLAYGROUND_MEMORY_MB,
PLAYGROUND_RAY_ADDRESS) and PLAYGROUND_MAX_SESSIONS can be given as secrets; they are copied into the environment,
where the core reads them (an environment variable that is set already wins). A visitor who arrives when the server
already has PLAYGROUND_MAX_SESSIONS sessions is told so in one sentence, and the page stops there: each session costs
the server threads and memory, and past its limit every visitor's page would slow down or fail.
"""

from __future__ import annotations

import os

import streamlit as st
from streamlit.runtime import Runtime

from core.train.pool import whole_setting

KEYS = ("PLAYGROUND_TRAINERS", "PLAYGROUND_MEMORY_MB", "PLAYGROUND_RAY_ADDRESS", "PLAYGROUND_MAX_SESSIONS")
ADMITTED = "admitted"


def secrets_to_environment() -> None:
    """Copy the PLAYGROUND_* secrets into the environment, once per server (the environment wins)."""
    try:
        secrets = {k: st.secrets[k] for k in KEYS if k in st.secrets}
    except Exception:  # noqa: BLE001 - no secrets file, or one that does not parse: the environment alone
        return
    for key, value in secrets.items():
        os.environ.setdefault(key, str(value))


def max_sessions() -> int:
    return whole_setting("PLAYGROUND_MAX_SESSIONS", 100, 1, 100_000)


def active_sessions() -> int | None:
    """Sessions connected to this server now (None outside a server)."""
    if not Runtime.exists():
        return None
    manager = getattr(Runtime.instance(), "_session_mgr", None)
    return None if manager is None else manager.num_active_sessions()


def turn_away_if_full() -> None:
    """A new session beyond the cap: one sentence, and nothing else. A session let in once stays in."""
    if st.session_state.get(ADMITTED):
        return
    try:
        cap = max_sessions()
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    count = active_sessions()
    if count is not None and count > cap:
        st.warning(f"This server is full: {count - 1:,} visitors are using it, its limit is {cap:,}. Try again in "
                   "a minute, or run the app on your own machine (README: The two commands).",
                   icon=":material/group:")
        st.stop()
    st.session_state[ADMITTED] = True
