"""The command line: python -m core train --config CONFIG.json [--set key=value ...] --out DIR."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli import curvature as cli_curvature
from core.cli import data as cli_data
from core.cli import experiments as cli_experiments
from core.cli import landscape as cli_landscape
from core.cli import noise as cli_noise
from core.cli import paper as cli_paper
from core.cli import restarts as cli_restarts
from core.cli import surface as cli_surface
from core.cli import symmetry as cli_symmetry
from core.cli.rundir import prepare_out, remove_empty, write_outputs
from core.model import config as config_mod
from core.train.run import Run


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
    cli_symmetry.register(sub)
    cli_restarts.register(sub)
    cli_noise.register(sub)
    cli_data.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    made = []
    try:
        if getattr(args, "out", None) is not None:  # before any work: a bad folder must not waste a training run
            made = prepare_out(args.out)
        return args.func(args)
    except ValueError as exc:
        remove_empty(made)  # a refused command leaves no empty folder behind
        print(f"error: {exc}", file=sys.stderr)
        return 2
