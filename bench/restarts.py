"""Vectorised random restarts against the same restarts one after another, side by side in one process.

    python bench/restarts.py [--restarts 64] [--steps 200] [--hidden 16,16] [--dataset moons] [--threads 1]
                             [--device auto]

Both sides train `--restarts` seeds of one small MLP (tanh, momentum SGD, batch 32) for `--steps` steps on the same
data: vectorised = core.train.restarts.train_restarts (all parameters stacked, one batched step for all of them);
sequential = one plain-PyTorch loop per seed (nn.Sequential, torch.optim.SGD, the same θ_init and minibatch order).
Prints model-steps per second of each (restarts x steps / seconds, the final evaluation included) and the ratio;
the target is >= 5x on a CPU. --device auto uses cuda when there is one; --threads 0 keeps torch's default
(on a busy machine more threads only contend).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.model import networks  # noqa: E402
from core.model.build import model_and_data  # noqa: E402
from core.model.config import from_dict  # noqa: E402
from core.model.device import pick_device  # noqa: E402
from core.train.restarts import train_restarts  # noqa: E402


def sequential(config, seeds, device) -> float:
    """Seconds for one torch.optim.SGD loop per seed, each ending with its full-split train loss."""
    spec, data = model_and_data(config, device)
    x, y = data.x_train, data.y_train
    start = time.perf_counter()
    for seed in seeds:
        layers = []
        for i, ((fan_out, fan_in), _) in enumerate(spec.shapes):
            layers += ([nn.Tanh()] if i else []) + [nn.Linear(fan_in, fan_out)]
        model = nn.Sequential(*layers).to(device)
        with torch.no_grad():
            flat = networks.init_params(spec, config.init_scale, seed).to(device)
            for p, v in zip([p for p in model.parameters()], spec.split(flat)):
                p.copy_(v)
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        gen, order, cursor = torch.Generator().manual_seed(seed + 1), torch.empty(0, dtype=torch.long), 0
        for _ in range(config.steps):
            if cursor + config.batch_size > len(order):
                order, cursor = torch.randperm(len(y), generator=gen).to(device), 0
            idx = order[cursor : cursor + config.batch_size]
            cursor += config.batch_size
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            nn.functional.cross_entropy(model(x), y).item()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--hidden", default="16,16")
    parser.add_argument("--dataset", default="moons")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tiny tensors: 1 is fastest and "
                        "steadiest on a shared machine); 0 = torch's default")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = from_dict({"dataset": args.dataset, "hidden": args.hidden, "activation": "tanh", "optimizer": "momentum",
                        "lr": 0.05, "batch_size": 32, "steps": args.steps, "device": args.device})
    device = pick_device(config.device)
    seeds = list(range(args.restarts))
    train_restarts(config.replace(steps=3), seeds[:2], device=device)  # warm-up: imports, data, kernels
    sequential(config.replace(steps=3), seeds[:2], device)
    start = time.perf_counter()
    train_restarts(config, seeds, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    vectorised = time.perf_counter() - start
    one_by_one = sequential(config, seeds, device)
    work = args.restarts * args.steps
    spec, _ = model_and_data(config, "cpu")
    print(f"{args.restarts} restarts x {args.steps} steps, {args.dataset} {spec.n_params} parameters "
          f"(hidden {args.hidden}), on {device}, {torch.get_num_threads()} torch threads")
    print(f"vectorised  {work / vectorised:12,.0f} model-steps/s  ({vectorised:.2f} s)")
    print(f"sequential  {work / one_by_one:12,.0f} model-steps/s  ({one_by_one:.2f} s)")
    print(f"ratio       {one_by_one / vectorised:12.1f}x")


if __name__ == "__main__":
    main()
