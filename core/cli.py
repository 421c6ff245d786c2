"""The command line: python -m core train --config CONFIG.json [--set key=value ...] --out DIR."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from core import cli_curvature, cli_experiments, cli_landscape, cli_paper, cli_surface
from core import config as config_mod
from core.paths import alpha_grid, interpolate
from core.records import checkpoint_arrays
from core.run import Run


def write_outputs(run: Run, out: Path) -> None:
    """config.json, metrics.csv, interpolation.csv, straying.csv and params.safetensors in out.

    params.safetensors holds theta_init and theta_final (float32, or the run's dtype), plus `checkpoints` (K, P)
    float32 and `checkpoint_steps` (K,): up to 17 points of the trajectory, the first at step 0 and the last at
    the final step."""
    out.mkdir(parents=True, exist_ok=True)
    c = run.config
    (out / "config.json").write_text(json.dumps(c.to_dict(), indent=2) + "\n", encoding="utf-8")
    metrics = run.metrics_frame()
    metrics.to_csv(out / "metrics.csv", index=False)
    alphas = alpha_grid(c.interp_min, c.interp_max, c.interp_points)
    interpolate(run.spec, run.theta_init, run.theta, run.data, alphas).to_csv(out / "interpolation.csv", index=False)
    run.straying_frame().to_csv(out / "straying.csv", index=False)
    steps, thetas = run.trajectory.view()
    steps, checkpoints = checkpoint_arrays(steps, thetas, run.theta, run.step)
    save_file({"theta_init": run.theta_init.cpu().contiguous(), "theta_final": run.theta.cpu().contiguous(),
               "checkpoints": torch.from_numpy(checkpoints), "checkpoint_steps": torch.tensor(steps)},
              str(out / "params.safetensors"), metadata={"config": json.dumps(c.to_dict()), "step": str(run.step)})


def cmd_train(args) -> int:
    config = config_mod.resolve(args.config, args.set)
    run = Run(config)
    run.train()
    write_outputs(run, Path(args.out))
    last = run.metrics_frame().iloc[-1]
    print(f"step {run.step}: train loss {last.train_loss:.4g}, val error {last.val_error:.2%}, "
          f"{run.steps_per_second:.0f} steps/s; wrote {args.out}")
    if run.status in ("diverged", "failed"):
        print(run.message, file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="The optimizer playground, headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train one run and write its metrics, curves and parameters")
    train.add_argument("--config", help="a flat JSON object of config fields (all optional)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a field; the value is read as JSON when it parses, else as a string")
    train.add_argument("--out", required=True, help="folder to write into")
    train.set_defaults(func=cmd_train)
    cli_experiments.register(sub)
    cli_paper.register(sub)
    cli_curvature.register(sub)
    cli_surface.register(sub)
    cli_landscape.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
