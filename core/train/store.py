"""Bounded stores that thin themselves (drop every other entry) when full, so memory stays flat."""

from __future__ import annotations

import torch

TRAJECTORY_BYTES = 64 * 2**20  # budget of the trajectory store per run
TRAJECTORY_MAX = 512  # snapshots kept at most, however small the model
ROWS_MAX = 4000  # logged metric rows kept at most
POINTS_MAX = 20000  # per-step gradient-norm points kept at most


class ThinningLog:
    """Rows (dicts with a "step") keeping every stride-th offer; when full, it halves itself and doubles the stride."""

    def __init__(self, capacity: int):
        self.capacity, self.stride, self.rows = capacity, 1, []
        self._offered = 0

    def offer(self, make_row, force: bool = False) -> None:
        """Keep make_row() if this offer falls on the stride (or force); the first offer is always kept."""
        keep = force or self._offered % self.stride == 0
        self._offered += 1
        if not keep:
            return
        row = make_row()
        if self.rows and self.rows[-1]["step"] == row["step"]:
            self.rows[-1] = row
            return
        self.rows.append(row)
        if len(self.rows) > self.capacity:
            kept = self.rows[::2]
            if kept[-1] is not row:  # odd length: keep the newest row too
                kept.append(row)
            self.rows = kept
            self.stride *= 2

    def __len__(self) -> int:
        return len(self.rows)


class Trajectory:
    """Parameter snapshots (K, P) with their step numbers; theta_init (step 0) is kept forever."""

    def __init__(self, n_params: int, device, dtype=torch.float32):
        cap = TRAJECTORY_BYTES // (n_params * torch.finfo(dtype).bits // 8)
        self.capacity = int(max(16, min(TRAJECTORY_MAX, cap)))
        self.thetas = torch.empty(self.capacity, n_params, device=device, dtype=dtype)
        self.steps: list[int] = []
        self.stride = 1

    def wants(self, step: int) -> bool:
        """Whether a snapshot at this step belongs in the store at the current stride."""
        return step % self.stride == 0

    def add(self, step: int, theta: torch.Tensor) -> None:
        """Store theta (P,) for this step; replaces the last entry if it has the same step."""
        if self.steps and self.steps[-1] == step:
            self.thetas[len(self.steps) - 1].copy_(theta)
            return
        if len(self.steps) == self.capacity:
            self._thin()
        self.thetas[len(self.steps)].copy_(theta)
        self.steps.append(step)

    def _thin(self) -> None:
        keep = range(0, len(self.steps), 2)
        for j, i in enumerate(keep):  # in place, front to back: i >= j, so nothing is overwritten early
            self.thetas[j].copy_(self.thetas[i])
        self.steps = [self.steps[i] for i in keep]
        self.stride *= 2

    def view(self) -> tuple[list[int], torch.Tensor]:
        """(steps, thetas (K, P)) of what is stored now; the tensor is a view, copy before releasing a lock."""
        return list(self.steps), self.thetas[: len(self.steps)]
