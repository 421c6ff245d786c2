"""Steps per second of RNN and LSTM training through core.train.run.Run vs a plain PyTorch loop, same model and data.

    python bench/rnn.py [--models rnn,lstm] [--dataset adding] [--seq-len 20] [--hidden 32] [--batch 32]
                        [--steps 600] [--chunk 50] [--repeats 5] [--threads 1,2]

The Run trains core.model.recurrent.RNN / LSTM on its flat theta (autograd on split leaves through ATen's
torch.rnn_tanh / torch.lstm, the project's SGD, a finiteness check, per-step gradient norm and minibatch loss,
trajectory snapshots, one full-split evaluation at the end: log_every = steps). The plain loop is nn.RNN / nn.LSTM
(batch first) and nn.Linear on the last hidden state, from the same initial weights, torch.optim.SGD with the same
lr, the same data tensors (run.data.x_train, y_train), the same batch size and the same seeded randperm minibatches,
with nothing logged; its loss is the Run's (cross-entropy, or the mean squared error on adding).

Both run in this one process, after a warm-up, at 1 torch thread and at the default thread count. Within a repeat
they take turns every --chunk steps, so that a busy machine's load hits both alike; a repeat's rate is its steps
over its summed time, and the figure is the median of the repeats' ratios core/plain (best vs best is printed too).
CPU-time rates (process time, all threads) are printed beside the wall-clock ones.
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

TARGET = 0.85


def config_for(args, model: str, steps: int) -> TrainConfig:
    return TrainConfig(dataset=args.dataset, model=model, hidden=(args.hidden,), seq_len=args.seq_len, n_samples=2000,
                       optimizer="sgd", lr=0.05, batch_size=args.batch, steps=steps, device="cpu", log_every=steps)


class Plain(nn.Module):
    """nn.RNN or nn.LSTM and nn.Linear on the last hidden state, holding a Run's θ_init."""

    def __init__(self, run: Run):
        super().__init__()
        spec = run.spec
        self.shape = (spec.seq_len, spec.input_size)
        self.rnn = (nn.LSTM if spec.kind == "lstm" else nn.RNN)(spec.input_size, spec.hidden_size, batch_first=True)
        self.readout = nn.Linear(spec.hidden_size, spec.n_out)
        with torch.no_grad():
            for p, v in zip(self.parameters(), spec.split(run.theta_init), strict=True):
                p.copy_(v)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x.view(len(x), *self.shape))
        return self.readout((h[0] if isinstance(h, tuple) else h)[-1])


class PlainLoop:
    """The textbook loop on a Run's model, data and batch size, resumable chunk by chunk."""

    def __init__(self, run: Run):
        self.model, self.x, self.y = Plain(run), run.data.x_train, run.data.y_train
        self.regression = run.spec.task == "regression"
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
            out, y = self.model(self.x[idx]), self.y[idx]
            loss = nn.functional.mse_loss(out[:, 0], y) if self.regression else nn.functional.cross_entropy(out, y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        loss.item()


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of fn(*args)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def one_repeat(args, model: str, steps: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """((plain wall, cpu), (core wall, cpu)) steps/s of one fresh Run and plain loop, taking turns every chunk."""
    run = Run(config_for(args, model, steps))
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


def measure(args, model: str, threads: int) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """(plain, core) rates, each (wall, cpu) steps/s, per repeat, after a warm-up."""
    torch.set_num_threads(threads)
    one_repeat(args, model, 4 * args.chunk)  # warm-up
    return [one_repeat(args, model, args.steps) for _ in range(args.repeats)]


def report(threads: int, pairs) -> None:
    median, show = statistics.median, lambda xs: ", ".join(f"{x:.0f}" for x in xs)
    print(f"  {threads} thread{'s' if threads > 1 else ''}:")
    for k, clock in enumerate(("wall", "cpu")):
        plain, ours = [p[k] for p, _ in pairs], [o[k] for _, o in pairs]
        ratios = [o[k] / p[k] for p, o in pairs]
        print(f"    {clock:4s} plain PyTorch loop : {median(plain):8.1f} steps/s  (all: {show(plain)})")
        print(f"    {clock:4s} core Run           : {median(ours):8.1f} steps/s  (all: {show(ours)})")
        print(f"    {clock:4s} ratio core/plain   : {median(ratios):.3f} median of repeats, "
              f"{max(ours) / max(plain):.3f} best vs best  (target >= {TARGET})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="rnn,lstm")
    parser.add_argument("--dataset", default="adding", help="adding, copy or parity")
    parser.add_argument("--seq-len", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and torch's)")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    counts = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, default_threads})
    for model in args.models.split(","):
        spec = Run(config_for(args, model, args.steps)).spec
        print(f"cpu, {args.dataset} {spec.describe()} ({spec.n_params} parameters), sgd, batch {args.batch}, "
              f"{args.steps} steps in turns of {args.chunk}, median of {args.repeats} repeats after a warm-up")
        for threads in counts:
            report(threads, measure(args, model, threads))
    torch.set_num_threads(default_threads)


if __name__ == "__main__":
    main()
