"""The cards of Goodfellow, Vinyals & Saxe (2015)'s figures, and the Preset they are made of (core.presets lists them
with the Deep Learning book's cards and measures their claims' evidence).

A preset is data: the runs to train (TrainConfig fields) and the page settings that show the figure (widget key ->
value). Every card's caption is stated as claims (core.claims) checked on the user's run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.claims import Claim
from core.model.config import TrainConfig

# Fully connected networks on the 8x8 digits (the paper's MNIST networks, scaled to train in seconds).
DIGITS = {"dataset": "digits", "hidden": [128, 128], "optimizer": "momentum", "momentum": 0.9, "batch_size": 64,
          "steps": 1500, "log_every": 0}
MAXOUT = {**DIGITS, "activation": "maxout", "lr": 0.05}
RELU = {**DIGITS, "activation": "relu", "lr": 0.05}
# The paper swapped ReLU for sigmoid and kept the rest. At PyTorch's default scale a sigmoid net starts so flat that it
# sits at chance for most of the run; 3x that scale is near Glorot's sigmoid initialisation and trains like ReLU.
SIGMOID = {**DIGITS, "activation": "sigmoid", "lr": 0.5, "init_scale": 3.0}
CNN = {**DIGITS, "model": "cnn", "channels": [8, 16], "lr": 0.05, "steps": 600}  # Fig. 6's CIFAR-10 net, in seconds
# Deep Learning Fig. 8.1: MNIST-1D, which a small MLP learns but cannot memorise in a few thousand steps.
FIG81 = {"dataset": "mnist1d", "n_samples": 12_500, "hidden": [100, 100], "activation": "relu", "optimizer": "sgd",
         "lr": 0.03, "batch_size": 32, "steps": 6000, "curvature_monitor": True}
# Fig. 8's LSTM on Penn Treebank, as a toy: a 16-unit LSTM on the adding problem, T = 10 (800 training sequences),
# Adam, about 2 s on one CPU thread. Measured: on seeds 0-9 the line is monotone on 9 (seed 5: a bump of 5e-5); on the
# recall task (copy) 7 of 10 show a bump; on parity the LSTM stays at chance (validation error 50-55%, loss ln 2), its
# line almost flat, and 5 of 10 are monotone (seeds 0, 1, 3, 4, 9) only because nothing was learnt.
LSTM = {"dataset": "adding", "seq_len": 10, "n_samples": 1000, "model": "lstm", "hidden": [16], "optimizer": "adam",
        "lr": 0.01, "batch_size": 32, "steps": 600, "log_every": 0, "device": "cpu"}

LINE = {"ip_mode": "init-final", "ip_min": 0.0, "ip_max": 1.0, "ip_points": 101, "ip_quantity": "loss"}


@dataclass(frozen=True)
class Preset:
    name: str
    figure: str
    title: str
    caption: str  # one sentence: what to look for; every part of it is a claim below, or says it is not checked
    page: str  # train, interpolation, straying or deep-linear
    runs: tuple[dict, ...] = ()  # TrainConfig fields of each run to train
    view: dict = field(default_factory=dict)  # the page's widget values (key -> value)
    claims: tuple[Claim, ...] = ()  # the caption's lesson as predicates on the user's run (core.claims)

    def configs(self) -> list[TrainConfig]:
        return [TrainConfig(**run) for run in self.runs]


def _falls(k: int = 0) -> Claim:
    return Claim("the training loss still falls just past θ_f (α up to 1.1): training stopped there; it is not a "
                 "minimum along the line", "falls_past_end", ">", 0.0, (k, 1))


def _monotone(k: int, what: str) -> Claim:
    return Claim(f"the training loss of {what} never rises from α = 0 to 1", "line_metric", ">=", 1.0,
                 (k, "train", "monotone"), ".0f")


FIGURE_CARDS = (  # the paper's figures, in its order
    Preset("fig1-maxout", "Fig. 1", "Initialization → solution, maxout",
           "The loss falls from θ_i to θ_f without a bump, steeply through the middle and almost flat in the last "
           "stretch before the solution, and keeps falling a little past θ_f: the solution is where training stopped.",
           "interpolation", (MAXOUT,), {**LINE, "ip_min": -0.5, "ip_max": 1.5}, (
               _monotone(0, "the line"),
               Claim("the curve stays within 0.05 of the chord between its ends (barrier)", "line_metric", "<=", 0.05,
                     (0, "train", "barrier")),
               Claim("the last fifth of the line (α from 0.8 to 1) holds under 2% of the whole fall", "drop_share",
                     "<", 0.02, (0, 0.8, 1.0), ".2%"),
               _falls())),
    Preset("fig2-sigmoid-relu", "Fig. 2", "Initialization → solution, sigmoid and ReLU",
           "Both lines fall from θ_i to θ_f without a bump. Started at 3× PyTorch's default scale (near Glorot's), the "
           "sigmoid network trains about as well as ReLU, with no long plateau at chance.",
           "interpolation", (SIGMOID, RELU), LINE, (
               _monotone(0, "the sigmoid line"), _monotone(1, "the ReLU line"),
               Claim("the sigmoid's final validation error is within 2 points of ReLU's", "final_gap", "<=", 0.02,
                     (0, 1, "val_error")),
               Claim("the sigmoid's training loss sits at chance for at most 10% of its logged steps",
                     "chance_share", "<=", 0.1, (0,)))),
    Preset("fig3-three-activations", "Fig. 3", "Maxout, ReLU and sigmoid on one log axis",
           "On a log axis all three training curves fall without a bump to within a factor of two of each other. "
           "Every dashed validation curve turns up just before α = 1: overfitting, not an optimization obstacle.",
           "interpolation", (MAXOUT, RELU, SIGMOID), {**LINE, "ip_log": True}, (
               _monotone(0, "maxout"), _monotone(1, "ReLU"), _monotone(2, "the sigmoid"),
               *(Claim(f"the {n} validation loss at θ_f is above its minimum on the line (turns up)", "val_turns_up",
                       ">", 0.0, (k,)) for k, n in enumerate(("maxout", "ReLU", "sigmoid"))),
               Claim("the sigmoid's final training loss is within 2× maxout's", "final_ratio", "<=", 2.0,
                     (2, 0, "train_loss")))),
    Preset("fig4-zoom", "Fig. 4", "200 points, zoomed in near both ends (ReLU)",
           "Finer α shows no hidden small structure: [0, 0.01] and [0.99, 1] are smooth too.",
           "interpolation", (RELU,), {**LINE, "ip_points": 200, "ip_splits": ["train"],
                                      "ip_windows": ["0–0.01", "0.99–1"]}, (
               _monotone(0, "the line"),
               *(Claim(f"no bump on [{w.replace('–', ', ')}]", "window_bump", "<=", 1e-6, (w,))
                 for w in ("0–0.01", "0.99–1")))),
    Preset("fig5-two-solutions", "Fig. 5 (left)", "Solution → solution from two seeds",
           "Two seeds end at equally good points, and the straight line between them climbs a barrier. The loss "
           "still falls past both ends: they are where training stopped, not minima.",
           "interpolation", (RELU, {**RELU, "seed": 1}), {**LINE, "ip_mode": "final-final", "ip_min": -0.5,
                                                          "ip_max": 1.5}, (
               Claim("the barrier above the chord between the two ends is above 0.1", "line_metric", ">", 0.1,
                     (0, "train", "barrier")),
               Claim("the two final validation errors are within 1 point", "final_gap", "<=", 0.01,
                     (0, 1, "val_error")),
               _falls(),
               Claim("the training loss also falls just before α = 0 (run A's end)", "falls_past_end", ">", 0.0,
                     (0, 0)))),
    Preset("fig5-random-point", "Fig. 5 (right)", "Random point → solution",
           "From a random point three times as far out, the loss falls all the way to the solution: no other "
           "minimum on the line.",
           "interpolation", (RELU,), {**LINE, "ip_mode": "random-final", "ip_norm_ratio": 3.0, "ip_random_seed": 0}, (
               _monotone(0, "the line"),)),
    Preset("fig6-cnn", "Fig. 6", "Initialization → solution, convolutional network",
           "On a small CNN on the 8×8 digits, as on the paper's CIFAR-10 network, the loss falls from θ_i to θ_f "
           "without a bump: flat near θ_i, steep through the middle, level before θ_f, and still falling past it.",
           "interpolation", (CNN,), LINE, (
               _monotone(0, "the line"),
               Claim("flat start: α from 0 to 0.05 holds under 2.5% of the whole fall (half a straight line's share)",
                     "drop_share", "<", 0.025, (0, 0.0, 0.05), ".2%"),
               Claim("steep middle: α from 0.2 to 0.5 holds over half", "drop_share", ">", 0.5, (0, 0.2, 0.5), ".0%"),
               Claim("level end: α from 0.7 to 1 holds under 10%", "drop_share", "<", 0.1, (0, 0.7, 1.0), ".1%"),
               _falls())),
    Preset("fig8-lstm", "Fig. 8", "Initialization → solution, LSTM",
           "The paper's Fig. 8 is an LSTM on Penn Treebank; this is a toy: a 16-unit LSTM on the adding problem "
           "(T = 10). The loss falls from θ_i to θ_f without a bump and never above the chord: most of the fall "
           "comes in the first half of the line, and it is level before θ_f. Unlike the other cards, it does not keep "
           "falling past θ_f: Adam ended this run at the line's lowest point, and the LSTM solves the toy.",
           "interpolation", (LSTM,), LINE, (
               _monotone(0, "the line"),
               Claim("the curve never rises above the chord between its ends (barrier)", "line_metric", "<=", 0.01,
                     (0, "train", "barrier")),
               Claim("the first half of the line (α from 0 to 0.5) holds over half of the whole fall", "drop_share",
                     ">", 0.5, (0, 0.0, 0.5), ".0%"),
               Claim("level end: α from 0.9 to 1 holds under 5% (half a straight line's share)", "drop_share", "<",
                     0.05, (0, 0.9, 1.0), ".1%"),
               Claim("the training loss does not fall past θ_f (α up to 1.1)", "falls_past_end", "<=", 0.0, (0, 1)),
               Claim("the LSTM solves the task: its final validation cross-entropy is under 1/60 (chance: ln of the "
                     "number of classes)", "final", "<", 1 / 60, (0, "val_loss"), ".2g",
                     regression_text="the LSTM solves the toy: its final validation MSE is under 1/60, a tenth of what "
                     "predicting the mean scores (1/6)"))),
    Preset("fig9-deep-linear-init", "Fig. 9", "Deep linear regression: small init → solution",
           "J = (w₁w₂ − 1)² is flat near the saddle at the origin, then falls to its one minimum on the line.",
           "deep-linear", (), {"dl_line": "small init → solution (Fig. 9)"}, (
               Claim("J never rises along the line", "deep_linear_line", ">=", 1.0,
                     ("small init → solution (Fig. 9)", "monotone"), ".0f"),
               Claim("flat at first, then falling, the curve runs above the chord between its ends (barrier)",
                     "deep_linear_line", ">", 0.05, ("small init → solution (Fig. 9)", "barrier")))),
    Preset("fig10-deep-linear-solutions", "Fig. 10 (left)", "Deep linear regression: solution → solution",
           "Both ends are global minima on one connected hyperbola, yet the straight line between them rises.",
           "deep-linear", (), {"dl_line": "solution → solution (Fig. 10 left)"}, (
               Claim("the barrier between the two minima is above 0.3", "deep_linear_line", ">", 0.3,
                     ("solution → solution (Fig. 10 left)", "barrier")),)),
    Preset("fig10-deep-linear-random", "Fig. 10 (right)", "Deep linear regression: large random point → solution",
           "From far away the line descends to the solution without meeting any other minimum.",
           "deep-linear", (), {"dl_line": "large random point → solution (Fig. 10 right)"}, (
               Claim("J never rises along the line", "deep_linear_line", ">=", 1.0,
                     ("large random point → solution (Fig. 10 right)", "monotone"), ".0f"),)),
    Preset("fig11-random-walk", "Fig. 11", "Straying of random walks in 2 to 100,000 dimensions",
           "As the dimension grows every walk draws the same arch, a half circle, so the shape alone says little about "
           "SGD.",
           "straying", (), {"st_view": "random-walk", "rw_dims": "2,10,100,10000,100000"}, tuple(
               Claim(f"in {d:,} dimensions the largest residual is half ‖θ_solution‖ to within 0.01", "walk_half_gap",
                     "<=", 0.01, (d,)) for d in (10_000, 100_000))),
    Preset("fig12-convex", "Fig. 12", "Gradient descent on a 100,000-dimensional convex problem",
           "All settings end at θ*; the largest residual is what tells the learning rates and momenta apart.",
           "straying", (), {"st_view": "convex"}, (
               Claim("the share of settings that reach θ*", "convex_outcome", ">=", 1.0, ("converged",), ".0%"),
               Claim("the largest max residual over the smallest, across settings", "convex_outcome", ">=", 1.5,
                     ("spread",)))),
    Preset("fig13-straying", "Fig. 13", "How far SGD strays from the line (maxout)",
           "The line θ_i → θ_f keeps at least 2/3 of ‖θ_t‖ at every step: ρ_t stays below 1/3.",
           "straying", (MAXOUT,), {"st_view": "run"}, (
               Claim("max ρ_t = r_t/‖θ_t‖ over the run is at most 1/3", "max_rho", "<=", 1 / 3, (0,)),)),
)
