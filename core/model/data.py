"""Data sets: name -> generator of (X, y), split into train and validation tensors."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from core.model.sequences import SEQUENCE_TASKS


@dataclass(frozen=True)
class Dataset:
    """A split on one device: features (N, D) float32; labels (N,) int64 (classification) or float32 (regression).

    input_shape: how one row of D features is laid out, (C, L) or (C, H, W), for a convolutional network; () when the
    features have no such layout; (T, d) for sequences (recurrent networks). n_classes is 0 for a regression."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int
    name: str
    task: str = "classification"
    input_shape: tuple[int, ...] = ()

    @property
    def n_outputs(self) -> int:
        """Outputs of a network for this data: one per class, or one prediction."""
        return 1 if self.task == "regression" else self.n_classes

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
    transform = sys.modules["mnist1d.transform"]
    slow, transform.interpolate = transform.interpolate, _interpolate
    state = np.random.get_state()  # make_dataset seeds numpy's global generator: put it back afterwards
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(state)
        transform.interpolate = slow
    return made["x"], made["y"]


def _interpolate(x, n):
    """mnist1d.transform.interpolate with np.interp instead of a new scipy interp1d per call: the same numbers (a
    test compares them), in half the generator's time (three quarters of it went to building interp1d objects)."""
    x = np.asarray(x)
    if x.ndim != 1:
        from scipy.interpolate import interp1d

        return interp1d(np.linspace(0, 1, len(x)), x, axis=0, kind="linear")(np.linspace(0, 1, n))
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _sine(n, noise, rng):
    from core.model import loaders

    return loaders.sine(n, noise, rng)


def _mnist(n, noise, rng, data_dir="", subset=0):
    from core.model import loaders

    return loaders.load_mnist(data_dir or DEFAULT_MNIST_DIR, subset, rng)


def _csv(n, noise, rng, csv_path="", label_column=""):
    from core.model import csv_table

    table = csv_table.load_csv(csv_path, label_column or csv_table.csv_columns(csv_path)[-1])  # empty: the last one
    return table.x, table.y


DEFAULT_MNIST_DIR = os.path.join(os.path.expanduser("~"), ".cache", "optimizer-playground", "mnist")
"""Where `dataset=mnist` looks for the four IDX files when data_dir is empty (python -m core fetch-mnist puts them)."""


class DataSource(NamedTuple):
    """A registered data set: make(n, noise, rng, **options) -> (x, y); integer labels make a classification, float
    labels a regression. `sized`: n_samples and noise apply to it; `plane`: its points are 2-D (they can be drawn as
    they are, with decision regions); `shape`: the layout of one row for a convolutional network, () if none;
    `options`: the config fields it reads besides n_samples and noise; `standardised`: its features are centred and
    scaled after the split, by the training split's mean and std alone (csv_table.standardise, feature_statistics)."""

    make: Callable
    description: str
    sized: bool = True
    plane: bool = True
    shape: tuple[int, ...] = ()
    options: tuple[str, ...] = ()
    standardised: bool = False


DATASETS: dict[str, DataSource] = {
    "moons": DataSource(_moons, "two interleaving half-moons (2-D, 2 classes)"),
    "circles": DataSource(_circles, "a ring around a disc (2-D, 2 classes)"),
    "spirals": DataSource(_spirals, "two interleaved spirals (2-D, 2 classes): needs depth or width"),
    "xor": DataSource(_xor, "the four quadrants, opposite ones alike (2-D, 2 classes)"),
    "blobs": DataSource(_blobs, "three Gaussian blobs (2-D, 3 classes)"),
    "sine": DataSource(_sine, "a noisy sine, y = sin(1.5 x) + noise (1-D regression: mean squared error, RMSE)",
                       plane=False),
    "digits": DataSource(_digits, "scikit-learn's 8x8 handwritten digits (64-D, 10 classes, 1,797 images)",
                         sized=False, plane=False, shape=(1, 8, 8)),
    "mnist1d": DataSource(_mnist1d, "MNIST-1D, generated offline: 1-D signals of the ten digits (40-D, 10 classes; "
                          "points = samples, noise unused)", plane=False, shape=(1, 40)),
    "mnist": DataSource(_mnist, "real MNIST, 28x28 handwritten digits read from the four IDX files in data_dir "
                        "(784-D, 10 classes; `subset` images of 70,000)", sized=False, plane=False,
                        shape=(1, 28, 28), options=("data_dir", "subset")),
    "csv": DataSource(_csv, "your own CSV: numeric feature columns (standardised with the training split's mean and "
                      "std) and a label column; whole-number or text labels make a classification, other numbers a "
                      "regression", sized=False, plane=False, options=("csv_path", "label_column"),
                      standardised=True),
    **{name: DataSource(make, text, plane=False, options=("seq_len",))
       for name, (make, text) in SEQUENCE_TASKS.items()},
}
"""The data sets by name: the config, the sidebar and the CLI read their names from here."""


def _file_stamp(options: dict) -> tuple:
    """(size, mtime) of the files an options dict names: a changed file is read again, not served from the cache."""
    paths = [options.get("csv_path")]
    if options.get("data_dir") is not None:
        folder = options["data_dir"] or DEFAULT_MNIST_DIR
        if os.path.isdir(folder):
            paths += [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
    stamp = []
    for path in paths:
        if path and os.path.isfile(path):
            info = os.stat(path)
            stamp.append((path, info.st_size, info.st_mtime_ns))
    return tuple(stamp)


@functools.lru_cache(maxsize=6)
def _generate(name: str, n_samples: int, noise: float, seed: int, options: tuple, stamp: tuple):
    """(x, y, permutation) as numpy arrays, cached: MNIST-1D's generator or a file read is paid once. x is float32,
    or float64 for a source standardised after the split (make_dataset casts it once standardised)."""
    rng = np.random.default_rng(seed)
    x, y = DATASETS[name].make(n_samples, noise, rng, **dict(options))
    x = np.asarray(x, dtype=np.float64 if DATASETS[name].standardised else np.float32)
    y = np.asarray(y)
    y = y.astype(np.float32 if np.issubdtype(y.dtype, np.floating) else np.int64)
    for array in (x, y):
        array.setflags(write=False)
    return x, y, rng.permutation(len(y))


def make_dataset(name: str, n_samples: int, noise: float, val_fraction: float, seed: int, device="cpu",
                 **options) -> Dataset:
    """Generate (or read) a data set and split it with a seeded permutation; options: the source's config fields
    (DataSource.options), e.g. csv_path and label_column. A standardised source's features are scaled after the split
    with the training split's statistics only (feature_statistics gives them)."""
    x, y, order, n_val = _split(name, n_samples, noise, val_fraction, seed, options)
    if DATASETS[name].standardised:
        from core.model.csv_table import standardise

        x = standardise(x, order[n_val:])[0]
    x = torch.from_numpy(np.asarray(x, dtype=np.float32).copy())
    y, order = torch.from_numpy(y.copy()), torch.as_tensor(order)
    val, train = order[:n_val], order[n_val:]
    put = lambda t: t.to(device)  # noqa: E731
    regression = y.is_floating_point()
    n_classes = 0 if regression else int(y.max()) + 1
    shape = DATASETS[name].shape
    if x.dim() == 3:  # sequences (n, T, d): flat features, and (T, d) as the input shape
        shape, x = tuple(x.shape[1:]), x.flatten(1)
    if shape and np.prod(shape) != x.shape[1]:
        shape = ()
    return Dataset(put(x[train]), put(y[train]), put(x[val]), put(y[val]), n_classes, name,
                   "regression" if regression else "classification", shape)


def _split(name: str, n_samples: int, noise: float, val_fraction: float, seed: int, options: dict):
    """(x, y, permutation, n_val) of a data set, from the cache: the first n_val of the permutation validate."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    options = {k: options[k] for k in DATASETS[name].options if k in options}
    x, y, order = _generate(name, n_samples, noise, seed, tuple(sorted(options.items())), _file_stamp(options))
    return x, y, order, max(1, round(val_fraction * len(y)))


def feature_statistics(config) -> dict | None:
    """A standardised data set's statistics, {"features", "mean", "std"} per feature column in the file's units, from
    the config's training split alone; None for data that are not standardised. The split follows from the config's
    data_seed, so a saved config gives these numbers again (`python -m core train` writes them beside it)."""
    source = DATASETS[config.dataset]
    if not source.standardised:
        return None
    options = {k: getattr(config, k) for k in source.options}
    x, _, order, n_val = _split(config.dataset, config.n_samples, config.noise, config.val_fraction,
                                config.data_seed, options)
    from core.model import csv_table

    features = [f"x{i + 1}" for i in range(x.shape[1])]
    if config.dataset == "csv":  # the header's names, the label column left out as _csv leaves it
        columns = csv_table.csv_columns(config.csv_path)
        label = config.label_column.strip() or columns[-1]
        features = [c for c in columns if c != label]
    return csv_table.standardise(x, order[n_val:])[1].as_dict(features)


def task_of(config) -> str:
    """classification or regression: what a config's data make (from the cached arrays, no copy)."""
    source = DATASETS[config.dataset]
    options = {k: getattr(config, k) for k in source.options}
    y = _generate(config.dataset, config.n_samples, config.noise, config.data_seed, tuple(sorted(options.items())),
                  _file_stamp(options))[1]
    return "regression" if np.issubdtype(y.dtype, np.floating) else "classification"


def from_config(config, device="cpu") -> Dataset:
    """The data set a TrainConfig names."""
    options = {k: getattr(config, k) for k in DATASETS[config.dataset].options}
    return make_dataset(config.dataset, config.n_samples, config.noise, config.val_fraction, config.data_seed, device,
                        **options)
