"""λ_max of a network's Hessian: core.curvature.top_eigenvalue (Lanczos) vs PyHessian (power iteration).

    python bench/top_eigenvalue.py [--tol 1e-3] [--repeats 3]

Same model (digits MLP [64, 64] relu, trained 300 steps so that the curvature is a trained network's), same
training split, same relative tolerance: ours stops when the top Lanczos Ritz value moves by less than tol in one
iteration; PyHessian's `eigenvalues(tol=...)` stops when its power-iteration estimate does. Both count Hessian-vector
products. Ours is reverse-over-reverse (the gradient of gᵀv) on the flat θ; PyHessian double-backward
through an nn.Module. The exact λ_max (full Hessian, eigvalsh) is the reference when the model is small enough.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.interpolation import to_sequential  # noqa: E402
from core.model import networks  # noqa: E402
from core.model.config import TrainConfig  # noqa: E402
from core.probes import curvature  # noqa: E402
from core.train.run import Run  # noqa: E402

CONFIG = TrainConfig(dataset="digits", hidden=(64, 64), activation="relu", batch_size=64, steps=300, device="cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from pyhessian import hessian as PyHessian

    run = Run(CONFIG)
    run.train()
    spec, theta = run.spec, run.theta.detach()
    x, y = run.data.x_train, run.data.y_train
    model = to_sequential(spec, theta)

    def loss(t):
        return networks.loss_fn(spec, t, x, y)

    ours_times, theirs_times = [], []
    for r in range(args.repeats):
        start = time.perf_counter()
        ours, _, products = curvature.top_eigenvalue(loss, theta, tol=args.tol, seed=r)
        ours_times.append(time.perf_counter() - start)
        torch.manual_seed(r)
        start = time.perf_counter()
        values, _ = PyHessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False).eigenvalues(maxIter=1000,
                                                                                                   tol=args.tol)
        theirs_times.append(time.perf_counter() - start)
        theirs = values[0]
    print(f"digits MLP [64, 64] relu, P = {spec.n_params:,}, {len(y):,} training images, tol {args.tol:g}, "
          f"best of {args.repeats}")
    print(f"  ours (Lanczos)       : {min(ours_times) * 1e3:8.1f} ms, {products} Hessian-vector products, "
          f"λ_max = {ours:.6g}")
    print(f"  PyHessian (power it.): {min(theirs_times) * 1e3:8.1f} ms, λ = {theirs:.6g}")
    print(f"  speedup ours vs PyHessian: {min(theirs_times) / min(ours_times):.2f}x; "
          f"relative difference {abs(ours - theirs) / abs(theirs):.2e}")


if __name__ == "__main__":
    main()
