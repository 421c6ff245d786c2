"""Seconds for an n x n loss grid over a plane: core.plane vs loss-landscapes' planar_interpolation and random_plane.

    python bench/plane.py [--grid 41] [--hidden 256,256] [--repeats 3] [--threads 0]

Same model (digits MLP, relu), same plane, same digits training split for all, in this one process:

  ours (train)        core.plane.loss_grid on the train split only (an empty validation split): layer 1's
                      pre-activation z₀ + a z_a + b z_b from three products for the whole grid, then one product per
                      later layer per point.
  ours (loss_grid)    core.plane.loss_grid, what the page and `python -m core plane` call: train and validation split
                      in one pass, loss and error.
  piecewise rows      diagnostic: one interpolation._split_losses call per row of b (the interpolation walk of
                      core.interp_walk, layer 2 a quadratic in a between sign switches); it pays off on long rows, not
                      at 41 points a row.
  planar_interp.      loss_landscapes.planar_interpolation(start, end_one, end_two, Loss(cross_entropy, x, y), n) on
                      an equivalent nn.Sequential, with start = θ_i, end_one = θ_i + A d₁, end_two = θ_i + B d₂ (our
                      plane's orthonormal directions): train loss only, one forward pass per point.
  random_plane        loss_landscapes.random_plane(model at θ_i, metric, steps=n): its own filter-normalised
                      random plane, the same number of forward passes; timed only (its directions are not returned).

planar_interpolation walks its grid with in-place float32 adds and (a quirk of the library) evaluates its even
columns at j + 1 steps of the second direction and its odd ones at j: the values are compared point by point after
that shift, against ours evaluated on an n x (n + 1) grid. The best of the repeats is compared; another process on
this 2-core machine (see the first line) makes the times noisy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import loss_landscapes
from loss_landscapes.metrics import Loss

from bench.interpolation import load_mark, race, report_load, to_sequential
from core.model.config import TrainConfig
from core.model.data import make_dataset
from core.probes import interpolation
from core.probes import plane as pl
from core.train.run import Run

CPU = torch.device("cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=41)
    parser.add_argument("--hidden", default="256,256")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = torch's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    n, hidden = args.grid, tuple(int(h) for h in args.hidden.split(","))
    mark = load_mark()

    config = TrainConfig(dataset="digits", hidden=hidden, activation="relu", lr=0.05, steps=300, device="cpu")
    run = Run(config)
    run.train()
    data = make_dataset("digits", 1797, 0.0, 0.2, 0, torch.device("cpu"))
    spec, x, y = run.spec, data.x_train, data.y_train
    thetas = torch.stack([run.theta_init, run.theta.detach()])
    plane = pl.make_plane(spec, thetas, "random", seed=0)
    span_a, span_b = 1.5 * plane.length, plane.length  # a in [0, 1.5 L), b in [0, L]: both ends inside
    a_vals = np.arange(n) * (span_a / n)
    b_vals = np.arange(n + 1) * (span_b / n)
    a_sym = np.linspace(-0.25 * plane.length, 1.25 * plane.length, n)
    b_sym = np.linspace(-0.5 * plane.length, 0.5 * plane.length, n)
    metric = Loss(nn.CrossEntropyLoss(), x, y)
    end_one = to_sequential(spec, plane.point(span_a, 0.0))
    end_two = to_sequential(spec, plane.point(0.0, span_b))

    train_only = SimpleNamespace(x_train=x, y_train=y, x_val=x[:0], y_val=y[:0])

    def ours_train(a=a_sym, b=b_sym):
        grid = pl.loss_grid(spec, train_only, plane, a, b)
        return grid["train_loss"].to_numpy().reshape(len(b), len(a))  # (len(b), len(a))

    def piecewise_rows(a=a_sym, b=b_sym):
        a_t = torch.as_tensor(a, dtype=torch.float32)
        rows = []
        for bb in b.tolist():
            row0 = plane.origin.double() + bb * plane.d2
            rows.append(interpolation._split_losses(spec, row0.float(), (row0 + plane.d1).float(), a_t, x, y)[0])
        return np.stack(rows)  # (len(b), len(a))

    def ours_grid():
        return pl.loss_grid(spec, data, plane, a_sym, b_sym)

    def planar(start):
        return loss_landscapes.planar_interpolation(start, end_one, end_two, metric, steps=n)

    def rplane(start):
        torch.manual_seed(0)
        return loss_landscapes.random_plane(start, metric, distance=1, steps=n)

    def fresh():  # the library moves its start model in place: a new one, untimed, before each call
        return to_sequential(spec, run.theta_init)

    contenders = {"ours (train)": (ours_train, None), "ours (loss_grid)": (ours_grid, None),
                  "piecewise rows": (piecewise_rows, None),
                  "planar_interpolation": (planar, fresh), "random_plane": (rplane, fresh)}
    race(contenders, 1, CPU)  # warm-up
    times, res = race(contenders, args.repeats, CPU)
    best = {name: min(ts) for name, ts in times.items()}

    ours_same = ours_train(a_vals, b_vals)  # (n + 1, n): [k, i] = J(θ_i + a_i d1 + b_k d2)
    lib = np.asarray(res["planar_interpolation"])  # (n, n): [i, j] at a_i and b_{j + (i even)}
    shift = (np.arange(n) % 2 == 0).astype(int)
    ours_at_lib = np.stack([ours_same[np.arange(n) + shift[i], i] for i in range(n)])
    diff = np.abs(ours_at_lib - lib)
    with torch.no_grad():
        direct = float(nn.functional.cross_entropy(to_sequential(spec, plane.point(a_vals[3], b_vals[5]))(x), y))

    report_load(mark)
    print(f"cpu, {torch.get_num_threads()} threads, torch {torch.__version__}, loss-landscapes 3.0.6; digits MLP "
          f"{list(hidden)} relu, {spec.n_params:,} parameters, train split {len(y)} x {x.shape[1]}, "
          f"{n} x {n} = {n * n:,} points, ‖θ_f − θ_i‖ = {plane.length:.4g}, best of {args.repeats} alternating rounds")
    print("agreement with planar_interpolation (train loss, all its points, after its column shift):")
    print(f"  max |diff| {diff.max():.2e}, median {np.median(diff):.2e}; loss range {lib.min():.4f} .. {lib.max():.4f}")
    print(f"  ours vs nn.Sequential forward at (a_3, b_5)          : {abs(ours_same[5, 3] - direct):.2e}")
    print(f"  ours (loss_grid) train_loss vs ours (train)          : "
          f"{np.abs(res['ours (loss_grid)']['train_loss'].to_numpy() - res['ours (train)'].ravel()).max():.2e}")
    print(f"  piecewise rows vs ours (train)                       : "
          f"{np.abs(res['piecewise rows'] - res['ours (train)']).max():.2e}")
    print("times:")
    for name in contenders:
        print(f"  {name:<22}: {best[name]:7.2f} s  (all: {', '.join(f'{t:.2f}' for t in times[name])})")
    print("ratios (same number of points):")
    print(f"  planar_interpolation / ours (train), both train loss only : "
          f"{best['planar_interpolation'] / best['ours (train)']:5.2f}x")
    print(f"  piecewise rows / ours (train)                               : "
          f"{best['piecewise rows'] / best['ours (train)']:5.2f}x")
    print(f"  random_plane / ours (train)                                 : "
          f"{best['random_plane'] / best['ours (train)']:5.2f}x")
    print(f"  planar_interpolation (train loss) / ours (loss_grid: train+val, loss+error): "
          f"{best['planar_interpolation'] / best['ours (loss_grid)']:5.2f}x")


if __name__ == "__main__":
    main()
