"""Command-line commands for inexact gradients and for the signal through depth at initialisation.

python -m core gradient-noise --run DIR [--step N] [--batch-sizes 1,4,16,64,256,full] [--samples 64] [--seed S]
        --out OUT
    noise.csv: batch_size, relative_error_mean, cosine_mean, relative_error_std, cosine_std, predicted,
    relative_error_rms; one row per batch size m (full = the whole training split, N), over --samples minibatches of
    m training examples drawn without replacement, at the run's final θ or its saved checkpoint at step N
    (definitions §12). Default batch sizes: 1, 4, 16, ... below N, and full.
python -m core depth-signal --config C.json [--set KEY=VALUE ...] [--hidden 64,64,...] [--scales 0.5,1,2] [--n 512]
        [--seed S] --out OUT
    signal.csv: scale, layer, activation_std, grad_norm; layers 1..L hidden, L + 1 the output (definitions §13).
    --hidden replaces the config's widths and may have up to 10 layers (the config itself allows 6).
"""

from __future__ import annotations

import math
from pathlib import Path

from core.cli.rundir import load_run_dir
from core.model.build import model_and_data
from core.model.config import MAX_DIGITS, MAX_SEED, resolve, shown
from core.probes import depth_signal as ds
from core.probes import gradient_noise as gn

MAX_SAMPLES = 10_000
CSV_COLUMNS = ["batch_size", "relative_error_mean", "cosine_mean", "relative_error_std", "cosine_std", "predicted",
               "relative_error_rms"]


def _whole(text: str, name: str, lo: int, hi: int | None = None) -> int:
    t = str(text).strip()
    if not (t.isascii() and t.isdigit()) or len(t) > MAX_DIGITS or int(t) < lo or (hi is not None and int(t) > hi):
        bound = f"from {lo} to {hi:,}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} takes a whole number {bound}, got {shown(text)}")
    return int(t)


def parse_batch_sizes(text: str) -> list[int | str]:
    """'1,4,full' -> [1, 4, 'full']; whole numbers >= 1 or 'full', none twice."""
    items = [t.strip().lower() for t in str(text).split(",")]
    for t in items:
        if t != "full" and not t.isdigit():
            raise ValueError(f"--batch-sizes takes comma-separated whole numbers >= 1 or 'full', such as "
                             f"1,4,16,64,full; {t!r} is not one")
        if t != "full" and int(t) < 1:
            raise ValueError(f"--batch-sizes: a batch size must be at least 1, got {t}")
    sizes = [t if t == "full" else int(t) for t in items]
    if len(set(sizes)) != len(sizes):
        raise ValueError("--batch-sizes lists a batch size twice")
    return sizes


def _sizes_for(sizes: list[int | str] | None, n: int) -> list[int]:
    """The batch sizes as numbers for a split of n; the default 1, 4, 16, ... below n, then n."""
    if sizes is None:
        return [4**k for k in range(math.ceil(math.log(n, 4)) if n > 1 else 0) if 4**k < n] + [n]
    too_big = [b for b in sizes if b != "full" and b > n]
    if too_big:
        raise ValueError(f"--batch-sizes: {too_big[0]} is larger than the training split, which has {n:,} examples "
                         "(full uses all of them)")
    numbers = [n if b == "full" else b for b in sizes]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"--batch-sizes names {n} and full, which are the same batch here")
    return numbers


def cmd_noise(args) -> int:
    samples = _whole(args.samples, "--samples", 1, MAX_SAMPLES)
    seed = _whole(args.seed, "--seed", 0, MAX_SEED)
    sizes = None if args.batch_sizes is None else parse_batch_sizes(args.batch_sizes)
    record = load_run_dir(args.run)
    step = record.step if args.step is None else _whole(args.step, "--step", 0)
    theta = record.checkpoint(step)  # names the saved steps when `step` is not one of them
    spec, data = model_and_data(record.config.replace(device="cpu"))
    x, y = data.x_train, data.y_train
    numbers = _sizes_for(sizes, len(y))
    frame = gn.noise_table(spec, theta, x, y, numbers, samples, seed)[CSV_COLUMNS]
    out = Path(args.out)
    frame.to_csv(out / "noise.csv", index=False)
    print(f"{record.name} at step {step}: {samples} minibatches per batch size, of N = {len(y):,} training examples")
    for row in frame.itertuples():
        m = f"full ({row.batch_size})" if row.batch_size == len(y) else str(row.batch_size)
        print(f"m = {m}: ‖g_B − g‖/‖g‖ {row.relative_error_mean:.4f} ± {row.relative_error_std:.4f} (rms "
              f"{row.relative_error_rms:.4f}, predicted {row.predicted:.4f}), cos(g_B, g) {row.cosine_mean:.4f} ± "
              f"{row.cosine_std:.4f}")
    slope, rms = gn.loglog_slope(frame, len(y)), gn.loglog_slope(frame, len(y), column="relative_error_rms")
    if slope == slope:
        print(f"log-log slope against m over m <= N/10: {slope:.3f} for the mean relative error, {rms:.3f} for its rms "
              "(sampling theory for the rms: −0.5)")
    print(f"wrote {out / 'noise.csv'}")
    return 0


def parse_floats(text: str, name: str) -> list[float]:
    values = []
    for t in str(text).split(","):
        try:
            values.append(float(t))
        except ValueError:
            raise ValueError(f"{name} takes comma-separated numbers such as 0.5,1,2; {t.strip()!r} is not one"
                             ) from None
    return values


def parse_hidden(text: str) -> tuple[int, ...]:
    items = [t.strip() for t in str(text).split(",")]
    if not all(t.isdigit() for t in items):
        raise ValueError(f"--hidden takes comma-separated widths such as 64,64,64, got {text!r}")
    return tuple(int(t) for t in items)


def cmd_signal(args) -> int:
    config = resolve(args.config, args.set)
    scales = ds.check_scales(parse_floats(args.scales, "--scales"))
    hidden = None if args.hidden is None else ds.check_hidden(parse_hidden(args.hidden))
    n = _whole(args.n, "--n", 1)
    seed = _whole(args.seed, "--seed", 0, MAX_SEED)
    frame = ds.depth_signal(config, scales, n, seed, hidden)
    out = Path(args.out)
    frame.to_csv(out / "signal.csv", index=False)
    widths = list(config.hidden if hidden is None else hidden)
    print(f"{config.dataset}, {config.activation} MLP {widths}: layers 1..{len(widths)} hidden, "
          f"{len(widths) + 1} the output")
    table = frame.pivot(index="layer", columns="scale")
    table.columns = [f"{'std' if c == 'activation_std' else '‖∇W‖'} s={s:g}" for c, s in table.columns]
    print(table.to_string(float_format="{:.3g}".format))
    print(f"wrote {out / 'signal.csv'}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("gradient-noise", help="how far minibatch gradients lie from the full gradient, per batch size")
    p.add_argument("--run", required=True, help="a folder written by `python -m core train`")
    p.add_argument("--step", help="a saved checkpoint step of the run (default: the last)")
    p.add_argument("--batch-sizes", help="comma-separated batch sizes, 'full' = the whole training split (default: "
                   "1,4,16,... below its size, and full)")
    p.add_argument("--samples", default="64", help=f"minibatches per batch size, 1 to {MAX_SAMPLES:,} (default 64)")
    p.add_argument("--seed", default="0", help="seed of the minibatch draws (default 0)")
    p.add_argument("--out", required=True, help="folder to write noise.csv into")
    p.set_defaults(func=cmd_noise)
    s = sub.add_parser("depth-signal", help="activation std and weight-gradient norm per layer at initialisation")
    s.add_argument("--config", help="a flat JSON object of config fields (all optional)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    s.add_argument("--hidden", help=f"comma-separated hidden widths replacing the config's, up to "
                   f"{ds.MAX_SIGNAL_DEPTH} layers, e.g. 64,64,64,64,64,64,64,64")
    s.add_argument("--scales", default="0.5,1,2", help="comma-separated init scales (default 0.5,1,2)")
    s.add_argument("--n", default="512", help="training inputs in the batch (default 512; all when fewer)")
    s.add_argument("--seed", default="0", help="seed of the batch's draw (default 0; θ uses the config's seed)")
    s.add_argument("--out", required=True, help="folder to write signal.csv into")
    s.set_defaults(func=cmd_signal)

