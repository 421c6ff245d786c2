"""The schedule of the piecewise interpolation walk (core.probes.interp_walk): where along the alpha grid each
first-layer unit of each sample switches on or off, grouped into per-row bags, and when each row is recomputed."""

from __future__ import annotations

from dataclasses import dataclass

import torch

REFRESH_FLIPS = 1 / 4  # a row of [A, B, C] is recomputed exactly once this fraction of units1 has flipped in it ...
REFRESH_STRIDE = 4  # ... at the next step that is a multiple of this, so that one product serves many rows


@dataclass
class Schedule:
    """The flips of layer-1 entries, grouped into bags: the flips of one sample (row) at one step of the grid.

    Per bag (sorted by step): rows, starts (its first entry, counted from its step's first entry) and sums (the
    sums of its d0 and of its d1, float64 (bags, 2)). Per flip of unit j two entries: index j with weight d0 and
    index units1 + j with weight d1 (index, weight). Per step k:
    bags [bag_at[k], bag_at[k + 1]), entries [entry_at[k], entry_at[k + 1]), and the rows to recompute exactly,
    refresh[refresh_at[k]:refresh_at[k + 1]]. n_flips: the number of flips.
    """

    rows: torch.Tensor
    starts: torch.Tensor
    sums: torch.Tensor
    index: torch.Tensor
    weight: torch.Tensor
    refresh: torch.Tensor
    bag_at: list[int]
    entry_at: list[int]
    refresh_at: list[int]
    n_flips: int


def switch_of(on, off):
    """The switch line on - off in float64 (exact for float32 lines): a unit is on where it is positive."""
    return on[0].double() - off[0].double(), on[1].double() - off[1].double()


def positive(line, a) -> torch.Tensor:
    """switch(a) > 0 computed as c0 + a * c1 (float64): monotone in a, so one definition for anchor, schedule, tests.

    a: a float, or a float64 tensor that broadcasts against the line.
    """
    return line[0] + a * line[1] > 0


def first_guess(grid: torch.Tensor, roots: torch.Tensor) -> torch.Tensor:
    """Index of the first grid point >= each root, up to a few places: arithmetic on a near-uniform grid (a binary
    search of random keys is several times slower), torch.searchsorted otherwise."""
    n = len(grid)
    lo, hi = float(grid[0]), float(grid[-1])
    uniform = torch.linspace(lo, hi, n, dtype=grid.dtype, device=grid.device)
    if n > 2 and float((grid - uniform).abs().max()) <= 4 * (hi - lo) / (n - 1):
        return ((roots - lo) * ((n - 1) / (hi - lo))).ceil_().nan_to_num_(0).clamp_(0, n - 1).long()
    return torch.searchsorted(grid, roots)


def flip_steps(switch, grid: torch.Tensor):
    """Every flipping entry of the switch (N, units) along the increasing float64 grid (n,), in row-major order:
    (flat index, step, its line c0, c1, new side).

    An entry flips at step k when positive() differs at grid[k - 1] and grid[k]. The root -c0 / c1 gives k up to
    its rounding; as positive() is monotone along the grid, k is then moved to where that exact predicate changes
    (one place per round; first_guess is off by a few places at most).
    """
    n = len(grid)
    c0, c1 = (c.reshape(-1) for c in switch)
    last = positive((c0, c1), float(grid[-1]))
    flat = (positive((c0, c1), float(grid[0])) != last).nonzero().squeeze(1)
    a0, a1, target = c0.index_select(0, flat), c1.index_select(0, flat), last.index_select(0, flat)
    step = first_guess(grid, -a0 / a1).clamp_(1, n - 1)
    while True:  # the smallest k in [1, n - 1] with positive(grid[k]) == target
        early = positive((a0, a1), grid.index_select(0, step)) != target
        late = (step > 1) & (positive((a0, a1), grid.index_select(0, step - 1)) == target)
        if not bool((early | late).any()):
            return flat, step, a0, a1, target
        step += early.long() - late.long()


def offsets(keys: torch.Tensor, n: int) -> list[int]:
    """Start of each of the n groups of sorted keys in 0..n-1, and the end: [o_0, ..., o_n] (on the CPU)."""
    return [0, *torch.cumsum(torch.bincount(keys, minlength=n), 0).tolist()]


def refresh_rows(rows: torch.Tensor, steps: torch.Tensor, sizes: torch.Tensor, n: int, every: int, stride: int):
    """(rows, steps) of the exact recomputations, sorted by step, for bags (rows, steps, number of flips) sorted by
    step: after a row's flips pass a multiple of `every`, at the next step that is a multiple of stride (or n - 1)."""
    by_row = torch.sort(rows, stable=True)  # each row's bags, in step order
    r, s, size = by_row.values, steps.index_select(0, by_row.indices), sizes.index_select(0, by_row.indices)
    total = torch.cumsum(size, 0)
    counts = torch.bincount(r)
    first = (torch.cumsum(counts, 0) - counts).index_select(0, r)  # each row's first bag
    done = total - (total - size).index_select(0, first)  # flips of the row up to and including this bag
    due = (done // every > (done - size) // every).nonzero().squeeze(1)
    r, s = r.index_select(0, due), ((s.index_select(0, due) + stride - 1) // stride * stride).clamp_(max=n - 1)
    by_step = torch.sort(s, stable=True)
    return r.index_select(0, by_step.indices), by_step.values


def schedule(switch, grid: torch.Tensor, dtype: torch.dtype) -> Schedule:
    """The flips of the switch (N, units) along the increasing float64 grid (n,), bagged per (step, row); their
    weights (+-the switch's line, + where the entry turns on) in `dtype`; and the rows' exact recomputations, each
    time another REFRESH_FLIPS x units of a row have flipped."""
    n, units = len(grid), switch[0].shape[1]
    flat, step, c0, c1, target = flip_steps(switch, grid)
    by_step = torch.sort(step, stable=True)  # flat is row-major, so this sorts by (step, row)
    order, step = by_step.indices, by_step.values
    flat, c0, c1 = flat.index_select(0, order), c0.index_select(0, order), c1.index_select(0, order)
    row = flat // units
    sign = torch.where(target.index_select(0, order), 1.0, -1.0).double()
    d01 = torch.stack([sign * c0, sign * c1], 1)  # (flips, 2): d0, d1
    weight = d01.reshape(-1).to(dtype)
    col = flat - row * units
    index = torch.stack([col, col + units], 1).reshape(-1)
    new_bag = torch.ones_like(step, dtype=torch.bool)
    new_bag[1:] = (step[1:] != step[:-1]) | (row[1:] != row[:-1])
    first = new_bag.nonzero().squeeze(1)  # the first flip of each bag
    bag_step, bag_row = step.index_select(0, first), row.index_select(0, first)
    sums = d01.new_zeros(len(first), 2).index_add_(0, torch.cumsum(new_bag, 0) - 1, d01)
    entry_at = [2 * o for o in offsets(step, n)]
    starts = 2 * first - torch.as_tensor(entry_at[:-1], device=grid.device).index_select(0, bag_step)
    sizes = torch.diff(first, append=first.new_tensor([len(flat)]))
    every = max(1, round(REFRESH_FLIPS * units))
    refresh, refresh_step = refresh_rows(bag_row, bag_step, sizes, n, every, REFRESH_STRIDE)
    return Schedule(bag_row, starts, sums, index, weight, refresh, offsets(bag_step, n), entry_at,
                    offsets(refresh_step, n), len(flat))
