"""Which torch device a run uses."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")  # auto = cuda, then mps, then cpu


def cpu_budget(cgroup: str | Path = "/sys/fs/cgroup") -> int:
    """The CPUs this process may really use: its affinity, capped by the container's CPU quota (cgroup v2 cpu.max,
    or v1 cpu.cfs_quota_us / cpu.cfs_period_us). os.cpu_count() reports the host's cores inside a container."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_quota(Path(cgroup))
    return max(1, min(cores, math.ceil(quota))) if quota else max(1, cores)


def _cgroup_quota(root: Path) -> float | None:
    """CPUs allowed by the cgroup's quota, None when unlimited or unknown."""
    try:
        if (root / "cpu.max").is_file():  # v2: "max 100000" or "150000 100000"
            quota, period = (root / "cpu.max").read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        v1 = root / "cpu"
        if (v1 / "cpu.cfs_quota_us").is_file():
            quota = int((v1 / "cpu.cfs_quota_us").read_text())
            return None if quota <= 0 else quota / int((v1 / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None


def pick_device(name: str = "auto") -> torch.device:
    """auto: cuda, then mps, then cpu; an explicit name that is missing is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but this machine has no CUDA GPU; use auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for, but this machine has no Apple GPU; use auto or cpu")
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    return torch.device(name)
