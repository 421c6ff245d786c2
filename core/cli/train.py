"""python -m core train --config CONFIG.json [--set key=value ...] --out DIR: one run, its files (rundir)."""

from __future__ import annotations

import sys
from pathlib import Path

from core.cli.rundir import write_outputs
from core.model import config as config_mod
from core.train.run import Run


def cmd_train(args) -> int:
    config = config_mod.resolve(args.config, args.set)
    run = Run(config)
    run.train()
    write_outputs(run, Path(args.out))
    last = run.metrics_frame().iloc[-1]
    # a regression's error columns hold the RMSE, in the label's units
    error = f"val RMSE {last.val_error:.3g}" if run.data.task == "regression" else f"val error {last.val_error:.2%}"
    print(f"step {run.step}: train loss {last.train_loss:.4g}, {error}, "
          f"{run.steps_per_second:.0f} steps/s; wrote {args.out}")
    if run.status in ("diverged", "failed"):
        print(run.message, file=sys.stderr)
        return 1
    return 0


def register(sub) -> None:
    train = sub.add_parser("train", help="train one run and write its metrics, curves and parameters")
    train.add_argument("--config", help="a flat JSON object of config fields (all optional)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a field; the value is read as JSON when it parses, else as a string")
    train.add_argument("--out", required=True, help="folder to write into")
    train.set_defaults(func=cmd_train)
