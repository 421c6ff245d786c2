"""Command-line command for random restarts: how many seeds of a network fit its training set, per width.

python -m core restarts --config C.json [--set KEY=VALUE ...] --seeds N [--widths 1,2,4,8] [--max-error E]
        [--engine local|ray] [--chunk K] [--threads T] --out OUT
    restarts.csv: width, seed, final_train_loss, final_train_error, fits; one row per width and seed. The seeds are
    the config's seed, seed + 1, ..., seed + N - 1; each trains the config as `python -m core train` would (same
    θ_init, same minibatch order), all of one width at once (core/train/restarts.py). Width w makes every hidden
    layer w wide (the config's depth kept); 0 is logistic regression; without --widths, the config's own network.
    fits: final train error <= --max-error (default 0: every training point classified right). --engine ray sends
    each chunk of K seeds to a Ray task (RAY_ADDRESS joins a running cluster); the numbers are the local ones.
"""

from __future__ import annotations

from pathlib import Path

import torch

from core.model.config import MAX_SEED, resolve
from core.train import restarts


def _count(text: str, name: str, what: str) -> int:
    if not str(text).strip().isdigit() or int(text) < 1:
        raise ValueError(f"{name} takes a whole number >= 1 ({what}), got {text!r}")
    return int(text)


def _seeds(text: str, base: int) -> list[int]:
    n = _count(text, "--seeds", "how many restarts")
    if base + n - 1 > MAX_SEED:
        raise ValueError(f"--seeds {n} from the config's seed {base} goes past the largest seed, {MAX_SEED}")
    return list(range(base, base + n))


def _fraction(text: str, name: str, lo: float, hi: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:
        raise ValueError(f"{name} takes a number from {lo:g} to {hi:g}, got {text!r}")
    return value


def cmd_restarts(args) -> int:
    if args.engine not in restarts.ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(restarts.ENGINES)}, got {args.engine!r}")
    config = resolve(args.config, args.set)
    seeds = _seeds(args.seeds, config.seed)
    widths = [restarts.config_width(config)] if args.widths is None else restarts.parse_widths(args.widths)
    max_error = _fraction(args.max_error, "--max-error", 0, 1)
    chunk = _count(args.chunk, "--chunk", "restarts per call") if args.chunk is not None else restarts.CHUNK
    threads = _count(args.threads, "--threads", "torch threads") if args.threads != "0" else 0
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(threads or previous)
        frame = restarts.sweep(config, widths, seeds, max_error, args.engine, chunk)  # checks all, then trains
    finally:
        torch.set_num_threads(previous)
    out = Path(args.out)
    frame.to_csv(out / "restarts.csv", index=False)
    for row in restarts.fractions(frame).itertuples():
        net = "logistic regression" if row.width == 0 else f"width {row.width}"
        print(f"{net}: {round(row.fits * row.restarts)}/{row.restarts} fit ({row.fits:.0%}); final train loss "
              f"{row.loss_min:.4g} to {row.loss_max:.4g}")
    print(f"wrote {out / 'restarts.csv'}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("restarts", help="N seeds trained at once per width: the fraction that fits its training set")
    p.add_argument("--config", help="a flat JSON object of config fields (all optional)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    p.add_argument("--seeds", required=True, help="how many restarts: seeds seed, seed + 1, ..., seed + N - 1")
    p.add_argument("--widths", help="comma-separated hidden widths, e.g. 0,1,2,4,8 (0 = logistic regression); "
                   "each sets every hidden layer of the config; default: the config's own network")
    p.add_argument("--max-error", default="0", help="a restart fits when its final train error is at most this "
                   "(default 0)")
    p.add_argument("--engine", default="local", help="local (this process) or ray (one Ray task per chunk)")
    p.add_argument("--chunk", help=f"restarts trained together, per vectorised call and Ray task "
                   f"(default {restarts.CHUNK})")
    p.add_argument("--threads", default="1", help="torch threads of the local engine (default 1: the stacked "
                   "tensors are small, and more threads only contend on a busy machine); 0 = torch's default")
    p.add_argument("--out", required=True, help="folder to write restarts.csv into")
    p.set_defaults(func=cmd_restarts)
