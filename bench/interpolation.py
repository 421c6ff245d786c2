"""Seconds for a 200-point interpolation curve: ours vs loss-landscapes' linear_interpolation vs a naive
loop (ours: core.probes.interpolation).

    python bench/interpolation.py [--points 200] [--repeats 5] [--end train|random] [--device auto] [--threads 0]

Same model (digits MLP [256, 256] relu), same two parameter vectors and the same digits training split for all:

  ours (train loss)   interpolation._split_losses on the train split: loss and error at every alpha, its default path on
                      this device. On a CPU that is the piecewise walk of core.interp_walk (relu: layer 2's
                      pre-activation is a quadratic in alpha between sign switches of layer 1, updated per switch);
                      on a GPU the batched direct path.
  piecewise / direct  the two methods forced (method="piecewise" / "direct"; direct goes one alpha at a time on a
                      CPU, in batches on a GPU; the first layer is linear in alpha, so X W1^T is computed twice, not
                      once per alpha, by both), and the direct path's other batching as a diagnostic.
  ours (interpolate)  interpolation.interpolate, what the app calls: train and validation split, loss and error.
  loss-landscapes     loss_landscapes.linear_interpolation(start, end, Loss(cross_entropy, x_train, y_train), steps)
                      on an equivalent nn.Sequential loaded from the same flat vectors; train loss only.
  naive loop          for each alpha, theta = (1 - a) theta0 + a theta1 and networks.evaluate on the train split.

The headline ratio is ours (train loss) vs loss-landscapes: the same split and the same number of points. Everything
runs in this one process, alternating, and the best of the repeats is compared. The curves are cross-checked where their
alphas coincide, and the achieved GFLOP/s is compared with the measured throughput of torch.mm on this machine. The
piecewise walk does far fewer FLOPs than a forward pass per alpha, so for it both the FLOPs it actually does and an
"effective" rate (the full-forward FLOPs of loss-landscapes divided by its time) are reported.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import loss_landscapes
from loss_landscapes.metrics import Loss

from core.model.config import TrainConfig
from core.model.data import make_dataset
from core.model.device import pick_device
from core.model.networks import MLP, evaluate, init_params
from core.probes import interp_walk, interpolation
from core.train.run import Run

HIDDEN = (256, 256)
CONFIG = TrainConfig(dataset="digits", hidden=HIDDEN, activation="relu", optimizer="momentum", lr=0.05, momentum=0.9,
                     batch_size=32, steps=300, log_every=300, device="cpu")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def best_time(fn, repeats: int, device: torch.device) -> float:
    """Best wall time of fn() over repeats."""
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


def race(contenders: dict, repeats: int, device: torch.device) -> tuple[dict, dict]:
    """Time every (fn, setup or None) once per round, alternating, for repeats rounds; setup() runs untimed and its
    result is fn's argument. Returns all times per name and each fn's last result."""
    times, results = {name: [] for name in contenders}, {}
    for _ in range(repeats):
        for name, (fn, setup) in contenders.items():
            arg = setup() if setup else None
            sync(device)
            start = time.perf_counter()
            results[name] = fn(arg) if setup else fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return times, results


def to_sequential(spec: MLP, theta: torch.Tensor) -> nn.Sequential:
    """nn.Sequential(Linear, ReLU, ..., Linear) holding a copy of theta (nn.Linear layout: weight (out, in), bias)."""
    layers = []
    for (o, i), _ in spec.shapes:
        layers += [nn.Linear(i, o), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    params = spec.split(theta)
    with torch.no_grad():
        for k, lin in enumerate(m for m in model if isinstance(m, nn.Linear)):
            lin.weight.copy_(params[2 * k])
            lin.bias.copy_(params[2 * k + 1])
    return model.to(theta.device)


def end_point(spec: MLP, kind: str, device: torch.device) -> torch.Tensor:
    """theta1: after a short training run from theta0 (the Run's own init), or a second random init."""
    if kind == "random":
        return init_params(spec, 1.0, 1).to(device)
    run = Run(CONFIG.replace(device=str(device.type)))
    run.train()
    assert run.step == CONFIG.steps, run.message
    return run.theta.detach().clone()


def matmul_gflops(shape: tuple[int, int, int], repeats: int, device: torch.device) -> float:
    """Best measured GFLOP/s of torch.mm (m, k) @ (k, n) in float32."""
    m, k, n = shape
    a = torch.randn(m, k, device=device)
    b = torch.randn(k, n, device=device)
    reps = max(1, int(2e9 // (2 * m * k * n)))  # ~2 GFLOP per timed call, so small shapes are not all overhead
    torch.mm(a, b)
    best = best_time(lambda: [torch.mm(a, b) for _ in range(reps)], repeats, device)
    return 2 * m * k * n * reps / best / 1e9


def busy_seconds() -> float | None:
    """CPU-seconds all processes have used since boot (Linux /proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load_mark() -> tuple:
    """(CPU-seconds of every process, of this one, wall time) now: the start of a report_load window."""
    return busy_seconds(), sum(os.times()[:2]), time.perf_counter()


def report_load(mark: tuple) -> None:
    """Print how many CPUs other processes used since `mark`, with a warning when the machine was shared."""
    busy1, (busy0, own0, wall0) = busy_seconds(), mark
    own1, wall1 = sum(os.times()[:2]), time.perf_counter()
    if busy0 is not None and busy1 is not None:
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)  # CPUs' worth used by other processes
        noisy = others > 0.1 * (os.cpu_count() or 1)
        print(f"other processes used {others:.2f} of {os.cpu_count()} CPUs on average during this run"
              + ("  WARNING: the machine was shared; times are unreliable, run again when it is idle" if noisy else ""))

def describe(alphas) -> str:
    a = np.asarray(alphas, dtype=np.float64)
    return (f"{len(a)} points, min {a.min():.6g}, max {a.max():.6g}, contains 0: {bool((a == 0).any())}, "
            f"contains 1: {bool((a == 1).any())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--end", choices=("train", "random"), default="train",
                        help="theta1: 300 steps of momentum SGD from theta0 (default), or init_params(seed=1)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = torch's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    n = args.points
    mark = load_mark()

    data = make_dataset("digits", 1797, 0.0, 0.2, 0, device)
    x, y = data.x_train, data.y_train
    spec = MLP(data.n_features, HIDDEN, data.n_classes, "relu")
    theta0 = init_params(spec, 1.0, 0).to(device)
    theta1 = end_point(spec, args.end, device)
    grid = interpolation.alpha_grid(0.0, 1.0, n)
    grid_t = torch.as_tensor(grid, dtype=theta0.dtype, device=device)
    # linear_interpolation adds (end - start) / steps to the start point, then evaluates, steps times: its alphas are
    # (i + 1) / steps, i = 0..steps-1, so it never evaluates alpha = 0 and reaches alpha = 1 by repeated float32 adds.
    ll_alphas = np.arange(1, n + 1, dtype=np.float64) / n
    metric = Loss(nn.CrossEntropyLoss(), x, y)
    end_model = to_sequential(spec, theta1)

    def ours_train():
        return interpolation._split_losses(spec, theta0, theta1, grid_t, x, y)[0]

    def ours_full():
        return interpolation.interpolate(spec, theta0, theta1, data, grid)

    def ours_other_path():
        """Diagnostic: the direct path's batching this device does not use by default (batched on a CPU, one alpha at a
        time on a GPU)."""
        return interpolation._split_losses(spec, theta0, theta1, grid_t, x, y, batched=device.type == "cpu",
                                   method="direct")[0]

    def piecewise():
        return interpolation._split_losses(spec, theta0, theta1, grid_t, x, y, method="piecewise")[0]

    def direct():
        return interpolation._split_losses(spec, theta0, theta1, grid_t, x, y, method="direct")[0]

    def ll(start_model):
        # deepcopy_model=False, the library's default: it steps the start model's own parameters in place, so a fresh
        # start model is built, untimed, before each call.
        return loss_landscapes.linear_interpolation(start_model, end_model, metric, steps=n, deepcopy_model=False)

    def naive():
        return np.array([evaluate(spec, (1 - a) * theta0 + a * theta1, x, y)[0] for a in grid_t])

    contenders = {
        "ours": (ours_train, None),
        "interpolate": (ours_full, None),
        "loss-landscapes": (ll, lambda: to_sequential(spec, theta0)),
        "naive": (naive, None),
        "ours-other": (ours_other_path, None),
        "piecewise": (piecewise, None),
        "direct": (direct, None),
    }
    race(contenders, 1, device)  # warm-up
    times, res = race(contenders, args.repeats, device)
    best = {name: min(ts) for name, ts in times.items()}
    curve_ours, frame, curve_ll, curve_naive = res["ours"], res["interpolate"], res["loss-landscapes"], res["naive"]
    curve_pw, curve_direct = res["piecewise"], res["direct"]
    stats = {}
    pw_loss, pw_error = interp_walk.split_losses_piecewise(spec, theta0, theta1, grid_t, x, y, stats)
    direct_error = interpolation._split_losses(spec, theta0, theta1, grid_t, x, y, method="direct")[1]

    # Cross-checks: against our grid k / (steps - 1) only alpha = 1 coincides with the library's, so our batched path is
    # also run on the library's own alphas to compare all of its points.
    start_after = to_sequential(spec, theta0)
    ll(start_after)
    drift = max((p - q).abs().max().item() for p, q in zip(start_after.parameters(), end_model.parameters()))
    ll_t = torch.as_tensor(ll_alphas, dtype=theta0.dtype, device=device)
    ours_on_ll = interpolation._split_losses(spec, theta0, theta1, ll_t, x, y)[0]
    pw_on_ll = interpolation._split_losses(spec, theta0, theta1, ll_t, x, y, method="piecewise")[0]
    direct_on_ll = interpolation._split_losses(spec, theta0, theta1, ll_t, x, y, method="direct")[0]

    # FLOPs on the train split: our first layer twice (theta0 and theta1), the rest once per alpha; a full forward per
    # alpha for loss-landscapes and the naive loop. Elementwise work (interpolation, relu, softmax) is not counted.
    (h1, d_in), (h2, _), (c, _) = (w for w, _ in spec.shapes)
    n_tr = len(y)
    first = 2 * (2 * n_tr * d_in * h1)
    rest = n * 2 * n_tr * (h1 * h2 + h2 * c)
    flops_ours = first + rest
    flops_full = n * 2 * n_tr * (d_in * h1 + h1 * h2 + h2 * c)
    # The piecewise walk: the same first layer; one product [u0; u1] (2N x h1) @ [W2^T, D2^T] (h1 x 2 h2) for A, B, C,
    # and the same per row recomputed exactly; per switch of a layer-1 entry its embedding_bag (2 weighted rows of
    # 3 h2: 12 h2 FLOPs) and the index_add_ of its bag (3 h2 at most); per alpha A + a B + a^2 C plus the units' mean
    # part (6 per element) and layer 3.
    flips, refreshed = stats["flips"], stats["refreshed"]
    pw_parts = {"first layer x2": first, "anchor product": 2 * (2 * n_tr) * h1 * (2 * h2),
                f"{refreshed:,} rows recomputed": 2 * (2 * refreshed) * h1 * (2 * h2),
                f"{flips:,} switches": flips * 15 * h2, "A + aB + a^2C": n * 6 * n_tr * h2,
                "layer 3": n * 2 * n_tr * h2 * c}
    flops_pw = sum(pw_parts.values())
    peak = matmul_gflops((2048, 2048, 2048), args.repeats, device)
    peak_layer = matmul_gflops((n_tr, h1, h2), args.repeats, device)

    report_load(mark)
    print(f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}, loss-landscapes 3.0.6; "
          f"digits MLP {list(HIDDEN)} relu, {spec.n_params:,} parameters, train split {n_tr} x {d_in}, "
          f"theta1 = {args.end}, {n} points, best of {args.repeats} alternating rounds")
    print("alpha grids:")
    print(f"  ours, alpha_grid(0, 1, {n})   : {describe(grid)}")
    print(f"  loss-landscapes, steps={n}    : {describe(ll_alphas)}  [(i + 1) / {n}, i = 0..{n - 1}]")
    print(f"  loss-landscapes' start model after the call vs theta1 (float32 drift of {n} adds): max |diff| "
          f"{drift:.2e}")
    print("agreement of the train loss curves:")
    print(f"  ours vs naive loop, all {n} alphas                 : max |diff| "
          f"{np.abs(curve_ours - curve_naive).max():.2e}")
    print(f"  ours run on loss-landscapes' {n} alphas vs it      : max |diff| "
          f"{np.abs(ours_on_ll - curve_ll).max():.2e}")
    print(f"  ours vs loss-landscapes at alpha = 1 (the only shared alpha): {abs(curve_ours[-1] - curve_ll[-1]):.2e}; "
          f"J(theta1) = {curve_ours[-1]:.4f}, J(theta0) = {curve_ours[0]:.4f} (absent from loss-landscapes' curve)")
    print(f"  interpolate()'s train_loss vs ours                 : max |diff| "
          f"{np.abs(frame['train_loss'].to_numpy() - curve_ours).max():.2e}")
    print(f"  piecewise vs direct, all {n} alphas                : max |diff| "
          f"{np.abs(curve_pw - curve_direct).max():.2e} (loss), {np.abs(pw_error - direct_error).max():.2e} (error)")
    print(f"  piecewise vs naive loop, all {n} alphas            : max |diff| "
          f"{np.abs(curve_pw - curve_naive).max():.2e}")
    for label, curve in (("piecewise", pw_on_ll), ("direct", direct_on_ll)):
        print(f"  {label:<9} run on loss-landscapes' {n} alphas vs it: max |diff| "
              f"{np.abs(curve - curve_ll).max():.2e}")

    def row(label: str, name: str) -> str:
        return f"  {label:<52}: {best[name] * 1e3:8.1f} ms  (all: {', '.join(f'{t * 1e3:.0f}' for t in times[name])})"

    on_cpu = device.type == "cpu"
    default_path, other_path = ("one alpha at a time", "batched") if on_cpu else ("batched", "one at a time")
    print("times:")
    print(row(f"ours, _split_losses train loss+error ({'piecewise' if on_cpu else default_path})", "ours"))
    print(row("ours, method='piecewise' (forced)", "piecewise"))
    print(row(f"ours, method='direct' ({default_path}, the old default)", "direct"))
    print(row("ours, interpolate(): train+val, loss+error", "interpolate"))
    print(row("loss-landscapes linear_interpolation, train loss", "loss-landscapes"))
    print(row("naive loop of core.model.networks.evaluate, train loss+error", "naive"))
    print(row(f"diagnostic: ours, direct, {other_path}", "ours-other"))
    print("ratios (same split and point count unless noted):")
    print(f"  speedup ours (train) vs loss-landscapes             : {best['loss-landscapes'] / best['ours']:5.2f}x  "
          f"(issue #2: > 1x; issue #3 asks >= 2x)")
    print(f"  speedup interpolate() (train+val) vs loss-landscapes (train only): "
          f"{best['loss-landscapes'] / best['interpolate']:5.2f}x")
    print(f"  speedup ours (train) vs naive loop                  : {best['naive'] / best['ours']:5.2f}x")
    print(f"  speedup ours, direct, {other_path}, vs loss-landscapes : "
          f"{best['loss-landscapes'] / best['ours-other']:5.2f}x  (diagnostic)")
    print(f"  speedup piecewise vs loss-landscapes               : {best['loss-landscapes'] / best['piecewise']:5.2f}x")
    print(f"  speedup direct vs loss-landscapes                  : {best['loss-landscapes'] / best['direct']:5.2f}x")
    print(f"  speedup piecewise vs direct                        : {best['direct'] / best['piecewise']:5.2f}x")
    print(f"  FLOP-count bound on ours vs loss-landscapes at equal GFLOP/s: {flops_full / flops_ours:5.2f}x (direct), "
          f"{flops_full / flops_pw:5.2f}x (piecewise)")
    print("throughput (float32 matmul FLOPs only):")
    print(f"  torch.mm 2048 x 2048 x 2048                         : {peak:8.1f} GFLOP/s  (the machine's measure)")
    print(f"  torch.mm {n_tr} x {h1} x {h2} (one layer-2 product)      : {peak_layer:8.1f} GFLOP/s")
    for label, name, flops in (("direct", "direct", flops_ours), (f"direct, {other_path}", "ours-other", flops_ours),
                               ("piecewise", "piecewise", flops_pw),
                               ("loss-landscapes", "loss-landscapes", flops_full)):
        rate = flops / best[name] / 1e9
        print(f"  {label:<20}: {flops / 1e9:6.2f} GFLOP in {best[name] * 1e3:7.1f} ms = {rate:6.1f} GFLOP/s = "
              f"{rate / peak:4.0%} of the 2048^3 mm")
    print(f"  (direct = {first / 1e9:.3f} GFLOP first layer x2 + {rest / 1e9:.2f} GFLOP layers 2-3 x{n}; "
          f"a full forward x{n} would be {flops_full / 1e9:.2f})")
    print(f"  (piecewise = {' + '.join(f'{v / 1e9:.3f} {k}' for k, v in pw_parts.items())} GFLOP, the work it "
          f"actually does, elementwise and scatter FLOPs included: {flops_full / flops_pw:.0f}x fewer than a forward "
          f"pass per alpha, but mostly memory-bound, so its rate is far below the mm's by nature)")
    rate = flops_full / best["piecewise"] / 1e9
    print(f"  piecewise, effective: the {flops_full / 1e9:.2f} GFLOP of a full forward x{n} in "
          f"{best['piecewise'] * 1e3:.1f} ms = {rate:6.1f} GFLOP/s = {rate / peak:4.0%} of the 2048^3 mm")
    print("  (effective: what a forward pass per alpha would have needed, not the FLOPs the walk did)")


if __name__ == "__main__":
    main()
