"""Command-line commands for weight-space symmetry: permute (a run's own copy) and align (two runs, weight matching).

python -m core permute --run DIR [--seed S] --out OUT
    params.safetensors (theta: the run's final θ with every hidden layer's units permuted), interpolation.csv
    (alpha, train_loss, val_loss, train_error, val_error from θ_final to its permuted copy) and summary.json
    (max_output_difference, loss_difference, distance, barrier).
python -m core align --run A --to B --out OUT
    interpolation.csv (curve: before | after, alpha, train_loss, val_loss) from A's final θ to B's, and to B's with
    its units matched to A's (Ainsworth et al. 2023); summary.json (barrier_before, barrier_after,
    loss_B_aligned_minus_loss_B).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import save_file

from core.cli.rundir import load_run_dir
from core.model.build import model_and_data
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
    record = load_run_dir(args.run)
    spec, data = model_and_data(record.config.replace(device="cpu"))
    if not spec.hidden:
        raise ValueError("logistic regression has no hidden units to permute")
    theta = record.theta_final
    permuted = symmetry.permute(spec, theta, symmetry.random_permutations(spec, args.seed))
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
    if not spec.hidden:
        raise ValueError("logistic regression has no hidden units to align")
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
