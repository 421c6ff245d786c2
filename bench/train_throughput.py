"""Steps per second of a Run with live monitors vs a plain PyTorch loop, same model, data and batch size.

    python bench/train_throughput.py [--steps 4000] [--repeats 3] [--device auto]

The plain loop is nn.Sequential + torch.optim.SGD(momentum) with the same seeded randperm minibatches and
nothing logged. The Run records the minibatch loss and gradient norm every step, evaluates loss and error on
the full train and validation splits at its logged steps (auto: about 5% of the compute), and stores
trajectory snapshots.
Both run in this one process, alternating, and the best of the repeats is compared.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.model.config import TrainConfig  # noqa: E402
from core.model.data import from_config as make_data  # noqa: E402
from core.model.device import pick_device  # noqa: E402
from core.train.run import Run  # noqa: E402

CONFIG = TrainConfig(dataset="digits", hidden=(256, 256), activation="relu", optimizer="momentum", lr=0.05,
                     momentum=0.9, batch_size=64)


def plain_loop(config: TrainConfig, steps: int) -> float:
    """Steps per second of the textbook loop."""
    device = pick_device(config.device)
    data = make_data(config, device)
    torch.manual_seed(config.seed)
    sizes = (data.n_features, *config.hidden)
    layers = []
    for i, o in zip(sizes, sizes[1:]):
        layers += [nn.Linear(i, o), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], data.n_classes)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    gen = torch.Generator().manual_seed(1)
    n, b = len(data.y_train), config.batch_size
    order, cursor = torch.randperm(n, generator=gen).to(device), 0
    start = time.perf_counter()
    for _ in range(steps):
        if cursor + b > n:
            order, cursor = torch.randperm(n, generator=gen).to(device), 0
        idx = order[cursor : cursor + b]
        cursor += b
        loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    loss.item()
    return steps / (time.perf_counter() - start)


def run_loop(config: TrainConfig, steps: int) -> float:
    """Steps per second of core.train.run.Run with all its monitors."""
    run = Run(config.replace(steps=steps))
    start = time.perf_counter()
    run.train()
    assert run.step == steps, run.message
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    config = CONFIG.replace(device=args.device)
    plain, ours = [], []
    plain_loop(config, 200), run_loop(config, 200)  # warm-up
    for _ in range(args.repeats):
        plain.append(plain_loop(config, args.steps))
        ours.append(run_loop(config, args.steps))
    every = Run(config.replace(steps=args.steps)).log_every
    print(f"device {pick_device(args.device)}, digits MLP [256, 256] relu, batch 64, {args.steps} steps, "
          f"best of {args.repeats}, full-split evaluation every {every} steps")
    show = lambda xs: ", ".join(f"{x:.0f}" for x in xs)  # noqa: E731
    print(f"plain PyTorch loop : {max(plain):8.1f} steps/s  (all: {show(plain)})")
    print(f"Run with monitors  : {max(ours):8.1f} steps/s  (all: {show(ours)})")
    print(f"ratio              : {max(ours) / max(plain):.3f}  (target >= 0.90)")


if __name__ == "__main__":
    main()
