"""Which torch device a run uses."""

from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")  # auto = cuda, then mps, then cpu


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
