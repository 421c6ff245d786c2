"""The gallery on Home: one card per figure of the paper (core.presets: each opens its page and trains its runs), and
one per demonstration of Deep Learning §8.2 (VIEW_CARDS: each opens a page's view, whose claims the view checks)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.presets import PRESETS
from ui import page_file

PAGES = {name: page_file(stem) for name, stem in (("train", "train"), ("interpolation", "interpolation"),
                                                    ("straying", "straying"), ("deep-linear", "deep_linear"),
                                                    ("minima", "minima"), ("gradients", "gradients"),
                                                    ("memory", "memory"))}
PAGE_TITLES = {"gradients": "Gradients", "memory": "Long-term dependencies"}  # of the pages the view cards open
COLUMNS = 3


@dataclass(frozen=True)
class ViewCard:
    figure: str
    title: str
    caption: str  # what to look for: the view's own checked claims, in a sentence (true on the view's defaults)
    page: str  # a key of PAGES
    params: dict  # the link's query parameters: the view, and ?train=now where the view needs a run (run_panel)
    cost: str  # what opening it does, for the link's tooltip


VIEW_CARDS = [
    ViewCard("DL §8.2.6", "Inexact gradients: the error falls like 1/√m",
             "A minibatch of m examples estimates the full gradient g. At a point of the Train page's default run, "
             "the rms relative error of the estimate falls like 1/√m (log-log slope within 0.1 of −0.5) and agrees "
             "with sampling theory within a factor of 2; all N examples give g itself.",
             "gradients", {"gr_view": "noise", "train": "now"}, "trains the Train page's default run (seconds)"),
    ViewCard("DL §8.2.6", "Noisy steps that still descend",
             "While the default run trains, a typical step's minibatch gradient lies farther from g than g is long "
             "(median relative error above 1), yet the training loss falls below half its start.",
             "gradients", {"gr_view": "live", "train": "now"}, "trains the Train page's default run (seconds)"),
    ViewCard("DL §8.2, §8.4", "Signal through depth at initialisation",
             "In a 10-layer network at initialisation, a small weight scale makes the gradient vanish toward the input "
             "and a large one makes the signal explode; in between, one scale keeps activations and gradients within "
             "a factor of 10 across the layers.",
             "gradients", {"gr_view": "depth"}, "computes three initialisations (seconds)"),
    ViewCard("DL §8.2.5", "Repeated multiplication: λᵗ",
             "h_t = W h_(t−1) multiplies each eigen-component by λ at every step: over T = 50 steps λ = 0.9 falls to "
             "half a percent of its start and λ = 1.1 grows over 100×, exactly as λᵗ, and the gradient going back "
             "does the same.",
             "memory", {"mem_view": "chain"}, "closed form and a 50-step product (instant)"),
    ViewCard("DL §8.2.5", "Gradients through time in an RNN and an LSTM",
             "At initialisation, the loss's gradient reaches the first hidden state of a recurrent network on the "
             "adding problem (T = 20) more than 100 times weaker than the last. The page's two links train an RNN "
             "and an LSTM (about half a minute each) and it checks the claim on both.",
             "memory", {"mem_view": "through_time"}, "opens the view; its links train the two runs"),
    ViewCard("DL §8.2.5", "Memory: restarts that solve the task, against T",
             "Random restarts of a tanh RNN and an LSTM on the adding problem at T = 2, 4, 8 and 12: the RNN solves "
             "the short sequences every time and the long ones almost never, while the LSTM keeps solving them.",
             "memory", {"mem_view": "sweep"}, "trains 64 small networks (15–30 s, with a progress bar)"),
    ViewCard("DL §8.2.4", "A cliff in a recurrent network, and clipping",
             "Next to a trained tanh RNN's solution the loss rises over 10× within 0.1% of ‖θ‖. From the cliff's "
             "face one plain gradient step is thrown above the loss at chance, while the same step clipped by norm "
             "walks down.",
             "memory", {"mem_view": "cliff"}, "trains one small RNN and probes it (about 10 s)"),
]


def _preset_cards() -> None:
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


def _view_cards() -> None:
    for start in range(0, len(VIEW_CARDS), COLUMNS):
        for column, card in zip(st.columns(COLUMNS), VIEW_CARDS[start : start + COLUMNS]):
            with column.container(border=True):
                st.markdown(f"**{card.figure}** · {card.title}")
                st.caption(card.caption)
                link = "&".join(f"{key}={value}" for key, value in card.params.items())
                view = next(v for k, v in card.params.items() if k.endswith("_view"))
                st.page_link(PAGES[card.page], label=f"Open {PAGE_TITLES[card.page]} · {view}",
                             icon=":material/arrow_forward:", query_params=card.params, help=f"`?{link}` · {card.cost}")


def gallery() -> None:
    st.subheader("Reproduce the paper's figures")
    st.caption("Goodfellow, Vinyals & Saxe (2015), *Qualitatively characterizing neural network optimization "
               "problems*. Each card opens the page that draws the figure and trains what it needs (seconds, on the "
               "8×8 digits instead of MNIST and CIFAR-10, and a toy sequence task instead of Penn Treebank). "
               "The same presets run headless: "
               "`python -m core preset NAME --out DIR`.")
    _preset_cards()
    st.subheader("Deep Learning §8.2: more reasons training is hard")
    st.caption("Goodfellow, Bengio & Courville (2016), §8.2, on toy settings that run in seconds. Each card opens a "
               "view that checks its lesson on what it draws: **holds** or **fails**, with the measured number.")
    _view_cards()
