"""Steps per second of CNN training through core.train.run.Run vs a plain PyTorch loop, same model, data and batch.

    python bench/cnn.py [--steps 1000] [--chunk 50] [--repeats 5] [--channels 8,16] [--dataset digits] [--threads 1,2]

The Run trains core.model.cnn.CNN on its flat theta (autograd on split leaves, the project's SGD, a finiteness
check, per-step gradient norm and minibatch loss, trajectory snapshots, one full-split evaluation at the end:
log_every = steps). The plain loop is the same architecture as nn.Sequential (Unflatten, Conv, ReLU, MaxPool,
Flatten, Linear) from the same initial weights, torch.optim.SGD, the same data tensors (run.data.x_train, y_train),
the same batch size and the same seeded randperm minibatches, with nothing logged.

Both run in this one process, after a warm-up, at 1 torch thread and at the default thread count. Within a repeat
they take turns every --chunk steps (Run.train(max_steps=chunk), then chunk plain steps, ...), so that a busy
machine's load hits both alike; a repeat's rate is its steps over its summed time, and the figure is the median
of the repeats' ratios core/plain (best vs best is printed too). CPU-time rates (process time, all threads) are
printed beside the wall-clock ones.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.model.config import TrainConfig  # noqa: E402
from core.train.run import Run  # noqa: E402


def config_for(args, steps: int) -> TrainConfig:
    return TrainConfig(dataset=args.dataset, model="cnn", channels=args.channels, optimizer="sgd", lr=0.05,
                       batch_size=64, steps=steps, device="cpu", log_every=steps)


def plain_model(run: Run) -> nn.Sequential:
    """run.spec as torch.nn, holding run.theta_init's weights."""
    spec = run.spec
    conv = nn.Conv1d if spec.n_dims == 1 else nn.Conv2d
    pool = nn.MaxPool1d if spec.n_dims == 1 else nn.MaxPool2d
    layers, c_in = [nn.Unflatten(1, spec.input_shape)], spec.input_shape[0]
    for c_out, kernel in zip(spec.channels, spec.pools):
        layers += [conv(c_in, c_out, 3, padding=1), nn.ReLU()] + ([pool(kernel)] if kernel else [])
        c_in = c_out
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(spec.flat_features, spec.n_out))
    with torch.no_grad():
        for p, v in zip(model.parameters(), spec.split(run.theta_init), strict=True):
            p.copy_(v)
    return model


class PlainLoop:
    """The textbook loop on a Run's model, data and batch size, resumable chunk by chunk."""

    def __init__(self, run: Run):
        self.model, self.x, self.y = plain_model(run), run.data.x_train, run.data.y_train
        self.opt = torch.optim.SGD(self.model.parameters(), lr=run.config.lr)
        self.gen = torch.Generator().manual_seed(run.config.seed + 1)
        self.batch = run.config.batch_size
        self.order, self.cursor = torch.randperm(len(self.y), generator=self.gen), 0

    def train(self, steps: int) -> None:
        n, b = len(self.y), self.batch
        for _ in range(steps):
            if self.cursor + b > n:
                self.order, self.cursor = torch.randperm(n, generator=self.gen), 0
            idx = self.order[self.cursor : self.cursor + b]
            self.cursor += b
            loss = nn.functional.cross_entropy(self.model(self.x[idx]), self.y[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        loss.item()


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of fn(*args)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def one_repeat(args, steps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """((plain wall, cpu), (core wall, cpu)) steps/s of one fresh Run and plain loop, taking turns every chunk."""
    run = Run(config_for(args, steps))
    plain = PlainLoop(run)
    totals = [[0.0, 0.0], [0.0, 0.0]]
    done = 0
    while done < steps:
        k = min(args.chunk, steps - done)
        for side, (fn, arg) in enumerate(((plain.train, k), (run.train, k))):
            for clock, seconds in enumerate(timed(fn, arg)):
                totals[side][clock] += seconds
        done += k
    assert run.step == steps and run.status == "done", run.message
    return tuple((steps / wall, steps / cpu) for wall, cpu in totals)


def measure(args, threads: int) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """(plain, core) rates, each (wall, cpu) steps/s, per repeat, after a warm-up."""
    torch.set_num_threads(threads)
    one_repeat(args, 4 * args.chunk)  # warm-up
    return [one_repeat(args, args.steps) for _ in range(args.repeats)]


def report(threads: int, pairs) -> None:
    median, show = statistics.median, lambda xs: ", ".join(f"{x:.0f}" for x in xs)
    print(f"  {threads} thread{'s' if threads > 1 else ''}:")
    for k, clock in enumerate(("wall", "cpu")):
        plain, ours = [p[k] for p, _ in pairs], [o[k] for _, o in pairs]
        ratios = [o[k] / p[k] for p, o in pairs]
        print(f"    {clock:4s} plain PyTorch loop : {median(plain):8.1f} steps/s  (all: {show(plain)})")
        print(f"    {clock:4s} core Run           : {median(ours):8.1f} steps/s  (all: {show(ours)})")
        print(f"    {clock:4s} ratio core/plain   : {median(ratios):.3f} median of repeats, "
              f"{max(ours) / max(plain):.3f} best vs best  (target >= 0.90)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--channels", default="8,16")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and torch's)")
    args = parser.parse_args()
    args.channels = tuple(int(c) for c in args.channels.split(","))
    default_threads = torch.get_num_threads()
    counts = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, default_threads})
    spec = Run(config_for(args, args.steps)).spec
    print(f"cpu, {args.dataset} {spec.describe()} ({spec.n_params} parameters), sgd, batch 64, {args.steps} steps "
          f"in turns of {args.chunk}, median of {args.repeats} repeats after a warm-up")
    for threads in counts:
        report(threads, measure(args, threads))
    torch.set_num_threads(default_threads)


if __name__ == "__main__":
    main()
