"""Command-line command for random restarts: how many seeds of a network fit its training set, per width.

python -m core restarts --config C.json [--set KEY=VALUE ...] --seeds N [--widths 1,2,4,8] [--max-error E]
        [--engine local|ray] [--chunk K] [--threads T] --out OUT
    restarts.csv: width, seed, final_train_loss, final_train_error, fits; one row per width and seed. The seeds are
    the config's seed, seed + 1, ..., seed + N - 1; each trains the config as `python -m core train` would (same
    θ_init, same minibatch order), all of one width at once (core/train/restarts.py). Width w makes every hidden
    layer w wide (the config's depth kept); 0 is logistic regression; without --widths, the config's own network.
    fits (a classification): restarts.FIT_RULE, a final train error at most 1 percentage point above the lowest any
    restart reached at the largest width (noisy data leave every network above error 0); --max-error E: at most E
    instead (0: every training point classified right). A regression fits at train MSE <= 0.05 · Var(y_train).
    --engine ray sends each chunk of K seeds to a Ray task (RAY_ADDRESS joins a running cluster); the numbers are the
    local ones. N is 1 to MAX_SEEDS (5,000) and T 1 to MAX_THREADS (64), refused before anything is trained.
"""

from __future__ import annotations

from pathlib import Path

import torch

from core.model.config import MAX_SEED, resolve, shown
from core.train import restarts

MAX_SEEDS = 5000  # restarts per width: a fraction to within ±0.7 points (its standard error at 50%), in hours, not days
MAX_THREADS = 64  # torch threads: more than the cores of any machine this runs on; torch itself fails far above it


def _count(text: str, name: str, what: str, hi: int) -> int:
    """A whole number from 1 to hi, checked before anything is made of it."""
    text = str(text).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(hi)) or not 1 <= int(text) <= hi:
        raise ValueError(f"{name} takes a whole number from 1 to {hi:,} ({what}), got {shown(text)}")
    return int(text)


def _seeds(text: str, base: int) -> list[int]:
    n = _count(text, "--seeds", "how many restarts", MAX_SEEDS)
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
    max_error = None if args.max_error is None else _fraction(args.max_error, "--max-error", 0, 1)
    chunk = restarts.CHUNK if args.chunk is None else _count(args.chunk, "--chunk", "restarts per call", MAX_SEEDS)
    threads = _count(args.threads, "--threads", "torch threads", MAX_THREADS)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        frame = restarts.sweep(config, widths, seeds, max_error, args.engine, chunk)  # checks all, then trains
    finally:
        torch.set_num_threads(previous)
    out = Path(args.out)
    frame.to_csv(out / "restarts.csv", index=False)
    for row in restarts.fractions(frame).itertuples():
        net = "logistic regression" if row.width == 0 else f"width {row.width}"
        print(f"{net}: {round(row.fits * row.restarts)}/{row.restarts} fit ({row.fits:.0%}); final train loss "
              f"{row.loss_min:.4g} to {row.loss_max:.4g}")
    print(_fits_line(config, frame, max_error))
    print(f"wrote {out / 'restarts.csv'}")
    return 0


def _fits_line(config, frame, max_error: float | None) -> str:
    """What "fit" meant above, in one line, with the threshold it came to."""
    if restarts.task_of(config) == "regression":
        return f"fits: final train MSE at most {restarts.REGRESSION_FIT:g} · Var(y_train) (R² ≥ 0.95)"
    if max_error is not None:
        return f"fits: final train error at most {max_error:.2%} (--max-error)"
    best = frame.loc[frame["width"] == frame["width"].max(), "final_train_error"].min()
    return f"{restarts.fit_rule()} (here: error ≤ {best + restarts.FIT_MARGIN:.2%})."


def register(sub) -> None:
    p = sub.add_parser("restarts", help="N seeds trained at once per width: the fraction that fits its training set")
    p.add_argument("--config", help="a flat JSON object of config fields (all optional)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    p.add_argument("--seeds", required=True, help=f"how many restarts, 1 to {MAX_SEEDS:,}: seeds seed, seed + 1, "
                   "..., seed + N - 1")
    p.add_argument("--widths", help="comma-separated hidden widths, e.g. 0,1,2,4,8 (0 = logistic regression); "
                   "each sets every hidden layer of the config; default: the config's own network")
    p.add_argument("--max-error", help="a fixed threshold: a restart fits when its final train error is at most "
                   f"this (0: every point right). Without it: {restarts.fit_rule()}.")
    p.add_argument("--engine", default="local", help="local (this process) or ray (one Ray task per chunk)")
    p.add_argument("--chunk", help=f"restarts trained together, per vectorised call and Ray task "
                   f"(default {restarts.CHUNK})")
    p.add_argument("--threads", default="1", help=f"torch threads of the local engine, 1 to {MAX_THREADS} (default 1: "
                   "the stacked tensors are small, and more threads only contend on a busy machine)")
    p.add_argument("--out", required=True, help="folder to write restarts.csv into")
    p.set_defaults(func=cmd_restarts)
