"""Cost of the curvature tools against plain PyTorch, side by side in one process.

    python bench/curvature.py [--steps 600] [--repeats 3]

1. The eq. 8.10 monitor: steps per second of core.train.run.Run with `curvature_monitor` on (gᵀg, gᵀHg every step with
   one extra double-backward, λ_max by warm-started Lanczos at each logged row) against the same run with it off.
   The issue's budget: at most one extra backward-like pass, i.e. a ratio of about 2 or less.
2. The exact spectrum at P ≈ 350 (MLP [16, 16] tanh on 2-D data, 1,000 points, 800 in the training split):
   core.spectrum.exact against torch.func.hessian + torch.linalg.eigvalsh written out by hand, same float32 loss.
Run it on a quiet machine: other processes on the same cores distort both sides.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.model import networks  # noqa: E402
from core.model.build import model_and_data  # noqa: E402
from core.model.config import TrainConfig  # noqa: E402
from core.probes import spectrum  # noqa: E402
from core.train.run import Run  # noqa: E402

MONITORED = {
    "moons MLP [32, 32] tanh, batch 32": TrainConfig(device="cpu", log_every=50),
    "digits MLP [64, 64] relu, batch 64": TrainConfig(dataset="digits", hidden=(64, 64), activation="relu",
                                                      batch_size=64, device="cpu", log_every=50),
}
SPECTRUM = TrainConfig(dataset="moons", n_samples=1000, hidden=(16, 16), activation="tanh", device="cpu")


def steps_per_second(config: TrainConfig, steps: int) -> float:
    run = Run(config.replace(steps=steps))
    run.train(max_steps=20)  # warm-up
    start = time.perf_counter()
    run.train()
    return (run.step - 20) / (time.perf_counter() - start)


def monitor(steps: int, repeats: int) -> None:
    print("eq. 8.10 monitor: steps/s off, on, and the cost ratio (off/on)")
    for label, config in MONITORED.items():
        ratios, offs, ons = [], [], []
        for _ in range(repeats):
            off = steps_per_second(config, steps)
            on = steps_per_second(config.replace(curvature_monitor=True), steps)
            offs.append(off), ons.append(on), ratios.append(off / on)
        print(f"  {label}: off {statistics.median(offs):,.0f}/s, on {statistics.median(ons):,.0f}/s, "
              f"a monitored step costs {statistics.median(ratios):.2f}x a plain one (runs: "
              + ", ".join(f"{r:.2f}" for r in ratios) + ")")


def exact_spectrum(repeats: int) -> None:
    spec, data = model_and_data(SPECTRUM)
    theta = networks.init_params(spec, 1.0, 0)
    loss = spectrum.split_loss(spec, data)

    def ours():
        return spectrum.exact(loss, theta).eigenvalues

    def plain():
        h = torch.func.hessian(lambda th: networks.loss_fn(spec, th, data.x_train, data.y_train))(theta)
        return torch.linalg.eigvalsh(h.double())

    times = {"ours": [], "torch.func.hessian + eigvalsh": []}
    a, b = ours(), plain()  # warm-up, and the same answer
    for _ in range(repeats):
        for name, f in (("ours", ours), ("torch.func.hessian + eigvalsh", plain)):
            start = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - start)
    t_ours, t_plain = statistics.median(times["ours"]), statistics.median(times["torch.func.hessian + eigvalsh"])
    print(f"exact spectrum, P = {spec.n_params}, {len(data.y_train)} training points: ours {t_ours * 1e3:.1f} ms, "
          f"torch.func.hessian + eigvalsh {t_plain * 1e3:.1f} ms, ratio {t_plain / t_ours:.2f}x; "
          f"max |difference| {float((a - b).abs().max()):.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    monitor(args.steps, args.repeats)
    exact_spectrum(max(args.repeats, 5))


if __name__ == "__main__":
    main()
