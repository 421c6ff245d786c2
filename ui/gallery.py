"""The presets gallery: one card per figure of the paper, each a link that opens its page and trains its runs."""

from __future__ import annotations

import streamlit as st

from core.presets import PRESETS
from ui import page_file

PAGES = {name: page_file(stem) for name, stem in (("train", "train"), ("interpolation", "interpolation"),
                                                    ("straying", "straying"), ("deep-linear", "deep_linear"),
                                                    ("minima", "minima"))}
COLUMNS = 3


def gallery() -> None:
    st.subheader("Reproduce the paper's figures")
    st.caption("Goodfellow, Vinyals & Saxe (2015), *Qualitatively characterizing neural network optimization "
               "problems*. Each card opens the page that draws the figure and trains what it needs (seconds, on the "
               "8×8 digits instead of MNIST and CIFAR-10). The same presets run headless: "
               "`python -m core preset NAME --out DIR`.")
    items = list(PRESETS.values())
    for start in range(0, len(items), COLUMNS):
        for column, preset in zip(st.columns(COLUMNS), items[start : start + COLUMNS]):
            with column.container(border=True):
                st.markdown(f"**{preset.figure}** · {preset.title}")
                st.caption(preset.caption)
                trains = f"trains {len(preset.runs)} run{'s' if len(preset.runs) > 1 else ''}" if preset.runs else ""
                st.page_link(PAGES[preset.page], label=f"Open {preset.figure}", icon=":material/arrow_forward:",
                             query_params={"preset": preset.name},
                             help=f"`{preset.name}` · opens the {preset.page.replace('-', ' ')} page"
                             + (f" and {trains}" if trains else ""))
