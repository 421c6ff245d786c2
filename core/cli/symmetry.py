"""Command-line commands for weight-space symmetry: permute (a run's own copy) and align (two runs, weight matching).

python -m core permute --run DIR [--seed S] --out OUT
    params.safetensors (theta: the run's final θ with every hidden layer's units permuted), interpolation.csv
    (alpha, train_loss, val_loss, train_error, val_error from θ_final to its permuted copy) and summary.json
    (max_output_difference, loss_difference, distance, barrier).
python -m core align --run A --to B --out OUT
    interpolation.csv (curve: before | after, alpha, train_loss, val_loss) from A's final θ to B's, and to B's with
    its units matched to A's (Ainsworth et al. 2023); summary.json (barrier_before, barrier_after,
    loss_B_aligned_minus_loss_B).
python -m core rescale --run DIR [--layer L] [--unit U] --out OUT [--png] [--svg]
    rescale.csv (a, max_output_difference, norm, lambda_max): the run's final θ with layer L's units (every unit, or
    unit U; 1-based) scaled by a = 0.1 … 10 on the way in and 1/a on the way out; λ_max of the training loss.
python -m core align-width [--data moons|digits] --out OUT [--png] [--svg]
    barriers.csv (width, seed_a, seed_b, barrier_before, barrier_after, loss_a, loss_b): seeds 0–3 of [w, w] ReLU
    networks for w = 4 … 64 (the Minima page's sweep), every pair's barrier before and after weight matching.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import save_file

from core import presets
from core.charts import minima as minima_charts
from core.cli.rundir import figure_options, load_run_dir, save_figures
from core.model.build import model_and_data
from core.model.config import check_seed
from core.model.networks import evaluate, forward
from core.probes import endpoints, symmetry
from core.probes.interpolation import alpha_grid, curve_metrics

POINTS = 51


def _line(record, theta0, theta1, label: str):
    frame = endpoints.curves([endpoints.Endpoints(label, record, theta0, theta1)], alpha_grid(0.0, 1.0, POINTS))
    return frame, curve_metrics(frame["alpha"], frame["train_loss"])["barrier"]


def _write(out: Path, summary: dict) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def cmd_permute(args) -> int:
    seed = check_seed(args.seed)
    record = load_run_dir(args.run)
    spec, data = model_and_data(record.config.replace(device="cpu"))
    if symmetry.units_problem(spec, "permute"):
        raise ValueError(symmetry.units_problem(spec, "permute"))
    theta = record.theta_final
    permuted = symmetry.permute(spec, theta, symmetry.random_permutations(spec, seed))
    x = torch.cat([data.x_train, data.x_val])
    with torch.no_grad():
        difference = float((forward(spec, spec.split(theta), x) - forward(spec, spec.split(permuted), x)).abs().max())
    frame, barrier = _line(record, theta, permuted, "final → permuted copy")
    out = Path(args.out)
    save_file({"theta": permuted.contiguous()}, str(out / "params.safetensors"))
    frame.drop(columns="curve").to_csv(out / "interpolation.csv", index=False)
    loss = evaluate(spec, theta, data.x_train, data.y_train)[0]
    summary = {"max_output_difference": difference,
               "loss_difference": evaluate(spec, permuted, data.x_train, data.y_train)[0] - loss,
               "distance": float(torch.linalg.vector_norm(permuted - theta)), "barrier": barrier}
    _write(out, summary)
    print(f"permuted copy: outputs differ by at most {difference:.2g}, loss by {summary['loss_difference']:.2g}; "
          f"‖θ − θ_perm‖ = {summary['distance']:.4g}; barrier on the line {barrier:.4g}; wrote {out}")
    return 0


def cmd_align(args) -> int:
    a, b = load_run_dir(args.run), load_run_dir(args.to)
    problem = endpoints.incompatibility(a, b)
    if problem:
        raise ValueError(problem)
    spec, data = model_and_data(a.config.replace(device="cpu"))
    if symmetry.units_problem(spec, "align"):
        raise ValueError(symmetry.units_problem(spec, "align"))
    aligned = symmetry.permute(spec, b.theta_final, symmetry.weight_matching(spec, a.theta_final, b.theta_final))
    before, barrier_before = _line(a, a.theta_final, b.theta_final, "before")
    after, barrier_after = _line(a, a.theta_final, aligned, "after")
    out = Path(args.out)
    frame = pd.concat([before, after], ignore_index=True)
    frame[["curve", "alpha", "train_loss", "val_loss"]].to_csv(out / "interpolation.csv", index=False)
    shift = evaluate(spec, aligned, data.x_train, data.y_train)[0] - evaluate(spec, b.theta_final, data.x_train,
                                                                            data.y_train)[0]
    _write(out, {"barrier_before": barrier_before, "barrier_after": barrier_after,
                 "loss_B_aligned_minus_loss_B": shift})
    print(f"barrier before alignment {barrier_before:.4g}, after {barrier_after:.4g} (B's loss moved by {shift:.2g}); "
          f"wrote {out}")
    return 0


def cmd_rescale(args) -> int:
    record = load_run_dir(args.run)
    spec, data = model_and_data(record.config.replace(device="cpu"))
    if symmetry.units_problem(spec, "rescale"):
        raise ValueError(symmetry.units_problem(spec, "rescale"))
    if not 1 <= args.layer <= len(spec.hidden):
        raise ValueError(f"--layer must be 1 to {len(spec.hidden)}, got {args.layer}")
    unit = None if args.unit is None else args.unit - 1
    table = symmetry.rescaled_table(spec, data, record.theta_final, args.layer - 1, unit)  # refuses tanh, sigmoid
    out = Path(args.out)
    table.to_csv(out / "rescale.csv", index=False)
    save_figures({"rescale": minima_charts.rescale_chart(table, 10.0)}, out, args.png, args.svg)
    for row in table.itertuples():
        print(f"a = {row.a:g}: outputs differ by {row.max_output_difference:.1g}, ‖θ‖ = {row.norm:.4g}, "
              f"λ_max = {row.lambda_max:.4g}")
    print(f"wrote {out}")
    return 0


def cmd_align_width(args) -> int:
    if args.data not in presets.BARRIER_SETS:
        raise ValueError(f"--data must be one of {', '.join(presets.BARRIER_SETS)}, got {args.data!r}")
    frame = presets.barrier_sweep(args.data)
    out = Path(args.out)
    frame.to_csv(out / "barriers.csv", index=False)
    save_figures({"barriers": minima_charts.barrier_width_chart(frame)}, out, args.png, args.svg)
    medians = frame.groupby("width")[["barrier_before", "barrier_after"]].median()
    for width, row in medians.iterrows():
        print(f"width {width}: median barrier before matching {row.barrier_before:.4g}, after {row.barrier_after:.4g}")
    print(f"wrote {out}")
    return 0


def minima_preset(preset, kept: list, out: Path, png: bool, svg: bool):
    """A Minima-page preset from its trained runs (`preset` command): the tables its claims are measured on, as CSV
    files and figures; returns the evidence (core.presets.minima_evidence)."""
    evidence = presets.minima_evidence(preset.view, kept)
    figures = {"rescale": lambda t: minima_charts.rescale_chart(t, float(preset.view.get("mn_scale", 10.0))),
               "barriers": minima_charts.barrier_width_chart, "restarts": minima_charts.restarts_chart,
               "sweep": minima_charts.fits_chart}
    for name, table in evidence.tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
        save_figures({name: figures[name](table)}, out, png, svg)
    if evidence.numbers:
        _write(out, evidence.numbers)
    return evidence


def register(sub) -> None:
    p = sub.add_parser("permute", help="a run's final θ with its hidden units permuted: same function, far away")
    p.add_argument("--run", required=True, help="a folder written by `python -m core train`")
    p.add_argument("--seed", type=int, default=0, help="seed of the random permutations")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_permute)
    a = sub.add_parser("align", help="two runs' final θ, before and after matching B's units to A's")
    a.add_argument("--run", required=True, help="run A's folder")
    a.add_argument("--to", required=True, help="run B's folder (same network and data)")
    a.add_argument("--out", required=True)
    a.set_defaults(func=cmd_align)
    r = sub.add_parser("rescale", help="a ReLU run's final θ with a layer's units rescaled: same function, other λ_max")
    r.add_argument("--run", required=True, help="a folder written by `python -m core train` (ReLU, linear or maxout)")
    r.add_argument("--layer", type=int, default=1, help="hidden layer to rescale, 1-based (default 1)")
    r.add_argument("--unit", type=int, help="one unit of the layer, 1-based (default: every unit)")
    r.add_argument("--out", required=True)
    figure_options(r)
    r.set_defaults(func=cmd_rescale)
    w = sub.add_parser("align-width", help="the barrier between seeds before and after weight matching, per width")
    w.add_argument("--data", default="moons", help="moons (300 points) or digits; [w, w] ReLU, w = 4 … 64")
    w.add_argument("--out", required=True)
    figure_options(w)
    w.set_defaults(func=cmd_align_width)
