"""Seconds for the paper's Fig. 11 random walk at d = 100,000: core.comparators.random_walk vs a direct simulation.

    python bench/random_walk.py [--dim 100000] [--steps 1000] [--solution-step 900] [--repeats 3] [--seeds 5]

Both produce the projection p_k = θ_k·u on the axis u = θ_solution/‖θ_solution‖ and the residual r_k = ‖θ_k − p_k u‖₂
of a walk θ_0 = 0, θ_{k+1} = θ_k + N(0, I_d), for k = 0..steps:

  ours    core.comparators.random_walk: the steps' Gram matrix is Wishart(d, I_steps), so the walk is drawn in R^steps
          from its Bartlett factor (steps²/2 normals and steps chi² draws): exact in distribution, O(steps²) whatever d.
  direct  what one would write instead, in O(d) memory: pass 1 draws the steps one at a time up to the solution step
          to get u; pass 2 replays the same seeded stream and projects every θ_k. (Keeping all steps in one
          steps × d float64 matrix instead would take steps·d·8 bytes: 800 MB at the defaults.)

Both run in this one process, alternating, and the best of the repeats is compared. They use different random
numbers, so they are cross-checked statistically: max residual, its ratio to ‖θ_solution‖ (→ 1/2 as d grows) and
the residual at the last step, against each other and against the large-d limits r_k² ≈ d·k(s − k)/s (k ≤ s) and
r_k² ≈ d·(k − s) (k > s), s the solution step; `--seeds` more seeds of ours give the spread to judge by.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.toys.comparators import random_walk  # noqa: E402


def direct(dim: int, steps: int, solution: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Projections and residual norms (steps + 1,) by simulating the walk in R^dim, two streamed passes."""
    rng = np.random.default_rng(seed)
    theta = np.zeros(dim)
    for _ in range(solution):
        theta += rng.standard_normal(dim)
    u = theta / np.linalg.norm(theta)
    rng = np.random.default_rng(seed)  # replay the same steps
    theta[:] = 0.0
    projection, residual = np.zeros(steps + 1), np.zeros(steps + 1)
    for k in range(1, steps + 1):
        theta += rng.standard_normal(dim)
        p = float(theta @ u)
        projection[k], residual[k] = p, float(np.linalg.norm(theta - p * u))
    return projection, residual


def ours(dim: int, steps: int, solution: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    frame = random_walk([dim], steps, solution, seed)
    return frame["projection"].to_numpy(), frame["residual"].to_numpy()


def stats(projection: np.ndarray, residual: np.ndarray, solution: int) -> dict:
    return {"max residual": residual.max(), "step of max": int(residual.argmax()),
            "max r / ‖θ_s‖": residual.max() / projection[solution], "r at last step": residual[-1],
            "r at solution": residual[solution]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--solution-step", type=int, default=900)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5, help="extra seeds of ours, for the statistical spread")
    args = parser.parse_args()
    d, n, s = args.dim, args.steps, args.solution_step

    times = {"ours": [], "direct": []}
    results = {}
    ours(d, n, s, 0)  # warm-up
    for _ in range(args.repeats):
        for name, fn in (("ours", ours), ("direct", direct)):
            start = time.perf_counter()
            results[name] = fn(d, n, s, 0)
            times[name].append(time.perf_counter() - start)
    best = {name: min(t) for name, t in times.items()}

    print(f"random walk, d = {d:,}, {n:,} steps, solution step {s}, best of {args.repeats} alternating rounds")
    for name in ("ours", "direct"):
        print(f"  {name:<7}: {best[name] * 1e3:9.1f} ms  (all: {', '.join(f'{t * 1e3:.0f}' for t in times[name])})")
    print(f"  speedup ours vs direct: {best['direct'] / best['ours']:.0f}x")

    a, b = stats(*results["ours"], s), stats(*results["direct"], s)
    spread = [stats(*ours(d, n, s, seed), s) for seed in range(1, args.seeds + 1)]
    limit = {"max residual": np.sqrt(d * s) / 2, "step of max": s // 2, "max r / ‖θ_s‖": 0.5,
             "r at last step": np.sqrt(d * (n - s)), "r at solution": 0.0}
    print("cross-check (different random numbers; the large-d limit; ours over more seeds):")
    seeds = f"ours, seeds 1..{args.seeds}"
    print(f"  {'':<16}{'ours':>12}{'direct':>12}{'rel. diff':>11}{'limit':>12}{seeds:>26}")
    for key in a:
        rel = abs(a[key] - b[key]) / abs(b[key]) if b[key] else float("nan")
        vals = [x[key] for x in spread]
        print(f"  {key:<16}{a[key]:12.5g}{b[key]:12.5g}{rel:11.2%}{limit[key]:12.5g}"
              f"{f'{min(vals):.5g} .. {max(vals):.5g}':>26}")


if __name__ == "__main__":
    main()
