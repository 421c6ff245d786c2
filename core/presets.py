"""Named presets: one per figure of Goodfellow, Vinyals & Saxe (2015) that the playground reproduces.

A preset is data: the runs to train (TrainConfig fields) and the page settings that show the figure (widget key ->
value). The app's gallery opens the page with those settings; `python -m core preset NAME` computes the same figure
headless with the functions the pages use (core.probes and core.toys).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.model.config import TrainConfig
from core.probes import endpoints
from core.probes.interpolation import alpha_grid

# Fully connected networks on the 8x8 digits (the paper's MNIST networks, scaled to train in seconds).
DIGITS = {"dataset": "digits", "hidden": [128, 128], "optimizer": "momentum", "momentum": 0.9, "batch_size": 64,
          "steps": 1500, "log_every": 0}
MAXOUT = {**DIGITS, "activation": "maxout", "lr": 0.05}
RELU = {**DIGITS, "activation": "relu", "lr": 0.05}
SIGMOID = {**DIGITS, "activation": "sigmoid", "lr": 0.5}

MODES = {  # interpolation page endpoint modes: key -> label
    "init-final": "init → final",
    "final-final": "final of run A → final of run B",
    "random-final": "random point → final",
    "checkpoints": "checkpoint → checkpoint",
}
ZOOMS = {"0–1": (0.0, 1.0), "0–0.01": (0.0, 0.01), "0.99–1": (0.99, 1.0)}  # Fig. 4's windows


@dataclass(frozen=True)
class Preset:
    name: str
    figure: str
    title: str
    caption: str  # one sentence: what to look for
    page: str  # interpolation, straying or deep-linear
    runs: tuple[dict, ...] = ()  # TrainConfig fields of each run to train
    view: dict = field(default_factory=dict)  # the page's widget values (key -> value)

    def configs(self) -> list[TrainConfig]:
        return [TrainConfig(**run) for run in self.runs]


PRESETS = {p.name: p for p in [
    Preset("fig1-maxout", "Fig. 1", "Initialization → solution, maxout",
           "The loss falls smoothly from θ_i to θ_f with no bump or barrier: flat near α = 0, then nearly convex.",
           "interpolation", (MAXOUT,),
           {"ip_mode": "init-final", "ip_min": -0.5, "ip_max": 1.5, "ip_points": 101, "ip_quantity": "loss"}),
    Preset("fig2-sigmoid-relu", "Fig. 2", "Initialization → solution, sigmoid and ReLU",
           "The sigmoid curve stays flat, even rises a little, near the initialization before it falls; ReLU falls at "
           "once. Past that start both fall smoothly to the solution.",
           "interpolation", (SIGMOID, RELU),
           {"ip_mode": "init-final", "ip_min": 0.0, "ip_max": 1.0, "ip_points": 101, "ip_quantity": "loss"}),
    Preset("fig3-three-activations", "Fig. 3", "Maxout, ReLU and sigmoid on one log axis",
           "The log scale separates the bottoms: maxout and ReLU reach a far lower training loss than the sigmoid. The "
           "dashed validation curves turn up near α = 1: overfitting, not an optimization obstacle.",
           "interpolation", (MAXOUT, RELU, SIGMOID),
           {"ip_mode": "init-final", "ip_min": 0.0, "ip_max": 1.0, "ip_points": 101, "ip_quantity": "loss",
            "ip_log": True}),
    Preset("fig4-zoom", "Fig. 4", "200 points, zoomed in near both ends (ReLU)",
           "Finer α shows no hidden small structure: [0, 0.01] and [0.99, 1] are smooth too.",
           "interpolation", (RELU,),
           {"ip_mode": "init-final", "ip_min": 0.0, "ip_max": 1.0, "ip_points": 200, "ip_quantity": "loss",
            "ip_splits": ["train"], "ip_windows": ["0–0.01", "0.99–1"]}),
    Preset("fig5-two-solutions", "Fig. 5 (left)", "Solution → solution from two seeds",
           "Two seeds reach equally good but different minima, with a barrier of higher cost between them.",
           "interpolation", (RELU, {**RELU, "seed": 1}),
           {"ip_mode": "final-final", "ip_min": -0.5, "ip_max": 1.5, "ip_points": 101, "ip_quantity": "loss"}),
    Preset("fig5-random-point", "Fig. 5 (right)", "Random point → solution",
           "From a random point three times as far out, the line meets no minimum but the solution.",
           "interpolation", (RELU,),
           {"ip_mode": "random-final", "ip_min": 0.0, "ip_max": 1.0, "ip_points": 101, "ip_quantity": "loss",
            "ip_norm_ratio": 3.0, "ip_random_seed": 0}),
    Preset("fig9-deep-linear-init", "Fig. 9", "Deep linear regression: small init → solution",
           "J = (w₁w₂ − 1)² is flat near the saddle at the origin, then falls to its one minimum on the line.",
           "deep-linear", (), {"dl_line": "small_init_to_solution"}),
    Preset("fig10-deep-linear-solutions", "Fig. 10 (left)", "Deep linear regression: solution → solution",
           "Both ends are global minima on one connected hyperbola, yet the straight line between them rises.",
           "deep-linear", (), {"dl_line": "solution_to_solution"}),
    Preset("fig10-deep-linear-random", "Fig. 10 (right)", "Deep linear regression: large random point → solution",
           "From far away the line descends to the solution without meeting any other minimum.",
           "deep-linear", (), {"dl_line": "large_to_solution"}),
    Preset("fig11-random-walk", "Fig. 11", "Straying of random walks in 2 to 100,000 dimensions",
           "As the dimension grows every walk draws the same arch, so the shape alone says little about SGD.",
           "straying", (), {"st_view": "random-walk", "rw_dims": "2,10,100,10000,100000"}),
    Preset("fig12-convex", "Fig. 12", "Gradient descent on a 100,000-dimensional convex problem",
           "All settings end at θ*; the largest residual is what tells the learning rates and momenta apart.",
           "straying", (), {"st_view": "convex"}),
    Preset("fig13-straying", "Fig. 13", "How far SGD strays from the line (maxout)",
           "The line θ_i → θ_f keeps at least 2/3 of ‖θ_t‖ at every step: ρ_t stays below 1/3.",
           "straying", (MAXOUT,), {"st_view": "run"}),
]}


def get(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def pairs_for(view: dict, records: list) -> list[endpoints.Endpoints]:
    """The interpolation endpoints a preset's view asks for, from the records of its runs (in order)."""
    mode = view.get("ip_mode", "init-final")
    if not records:
        raise ValueError("this view needs at least one run")
    if mode == "init-final":
        return [endpoints.init_to_final(r) for r in records]
    if mode == "final-final":
        if len(records) < 2:
            raise ValueError("final → final needs two runs")
        return [endpoints.final_to_final(records[0], records[1])]
    if mode == "random-final":
        r = records[0]
        norm = float(view.get("ip_norm_ratio", 3.0)) * float(r.theta_final.norm())
        return [endpoints.random_to_final(r, norm, int(view.get("ip_random_seed", 0)))]
    if mode == "checkpoints":
        r = records[0]
        return [endpoints.checkpoint_to_checkpoint(r, r.steps[0], r.steps[-1])]
    raise ValueError(f"unknown interpolation mode {mode!r}; choose one of: {', '.join(MODES)}")


def grids(view: dict) -> dict[str, np.ndarray]:
    """The main alpha grid and any zoom windows of a view: title -> alphas."""
    points = int(view.get("ip_points", 101))
    out = {"main": alpha_grid(float(view.get("ip_min", 0.0)), float(view.get("ip_max", 1.0)), points)}
    for window in view.get("ip_windows", []):
        lo, hi = ZOOMS[window]
        out[window] = alpha_grid(lo, hi, points)
    return out
