"""Named presets: the figures of Goodfellow, Vinyals & Saxe (2015) that the playground reproduces (core.presets_paper)
and the Deep Learning book's §8.2 cards (below), with the evidence their claims are measured on.

A preset is data: the runs to train (TrainConfig fields) and the page settings that show the figure (widget key ->
value). The app's gallery opens the page with those settings; `python -m core preset NAME` computes the same figure
headless with the functions the pages use (core.probes and core.toys).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.claims import BARRIER_CLAIMS, RESTART_CLAIMS, Claim, Evidence, records_task, sweep_claims
from core.model.build import model_and_data
from core.model.config import FIELD_TYPES, TrainConfig, from_dict
from core.presets_paper import CNN as CNN  # the cards' networks and view are read as core.presets.RELU, …, too
from core.presets_paper import DIGITS as DIGITS
from core.presets_paper import FIG81, FIGURE_CARDS, RELU, Preset
from core.presets_paper import LINE as LINE
from core.presets_paper import LSTM as LSTM
from core.presets_paper import MAXOUT as MAXOUT
from core.presets_paper import SIGMOID as SIGMOID
from core.probes import endpoints, symmetry
from core.probes.interpolation import PAST_ENDS, alpha_grid
from core.train import restarts

# The Minima page's problems (definitions §10). Restarts: 80 XOR or 160 spiral training points, one hidden layer whose
# width the sweep sets (0 = logistic regression), full batch. Aligned barrier: [w, w] ReLU on 300 moons or the digits.
XOR_NET = {"dataset": "xor", "n_samples": 100, "noise": 0.0, "hidden": [4], "activation": "relu",
           "optimizer": "momentum", "lr": 0.1, "batch_size": 0, "steps": 1000, "device": "cpu"}
RESTART_SETS = {"xor": XOR_NET, "spirals": {**XOR_NET, "dataset": "spirals", "n_samples": 200, "noise": 0.2}}
RESTART_WIDTHS = (0, 1, 2, 3, 4, 8, 16, 32)
BARRIER_SETS = {"moons": {"dataset": "moons", "n_samples": 300, "hidden": [8, 8], "activation": "relu",
                          "lr": 0.05, "batch_size": 32, "steps": 1000, "device": "cpu"},
                "digits": {**RELU, "hidden": [8, 8], "device": "cpu"}}
BARRIER_WIDTHS, BARRIER_SEEDS = (4, 8, 16, 32, 64), (0, 1, 2, 3)
MINIMA = {"mn_seed": 0, "mn_layer": "1", "mn_unit": "every unit", "mn_scale": 10.0, "mn_bw_data": "moons",
          "mn_restarts": 16, "mn_fit_margin": 1.0, "mn_sw_data": "xor", "mn_sw_act": "relu", "mn_sw_restarts": 32}

MODES = {  # interpolation page endpoint modes: key -> label
    "init-final": "init → final",
    "final-final": "final of run A → final of run B",
    "random-final": "random point → final",
    "checkpoints": "checkpoint → checkpoint",
}
ZOOMS = {"0–1": (0.0, 1.0), "0–0.01": (0.0, 0.01), "0.99–1": (0.99, 1.0)}  # Fig. 4's windows

PRESETS = {p.name: p for p in [
    Preset("dl-fig8-1-gradient-norm", "DL Fig. 8.1", "The gradient norm grows while the error falls",
           "On MNIST-1D the minibatch gradient norm grows while the validation error falls: learning succeeds "
           "without the gradient shrinking. The curvature term gᵀHg grows faster than gᵀg (§8.2.1).",
           "train", (FIG81,), {**TrainConfig(**FIG81).to_dict(), "hidden": "100,100", "channels": "8,16"}, (
               Claim("the running mean of ‖g‖ over the last 20% of steps is at least 1.5× its mean over steps "
                     "5–20%", "growth", ">=", 1.5, ("points", "grad_norm")),
               Claim("the validation error at the end is at most half its value at 5% of the run", "val_error_drop",
                     "<=", 0.5, regression_text="the validation RMSE at the end is at most half its value at 5% of the "
                     "run"),
               Claim("gᵀHg grew more than gᵀg over the same windows (ratio of their growths)",
                     "curvature_outgrows", ">", 1.0))),
    *FIGURE_CARDS,
    Preset("minima-copies", "DL §8.2.2 (symmetry)", "Permuted and rescaled copies of one solution",
           "Reordering a ReLU network's hidden units, or scaling a layer's incoming weights by a and its outgoing "
           "weights by 1/a, computes the same function at another θ: far away, behind a barrier on the straight line, "
           "and with another sharpness λ_max (Dinh et al. 2017).",
           "minima", (RELU,), {**MINIMA, "mn_view": "copies"}, (
               Claim("the permuted copy's outputs differ from the run's by at most 1e-4 (float rounding)", "number",
                     "<=", 1e-4, ("max_output_difference",), ".1g"),
               Claim("the copy lies farther from θ than θ from the origin (‖θ − θ_perm‖ / ‖θ‖)", "number", ">", 1.0,
                     ("distance_ratio",)),
               Claim("the line from θ to its copy climbs a barrier above 0.1", "number", ">", 0.1, ("barrier",)),
               Claim("every rescaled copy drawn (a from 0.1 to 10) has the run's outputs to within 1e-4",
                     "rescale_gap", "<=", 1e-4, (), ".1g"),
               *(Claim(f"at a = {a:g}, λ_max is over 10× the run's", "rescale_ratio", ">", 10.0, (a, "lambda_max"))
                 for a in (0.1, 10.0)))),
    Preset("minima-aligned", "Ainsworth et al. 2023", "Two solutions before and after matching their units",
           "Two seeds' solutions meet a barrier on the line between them; reordering B's hidden units to line up "
           "with A's removes most of it. On a width sweep the barrier left after matching is far lower at width 64 "
           "than at width 4.", "minima", (RELU, {**RELU, "seed": 1}), {**MINIMA, "mn_view": "aligned"}, (
               Claim("after matching, the barrier between your two runs is under a quarter of what it was (after / "
                     "before)", "number", "<", 0.25, ("barrier_ratio",)),
               Claim("matching reorders B's units only: its training loss moves by at most 1e-5", "number", "<=",
                     1e-5, ("loss_shift_size",), ".1g"),
               *BARRIER_CLAIMS)),
    Preset("minima-restarts", "DL §8.2.2 (restarts)", "Random restarts: which fit, by width",
           "Restarts of a 4-unit ReLU network on 80 XOR points differ only in their seed: some fit every point, the "
           "rest stop at higher losses. Across widths none fits at width 1 and all fit at width 32; logistic "
           "regression, which is convex, ends every restart at the same loss.",
           "minima", (), {**TrainConfig(**XOR_NET).to_dict(), "hidden": "4", "channels": "8,16", **MINIMA,
                          "mn_view": "restarts"}, (
               *RESTART_CLAIMS, *sweep_claims("xor"))),
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


def evidence(preset: Preset, records: list) -> Evidence:
    """What the preset's claims are measured on, from the records of its runs: the interpolation curves on its grids
    and just past their ends (interpolation pages), or the records alone (straying); the analytic pages need none."""
    if preset.page == "minima":
        return minima_evidence(preset.view, records)
    ev = Evidence(records=list(records), task=records_task(records))
    if preset.page == "interpolation" and records:
        pairs, windows = pairs_for(preset.view, records), grids(preset.view)
        ev.curves = endpoints.curves(pairs, windows.pop("main"))
        ev.windows = {title: endpoints.curves(pairs, alphas) for title, alphas in windows.items()}
        ev.ends = endpoints.end_table(endpoints.curves(pairs, PAST_ENDS))
    return ev


def monitor_evidence(metrics, points, curvature, task: str = "classification") -> Evidence:
    """Evidence from one run's live monitors (the Train page's snapshot, or a Run's frames): metrics, the summarised
    gradient norms and eq. 8.10 terms (core.train.summaries); task: the run's data's (Snapshot.task)."""
    return Evidence(monitors={"metrics": metrics, "points": points, "curvature": curvature}, task=task)


def grids(view: dict) -> dict[str, np.ndarray]:
    """The main alpha grid and any zoom windows of a view: title -> alphas."""
    points = int(view.get("ip_points", 101))
    out = {"main": alpha_grid(float(view.get("ip_min", 0.0)), float(view.get("ip_max", 1.0)), points)}
    for window in view.get("ip_windows", []):
        lo, hi = ZOOMS[window]
        out[window] = alpha_grid(lo, hi, points)
    return out


# ---- the Minima page's evidence: the same functions, on the view's settings, as the page draws -------------------
def rescale_unit(view: dict) -> int | None:
    unit = view.get("mn_unit", "every unit")
    return None if unit == "every unit" else int(unit) - 1


def barrier_sweep(name: str) -> pd.DataFrame:
    """The aligned barrier per width on one of BARRIER_SETS (symmetry.barrier_width_sweep, restarts training)."""
    return symmetry.barrier_width_sweep(TrainConfig(**BARRIER_SETS[name]), BARRIER_WIDTHS, BARRIER_SEEDS,
                                        lambda config, seeds: restarts.train_restarts(config, seeds).theta)


def restart_table(result: restarts.Restarts, margin: float = restarts.FIT_MARGIN) -> pd.DataFrame:
    """One row per restart: seed, final_train_loss, final_train_error, fits (restarts.FIT_RULE: error within margin of
    the best of these restarts, all of one width), diverged."""
    error = result.train_error.numpy()
    return pd.DataFrame({"seed": result.seeds, "final_train_loss": result.train_loss.numpy(),
                         "final_train_error": error, "fits": restarts.best_fits(error, error, margin),
                         "diverged": result.diverged.numpy()})


def sweep_config(dataset: str, activation: str) -> TrainConfig:
    return TrainConfig(**{**RESTART_SETS[dataset], "activation": activation})


def view_config(view: dict) -> TrainConfig:
    """The training config a view's sidebar fields describe."""
    return from_dict({k: v for k, v in view.items() if k in FIELD_TYPES})


def minima_evidence(view: dict, records: list) -> Evidence:
    """What the Minima page measures with the view's settings: one run's copies (records[0]), two runs aligned
    (records[0], records[1]) with the barrier width sweep, or restarts of the view's network and the width sweep."""
    section = view.get("mn_view", "copies")
    if section == "copies":
        spec, data = model_and_data(records[0].config.replace(device="cpu"))
        theta = records[0].theta_final
        _, _, numbers = symmetry.permuted_copy(spec, data, theta, int(view.get("mn_seed", 0)))
        table = symmetry.rescaled_table(spec, data, theta, int(view.get("mn_layer", 1)) - 1, rescale_unit(view))
        return Evidence(records=records[:1], numbers=numbers, tables={"rescale": table})
    if section == "aligned":
        a, b = records[:2]
        spec, data = model_and_data(a.config.replace(device="cpu"))
        _, _, numbers = symmetry.aligned(spec, data, a.theta_final, b.theta_final)
        return Evidence(records=[a, b], numbers=numbers, tables={"barriers": barrier_sweep(view["mn_bw_data"])})
    config, margin = view_config(view), float(view.get("mn_fit_margin", restarts.FIT_MARGIN * 100)) / 100
    seeds = range(config.seed, config.seed + int(view["mn_restarts"]))
    sweep = restarts.sweep(sweep_config(view["mn_sw_data"], view["mn_sw_act"]), RESTART_WIDTHS,
                           range(int(view["mn_sw_restarts"])), margin=margin)
    return Evidence(tables={"restarts": restart_table(restarts.train_restarts(config, seeds), margin),
                            "sweep": sweep})
