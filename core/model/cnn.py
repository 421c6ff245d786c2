"""A small functional CNN whose parameters are one flat vector theta (P,), in the same contract as networks.MLP.

Per block: conv (kernel 3, stride 1, padding 1, with bias) -> ReLU -> max-pool 2 (floor), then flatten
(channels x spatial, PyTorch's order) and one linear layer to n_out. Inputs arrive flat (N, D) with
D = prod(input_shape) and are reshaped to (N, *input_shape): (C, L) is a 1-D signal, (C, H, W) an image.

Pooling: an axis whose size is already 1 is not pooled (kernel 1 on that axis), and a block whose spatial
sizes are all 1 skips the pool; so any number of blocks works on any input, e.g. 8x8 -> 4x4 -> 2x2 -> 1x1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import torch
import torch.nn.functional as F

from core.model.networks import split_flat

KERNEL = 3
MAX_BLOCKS = 3
MAX_CHANNELS = 64


def check_cnn(input_shape, channels) -> None:
    """Raise ValueError with one sentence when the input shape or the channel counts are out of range."""
    shape, chans = tuple(input_shape), tuple(channels)
    if len(shape) not in (2, 3) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                                           for s in shape):
        raise ValueError(f"the CNN's input shape must be (channels, length) for 1-D signals or (channels, height, "
                         f"width) for images, each a positive integer, got {shape}")
    if not 1 <= len(chans) <= MAX_BLOCKS:
        raise ValueError(f"the CNN needs 1 to {MAX_BLOCKS} conv blocks (one channel count each), got {len(chans)}")
    if not all(isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= MAX_CHANNELS for c in chans):
        raise ValueError(f"each conv block of the CNN must have 1 to {MAX_CHANNELS} channels, got {list(chans)}")


def _pool_kernel(spatial: tuple[int, ...]) -> tuple[int, ...] | None:
    """The max-pool kernel for these spatial sizes: 2 on each axis longer than 1; None when all are 1 (no pool)."""
    kernel = tuple(2 if s > 1 else 1 for s in spatial)
    return kernel if any(k == 2 for k in kernel) else None


@dataclass(frozen=True)
class CNN:
    """Input shape, conv channels and outputs; theta holds conv1.w, conv1.b, ..., fc.w, fc.b in nn's layouts."""

    input_shape: tuple[int, ...]
    channels: tuple[int, ...]
    n_out: int
    task: str = "classification"

    kind: ClassVar[str] = "cnn"

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        object.__setattr__(self, "channels", tuple(self.channels))
        check_cnn(self.input_shape, self.channels)
        if not isinstance(self.n_out, int) or self.n_out < 1:
            raise ValueError(f"the CNN needs at least one output, got n_out={self.n_out!r}")

    @property
    def n_dims(self) -> int:
        """1 for signals (C, L), 2 for images (C, H, W)."""
        return len(self.input_shape) - 1

    @property
    def n_in(self) -> int:
        """D of the flat inputs (N, D)."""
        return math.prod(self.input_shape)

    @property
    def pools(self) -> list[tuple[int, ...] | None]:
        """Each block's max-pool kernel (None: no pool, its spatial sizes are all 1)."""
        return [kernel for kernel, _ in self._blocks]

    @property
    def flat_features(self) -> int:
        """Inputs of the final linear layer: last channels x last spatial sizes."""
        return self.channels[-1] * math.prod(self._blocks[-1][1])

    @cached_property
    def _blocks(self) -> tuple[tuple[tuple[int, ...] | None, tuple[int, ...]], ...]:
        """(pool kernel, spatial sizes after the block) per block; padding 1 keeps the conv's sizes. Cached in the
        instance's __dict__ (fields stay frozen; equality and hashing see only the fields)."""
        out, spatial = [], tuple(self.input_shape[1:])
        for _ in self.channels:
            kernel = _pool_kernel(spatial)
            if kernel is not None:
                spatial = tuple(s // k for s, k in zip(spatial, kernel))
            out.append((kernel, spatial))
        return tuple(out)

    @property
    def shapes(self) -> list[tuple[tuple[int, ...], tuple[int]]]:
        """(weight shape, bias shape) per layer; weight shape = (fan_out, *fan_in dims), fan_in = prod of the rest."""
        sizes_in = (self.input_shape[0], *self.channels[:-1])
        conv = [((o, i, *(KERNEL,) * self.n_dims), (o,)) for i, o in zip(sizes_in, self.channels)]
        return conv + [((self.n_out, self.flat_features), (self.n_out,))]

    @property
    def n_params(self) -> int:
        return sum(math.prod(w) + b[0] for w, b in self.shapes)

    def split(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """Views [conv1.w, conv1.b, ..., fc.w, fc.b] into theta (P,), or into a batch (..., P)."""
        return split_flat(self.shapes, theta)

    def forward(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_out) for flat inputs x (N, D); pure tensor ops (autograd, torch.func, vmap)."""
        conv = F.conv1d if self.n_dims == 1 else F.conv2d
        pool = F.max_pool1d if self.n_dims == 1 else F.max_pool2d
        z = x.reshape(x.shape[0], *self.input_shape)
        for k, (kernel, _) in enumerate(self._blocks):
            z = torch.relu(conv(z, params[2 * k], params[2 * k + 1], padding=1))
            if kernel is not None:
                z = pool(z, kernel)
        return F.linear(z.flatten(1), params[-2], params[-1])

    def describe(self) -> str:
        """A short label, e.g. 'CNN 1×8×8 → conv 8 → conv 16 → 10'."""
        blocks = " → ".join(f"conv {c}" for c in self.channels)
        return f"CNN {'×'.join(map(str, self.input_shape))} → {blocks} → {self.n_out}"
