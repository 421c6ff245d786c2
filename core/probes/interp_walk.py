"""Interpolation curves of piecewise-linear MLPs (relu, linear, maxout), walking the sorted alpha grid (definitions §2).

Along theta(a) = theta0 + a d the first layer's pre-activation is a line in a, z1(a) = z0 + a dz, and each hidden
unit of a piecewise-linear activation is one of two lines with a switch between them:

    h1(a) = on(a)  where switch(a) = on(a) - off(a) > 0,  off(a)  elsewhere        (each a line in a)
    relu:    on = z1,         off = 0
    maxout:  on = piece 0,    off = piece 1      (MAXOUT_PIECES = 2 adjacent units; ties give the same value)
    linear:  on = off = z1    (the switch is 0: never on, never flipping)

The switch is a line too, so each (sample, unit) entry changes side at most once over the whole grid. With the sides
fixed, h1 = u0 + a u1 and the second layer's weights W2(a) = W0 + a D, b2(a) = b0 + a db, so its pre-activation is
exactly a quadratic in a:

    z2(a) = A + a B + a^2 C,   A = u0 W0^T + b0,   B = u1 W0^T + u0 D^T + db,   C = u1 D^T.

A, B, C are computed once (one matrix product) at the smallest alpha. Between consecutive alphas only the entries
whose switch changes sign in between flip; a flip of entry (i, j) adds (d0 + a d1)(W0 + a D)[:, j] to row i, with
(d0, d1) = +-switch's line, i.e. d0 [W0_j, D_j, 0] + d1 [0, W0_j, D_j] to [A_i, B_i, C_i]: one embedding_bag per
step (a fused gather, scale and sum) and one index_add_. That costs O(flips x width2) in all instead of an
N x width1 x width2 product per alpha; z2 is then two elementwise passes per alpha, and the later layers (small for
the app's nets) run as batched products over a few alphas at a time.

Rounding: A, B, C live in the inputs' dtype (float32 halves the memory traffic of the per-alpha passes, which
dominate; float64 A, B, C made the whole walk about 3x slower on a CPU). A float32 row that took many flips carries
the rounding of every term that went in or out, and those can be far larger than what is left (units on at the
start and off at the end), which two measures keep in check:
  - layer 2's weights are split into their mean over the units and the rest: A, B, C hold the rest, and the mean
    part, (S0 + a S1)(mean W0 + a mean D) with S0, S1 the sums of u0, u1 kept in float64, is added per alpha. A
    shift shared by all units (as in a bias-like drift of the weights) otherwise piles up in every row;
  - each row is recomputed exactly, with its own small product as at the start, each time another REFRESH_FLIPS
    of its units have flipped.
With both, layer 2's pre-activation stays within ~1.5x of the direct float32 forward pass's error (about 1e-6 of
each row's largest entry) on far-apart random endpoints, where without them it grew up to 100x
(tests/test_fast_interp.py checks it).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from core.model.networks import MAXOUT_PIECES, MLP
from core.probes.walk_schedule import Schedule, positive, schedule, switch_of

PIECEWISE_ACTIVATIONS = ("relu", "linear", "maxout")
METHOD = "auto"  # interpolation._split_losses' default: "auto", "piecewise" or "direct" (set it to compare them)
BLOCK_ELEMENTS = 2**21  # alphas x samples x width2 of pre-activations taken through the later layers at once


def supports(spec: MLP) -> bool:
    """Whether the walk applies: a classifying MLP with a piecewise-linear activation with two pieces per unit, and a
    hidden layer."""
    if spec.kind != "mlp" or spec.task != "classification":
        return False
    pieces_ok = spec.activation != "maxout" or MAXOUT_PIECES == 2
    return spec.activation in PIECEWISE_ACTIVATIONS and pieces_ok and len(spec.hidden) >= 1


def finite(*thetas: torch.Tensor) -> bool:
    """Whether every parameter is finite: the walk treats a NaN or infinite unit as switched off, where a forward
    pass spreads it; non-finite samples get NaN logits (see piecewise_logits), so callers may prefer the direct path."""
    return all(bool(torch.isfinite(t).all()) for t in thetas)


def unit_lines(spec: MLP, z0: torch.Tensor, dz: torch.Tensor):
    """(on, off) lines of every hidden unit of layer 1, each a pair (value at a = 0, slope) (N, units).

    z0, dz (N, units1) are layer 1's pre-activation at theta0 and its slope; for `linear` on = off.
    """
    if spec.activation == "maxout":
        p0, q0 = z0.unflatten(-1, (-1, MAXOUT_PIECES)).unbind(-1)
        p1, q1 = dz.unflatten(-1, (-1, MAXOUT_PIECES)).unbind(-1)
        return (p0, p1), (q0, q1)
    if spec.activation == "relu":
        return (z0, dz), (torch.zeros_like(z0), torch.zeros_like(dz))
    return (z0, dz), (z0, dz)


def exact_rows(lines, a: float, weights: torch.Tensor, bias: torch.Tensor, rows: torch.Tensor | None = None):
    """Rows [A | B | C] (R, 3 out) with the units on the sides they have at alpha = a, in weights' dtype, and the
    sums of u0 and of u1 over the units (R, 2), float64.

    weights (2 out, units1) = [W0; D] (or their part that varies over the units), bias (2 out,) = [b0; db]; rows:
    which samples (None: all). One product
    [u0; u1] @ weights^T gives the four blocks u0 W0^T, u0 D^T, u1 W0^T, u1 D^T.
    """
    on, off = (pair if rows is None else (pair[0].index_select(0, rows), pair[1].index_select(0, rows))
               for pair in lines)
    side = positive(switch_of(on, off), a)
    u0, u1 = torch.where(side, on[0], off[0]), torch.where(side, on[1], off[1])
    n, out = len(u0), len(weights) // 2
    blocks = torch.cat([u0, u1]).to(weights.dtype) @ weights.T  # (2R, 2 out)
    abc = torch.empty(n, 3 * out, dtype=blocks.dtype, device=blocks.device)
    torch.add(blocks[:n, :out], bias[:out], out=abc[:, :out])
    torch.add(blocks[n:, :out], blocks[:n, out:], out=abc[:, out : 2 * out]).add_(bias[out:])
    abc[:, 2 * out :] = blocks[n:, out:]
    return abc, torch.stack([u0.double().sum(1), u1.double().sum(1)], 1)


def flip_table(weights: torch.Tensor) -> torch.Tensor:
    """(2 units1, 3 out): row j = [W0_j, D_j, 0] (weighted by d0), row units1 + j = [0, W0_j, D_j] (by d1)."""
    w0, dw = weights.T.chunk(2, dim=1)  # (units1, out) each
    zero = torch.zeros_like(w0)
    return torch.cat([torch.cat([w0, dw, zero], 1), torch.cat([zero, w0, dw], 1)])


def apply_step(abc: torch.Tensor, sums: torch.Tensor, table: torch.Tensor, plan: Schedule, k: int) -> int:
    """Add step k's flips to the rows of abc (N, 3 out) and of sums (N, 2) in place; returns how many flips."""
    b0, b1, e0, e1 = plan.bag_at[k], plan.bag_at[k + 1], plan.entry_at[k], plan.entry_at[k + 1]
    if b1 == b0:
        return 0
    delta = F.embedding_bag(plan.index[e0:e1], table, plan.starts[b0:b1], mode="sum",
                            per_sample_weights=plan.weight[e0:e1])  # (bags, 3 out)
    abc.index_add_(0, plan.rows[b0:b1], delta)
    sums.index_add_(0, plan.rows[b0:b1], plan.sums[b0:b1])
    return (e1 - e0) // 2


def activate(spec: MLP, h: torch.Tensor) -> torch.Tensor:
    """The activation on h (B, units, N), units in the middle (maxout pairs adjacent units); relu in place."""
    if spec.activation == "relu":
        return h.relu_()
    if spec.activation == "maxout":
        return h.unflatten(1, (-1, MAXOUT_PIECES)).amax(2)
    return h


def later_layers(spec: MLP, p0, d, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Logits (B, n_out, N) from layer 2's pre-activations z (B, N, units2) at the alphas a (B,) through layers
    3, 4, ... with interpolated weights, as batched W h products: with samples last, the small output layer is one
    well-shaped product for B alphas instead of B skinny ones, and the result has the losses' layout. z is
    overwritten."""
    h = z.transpose(1, 2)  # (B, units2, N)
    if len(p0) == 4:
        return h.contiguous()
    for k in range(4, len(p0), 2):
        weight = torch.addcmul(p0[k], a[:, None, None], d[k])  # (B, out, in)
        bias = torch.addcmul(p0[k + 1], a[:, None], d[k + 1])
        h = torch.baddbmm(bias[:, :, None], weight, activate(spec, h))
    return h


def advance(abc: torch.Tensor, sums: torch.Tensor, table: torch.Tensor, plan: Schedule, k: int, exact) -> int:
    """Bring abc (N, 3 out) and sums (N, 2) to step k: add its flips, then recompute its due rows with
    exact(rows) -> (rows of abc, rows of sums). Returns the number of flips."""
    flips = apply_step(abc, sums, table, plan, k)
    r0, r1 = plan.refresh_at[k], plan.refresh_at[k + 1]
    if r1 > r0:
        rows = plan.refresh[r0:r1]
        fresh = exact(rows)
        abc.index_copy_(0, rows, fresh[0])
        sums.index_copy_(0, rows, fresh[1])
    return flips


@torch.no_grad()
def piecewise_logits(spec: MLP, theta0: torch.Tensor, theta1: torch.Tensor, x: torch.Tensor, grid: torch.Tensor,
                     stats: dict | None = None) -> Iterator[torch.Tensor]:
    """Logits at theta0 + a (theta1 - theta0) for the strictly increasing grid (n,), in blocks of consecutive
    alphas: tensors (B, n_out, N), classes before samples.

    A, B, C hold the part of layer 2's weights that varies over the units; their mean over the units comes in per
    alpha as (S0 + a S1)(mean W0 + a mean D) (see the module's docstring). Memory O(N x width): a block holds about
    BLOCK_ELEMENTS pre-activations. stats, if given, gets "flips" (flips applied) and "refreshed" (rows recomputed
    exactly).
    """
    if not supports(spec):
        raise ValueError(f"piecewise walk needs relu/linear/maxout and a hidden layer, not {spec}")
    p0, d = spec.split(theta0), spec.split(theta1 - theta0)
    z0, dz = F.linear(x, p0[0], p0[1]), F.linear(x, d[0], d[1])  # (N, units1) each
    lines = unit_lines(spec, z0, dz)
    poisoned = ~(z0.isfinite().all(1) & dz.isfinite().all(1))  # samples a NaN or infinite unit would spoil
    poisoned = poisoned if bool(poisoned.any()) else None
    alphas = grid.to(device=x.device, dtype=torch.float64)
    weights, bias = torch.cat([p0[2], d[2]]), torch.cat([p0[3], d[3]])  # [W0; D] (2 out, units1), [b0; db]
    mean = weights.mean(1)
    weights = weights - mean[:, None]
    table, (n, out) = flip_table(weights), (len(x), len(p0[2]))
    abc, sums = exact_rows(lines, float(alphas[0]), weights, bias)  # (N, 3 out): [A | B | C]; (N, 2): S0, S1
    plan = schedule(switch_of(*lines), alphas, x.dtype)
    values, alphas = grid.tolist(), alphas.to(x.dtype)
    size = max(1, min(len(values), BLOCK_ELEMENTS // max(1, n * out)))
    block = torch.empty(size, n, out, dtype=x.dtype, device=x.device)
    common = torch.empty(size, n, dtype=x.dtype, device=x.device)  # S0 + a S1 per alpha of the block
    flips = 0
    for start in range(0, len(values), size):
        stop = min(start + size, len(values))
        for k in range(start, stop):
            a = values[k]
            flips += advance(abc, sums, table, plan, k, lambda rows, a=a: exact_rows(lines, a, weights, bias, rows))
            z = block[k - start]
            torch.add(abc[:, :out], abc[:, out : 2 * out], alpha=a, out=z).add_(abc[:, 2 * out :], alpha=a * a)
            torch.add(sums[:, 0], sums[:, 1], alpha=a, out=common[k - start])
        z, a = block[: stop - start], alphas[start:stop]
        z.addcmul_(common[: stop - start, :, None], torch.addcmul(mean[:out], a[:, None], mean[out:])[:, None])
        if poisoned is not None:
            z[:, poisoned] = float("nan")
        yield later_layers(spec, p0, d, z, a)
    if stats is not None:
        stats.update(flips=flips, refreshed=len(plan.refresh))


def error_rates(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of samples with argmax over classes != y, for logits z (B, classes, N), as float64 (B,).

    The same as (z.argmax(1) != y).mean(1), which is slow over the middle dimension: a sample is wrong when another
    class's logit is above its own; ties with it and NaNs go to argmax itself (its first-index rule).
    """
    where = y.expand(len(z), 1, -1)
    mine = z.gather(1, where)
    rival = z.scatter(1, where, float("-inf")).amax(1, keepdim=True)
    wrong = rival > mine
    unsure = (rival == mine) | rival.isnan() | mine.isnan()
    if bool(unsure.any()):
        b, _, i = unsure.nonzero(as_tuple=True)
        wrong[b, 0, i] = z[b, :, i].argmax(1) != y[i]
    return wrong.sum((1, 2)).double() / z.shape[2]


def losses_from_logits(blocks: Iterator[torch.Tensor], y: torch.Tensor):
    """(mean cross-entropy, error rate) tensors (n,) from blocks of logits (B, classes, N).

    Both reductions over the short class dimension vectorise along N in this layout.
    """
    losses, errors = [], []
    for z in blocks:
        losses.append(F.cross_entropy(z, y.expand(len(z), -1), reduction="none").mean(1))
        errors.append(error_rates(z, y))
    return torch.cat(losses), torch.cat(errors)


def split_losses_piecewise(spec: MLP, theta0, theta1, alphas, x, y, stats: dict | None = None):
    """Mean loss and error at every alpha on one split, as float64 numpy arrays; the contract of
    interpolation._split_losses. alphas may be unsorted, repeated, negative or > 1: each distinct one is walked once
    in increasing order and the results are returned in the input order."""
    alphas = torch.as_tensor(alphas)
    grid, where = torch.unique(alphas.double().cpu(), sorted=True, return_inverse=True)
    if len(grid) == 0:
        return np.zeros(0), np.zeros(0)
    losses, errors = losses_from_logits(piecewise_logits(spec, theta0, theta1, x, grid, stats), y)
    return losses.double().cpu().numpy()[where.numpy()], errors.double().cpu().numpy()[where.numpy()]
