"""Data sets: name -> generator of (X, y), split into train and validation tensors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch


@dataclass(frozen=True)
class Dataset:
    """A classification split on one device: features (N, D) float32, labels (N,) int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int
    name: str

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def is_2d(self) -> bool:
        return self.n_features == 2


def _moons(n, noise, rng):
    from sklearn.datasets import make_moons

    return make_moons(n_samples=n, noise=noise, random_state=rng.integers(2**31))


def _circles(n, noise, rng):
    from sklearn.datasets import make_circles

    return make_circles(n_samples=n, noise=noise, factor=0.5, random_state=rng.integers(2**31))


def _blobs(n, noise, rng):
    from sklearn.datasets import make_blobs

    centers = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]])
    return make_blobs(n_samples=n, centers=centers, cluster_std=0.3 + noise * 2, random_state=rng.integers(2**31))


def _spirals(n, noise, rng):
    """Two interleaved spirals, 1.5 turns each."""
    label = np.arange(n) % 2
    t = rng.uniform(0.25, 1.0, n) * 3 * np.pi
    angle = t + np.pi * label
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (3 * np.pi / 2)
    return x + rng.normal(0, noise * 0.3, x.shape), label


def _xor(n, noise, rng):
    x = rng.uniform(-1, 1, (n, 2))
    label = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.normal(0, noise * 0.3, x.shape), label


def _digits(n, noise, rng):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x / 16.0, y


MNIST1D_MAX_TRANSLATION = 30  # the generator's default is 48; smaller shifts leave a set an MLP learns but cannot
# memorise in a few thousand steps, which is what Fig. 8.1 needs (docs/definitions.md §1)


def _mnist1d(n, noise, rng):
    """MNIST-1D (Greydanus 2020) from the mnist1d package's offline generator (never its download): 40-point 1-D
    signals of the ten digits' templates, shifted, scaled, sheared and noised; n samples, seeded by rng."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split = n, 1.0  # the core makes its own split
    args.max_translation, args.seed = MNIST1D_MAX_TRANSLATION, int(rng.integers(2**31))
    state = np.random.get_state()  # make_dataset seeds numpy's global generator: put it back afterwards
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(state)
    return made["x"], made["y"]


class DataSource(NamedTuple):
    """A registered data set: make(n, noise, rng) -> (x, y); `sized`: n_samples and noise apply to it; `plane`: its
    points are 2-D (they can be drawn as they are, with decision regions)."""

    make: Callable
    description: str
    sized: bool = True
    plane: bool = True


DATASETS: dict[str, DataSource] = {
    "moons": DataSource(_moons, "two interleaving half-moons (2-D, 2 classes)"),
    "circles": DataSource(_circles, "a ring around a disc (2-D, 2 classes)"),
    "spirals": DataSource(_spirals, "two interleaved spirals (2-D, 2 classes): needs depth or width"),
    "xor": DataSource(_xor, "the four quadrants, opposite ones alike (2-D, 2 classes)"),
    "blobs": DataSource(_blobs, "three Gaussian blobs (2-D, 3 classes)"),
    "digits": DataSource(_digits, "scikit-learn's 8x8 handwritten digits (64-D, 10 classes, 1,797 images)",
                         sized=False, plane=False),
    "mnist1d": DataSource(_mnist1d, "MNIST-1D, generated offline: 1-D signals of the ten digits (40-D, 10 classes; "
                          "points = samples, noise unused)", plane=False),
}
"""The data sets by name: the config, the sidebar and the CLI read their names from here."""


def make_dataset(name: str, n_samples: int, noise: float, val_fraction: float, seed: int, device="cpu") -> Dataset:
    """Generate a data set and split it with a seeded permutation."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    rng = np.random.default_rng(seed)
    x, y = DATASETS[name].make(n_samples, noise, rng)
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    order = torch.as_tensor(rng.permutation(len(y)))
    n_val = max(1, round(val_fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    put = lambda t: t.to(device)  # noqa: E731
    return Dataset(put(x[train]), put(y[train]), put(x[val]), put(y[val]), int(y.max()) + 1, name)


def from_config(config, device="cpu") -> Dataset:
    """The data set a TrainConfig names."""
    return make_dataset(config.dataset, config.n_samples, config.noise, config.val_fraction, config.data_seed, device)
