"""python -m core surface NAME: race optimizers on an analytic 2-D surface (definitions §5) and write the paths.

    python -m core surface rosenbrock --optimizers momentum,adam,newton --start=-1.2,1 --steps 1000 --out DIR
        [--lr LR] [--momentum M] [--damping D] [--noise S] [--clip C] [--seed N] [--condition K --angle A]
        [--png] [--svg]

Writes DIR/path.csv with the columns optimizer, step, x, y, f: one row per step per optimizer, step 0 (the start)
included. An optimizer may carry its own learning rate as KIND:LR (`sgd:0.001,newton:0.5`); otherwise --lr sets it
for the first-order methods (sgd, momentum, nesterov, adam) and the surface's default applies when --lr is left out.
Newton and saddle-free Newton take lr 1 and damping 0 (the textbook step) unless told. A path that diverges or
leaves the map stops there; the command says so and still exits 0. --png/--svg also write surface.* (the map with
the paths) and loss.* (f against step). Bad input exits with status 2 and one sentence.
"""

from __future__ import annotations

from pathlib import Path

from core.charts import surfaces as sc
from core.cli.rundir import save_figures
from core.model.config import check_seed
from core.model.optim import OPTIMIZERS
from core.toys import landmarks, surfaces
from core.toys import race as race_mod

OUT_FILE = "path.csv"


def parse_start(text: str) -> tuple[float, float]:
    """'x,y' -> (x, y)."""
    try:
        x, y = (float(v) for v in str(text).split(","))
    except ValueError:
        message = f"write --start as two numbers x,y (for a negative x: --start=-1.2,1), got '{text}'."
        raise ValueError(message) from None
    return race_mod.check_start((x, y))


def parse_runners(text: str, surface: surfaces.Surface, lr: float | None, momentum: float | None,
                  damping: float | None) -> list[race_mod.Runner]:
    """'sgd,momentum:0.001,newton' -> runners with the surface's defaults and the command's overrides."""
    runners = []
    for item in (part.strip() for part in str(text).split(",")):
        kind, _, own_lr = item.partition(":")
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer '{kind}' in --optimizers; choose from {', '.join(OPTIMIZERS)}.")
        settings = {}
        if own_lr:
            try:
                settings["lr"] = float(own_lr)
            except ValueError:
                raise ValueError(f"the learning rate in '{item}' must be a number, e.g. {kind}:0.01.") from None
        elif lr is not None and not OPTIMIZERS[kind].needs_hessian:
            settings["lr"] = lr
        if momentum is not None and kind != "sgd":
            settings["momentum"] = momentum
        if damping is not None:
            settings["damping"] = damping
        name = kind if kind not in [r.name for r in runners] else f"{kind} #{len(runners) + 1}"
        runners.append(race_mod.runner(surface, kind, name=name, **settings))
    return runners


def cmd_surface(args) -> int:
    check_seed(args.seed)
    surface = surfaces.make(args.name, args.condition, args.angle)
    start = parse_start(args.start) if args.start is not None else surface.start
    steps = surface.steps if args.steps is None else args.steps
    kinds = args.optimizers if args.optimizers is not None else ",".join(surface.racers)
    runners = parse_runners(kinds, surface, args.lr, args.momentum, args.damping)
    frame = race_mod.race(surface, runners, start, steps, args.noise, args.seed, args.clip)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame[race_mod.COLUMNS].to_csv(out / OUT_FILE, index=False)
    figures = {"surface": sc.race_chart(surface, surfaces.grid(surface), frame, start=start,
                                          marks=landmarks.landmarks(surface)),
               "loss": sc.loss_chart(frame)}
    save_figures(figures, out, args.png, args.svg)
    stopped = frame.attrs["stopped"]
    for name, part in frame.groupby("optimizer", sort=False):
        last = part.iloc[-1]
        note = f"; {stopped[name]}" if name in stopped else ""
        print(f"{name}: step {int(last.step):,} at ({last.x:.6g}, {last.y:.6g}), f = {last.f:.6g}{note}")
    print(f"wrote {out / OUT_FILE}")
    return 0


def register(sub) -> None:
    """Add the `surface` subcommand to the `python -m core` parser."""
    p = sub.add_parser("surface", help="race optimizers on an analytic 2-D surface and write their paths")
    p.add_argument("name", help=f"the surface: {', '.join(surfaces.SURFACES)}")
    p.add_argument("--optimizers", help=f"comma-separated, each KIND or KIND:LR (default: the surface's own picks); "
                   f"kinds: {', '.join(OPTIMIZERS)}")
    p.add_argument("--start", help="x,y (default: the surface's own start); write --start=-1.2,1 for a negative x")
    p.add_argument("--steps", type=int, help=f"steps per optimizer, 1 to {race_mod.MAX_STEPS:,} (default: the "
                   "surface's own)")
    p.add_argument("--lr", type=float, help="learning rate of the first-order optimizers (default: the surface's)")
    p.add_argument("--momentum", type=float, help=f"μ of momentum and Nesterov, β₁ of Adam (default "
                   f"{race_mod.DEFAULT_MOMENTUM})")
    p.add_argument("--damping", type=float, help="λ of Newton and saddle-free Newton (default 0)")
    p.add_argument("--noise", type=float, default=0.0, help="std of Gaussian noise added to every gradient")
    p.add_argument("--clip", type=float, default=0.0, help="clip every gradient to this norm (0 = off)")
    p.add_argument("--seed", type=int, default=0, help="seed of the gradient noise")
    p.add_argument("--condition", type=float, default=10.0, help="the bowl's condition number")
    p.add_argument("--angle", type=float, default=30.0, help="the bowl's rotation, degrees")
    p.add_argument("--out", required=True, help="folder to write into")
    p.add_argument("--png", action="store_true", help="also write the figures as PNG")
    p.add_argument("--svg", action="store_true", help="also write the figures as SVG")
    p.set_defaults(func=cmd_surface)
