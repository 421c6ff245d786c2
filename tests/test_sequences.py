"""The sequence tasks (core/model/sequences.py): their definitions read back from the inputs, their registry entries
and how make_dataset lays them out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model import sequences
from core.model.data import DATASETS, make_dataset


def _make(name: str, n: int, seq_len: int, seed: int = 0):
    return getattr(sequences, name)(n, 0.0, np.random.default_rng(seed), seq_len=seq_len)


@pytest.mark.parametrize("seq_len", [2, 3, 20, 41])
def test_adding_has_one_marker_in_each_half_and_sums_the_marked_values(seq_len):
    x, y = _make("adding", 500, seq_len)
    assert x.shape == (500, seq_len, 2) and x.dtype == np.float32 and np.issubdtype(y.dtype, np.floating)
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values <= 1)).all() and set(np.unique(markers)) <= {0.0, 1.0}
    half = seq_len // 2
    assert (markers[:, :half].sum(1) == 1).all() and (markers[:, half:].sum(1) == 1).all()
    np.testing.assert_allclose(y, (values * markers).sum(1), rtol=1e-6)


def test_adding_s_baseline_is_one_sixth():
    _, y = _make("adding", 200_000, 20)
    assert y.mean() == pytest.approx(1.0, abs=0.01) and y.var() == pytest.approx(1 / 6, abs=0.003)


@pytest.mark.parametrize("seq_len", [2, 10])
def test_copy_shows_one_symbol_at_step_0_then_blanks(seq_len):
    x, y = _make("copy", 402, seq_len)
    k = sequences.COPY_SYMBOLS
    assert x.shape == (402, seq_len, k) and y.dtype == np.int64
    assert (x[:, 0].sum(1) == 1).all() and (x[:, 0].argmax(1) == y).all() and not x[:, 1:].any()
    counts = np.bincount(y, minlength=k)
    assert counts.max() - counts.min() <= 1  # balanced


@pytest.mark.parametrize("seq_len", [2, 5, 30])
def test_parity_is_the_xor_of_the_first_bits(seq_len):
    x, y = _make("parity", 600, seq_len)
    assert x.shape == (600, seq_len, 1) and set(np.unique(x)) == {0.0, 1.0}
    k = min(sequences.PARITY_BITS, seq_len)
    expected = np.bitwise_xor.reduce(x[:, :k, 0].astype(np.int64), axis=1)
    assert (y == expected).all() and 0.4 < y.mean() < 0.6


@pytest.mark.parametrize("name", ["adding", "copy", "parity"])
def test_registered_sized_not_a_plane_reading_seq_len(name):
    source = DATASETS[name]
    assert source.options == ("seq_len",) and source.sized and not source.plane and source.shape == ()
    assert source.make is getattr(sequences, name)


@pytest.mark.parametrize(("name", "d", "task"), [("adding", 2, "regression"), ("copy", 4, "classification"),
                                                  ("parity", 1, "classification")])
def test_make_dataset_flattens_and_keeps_the_layout(name, d, task):
    data = make_dataset(name, 300, 0.2, 0.2, 7, seq_len=12)
    assert data.input_shape == (12, d) and data.n_features == 12 * d and data.task == task
    assert data.x_train.dtype == torch.float32 and data.x_train.shape == (240, 12 * d) and len(data.y_val) == 60
    x, y = _make(name, 300, 12, seed=7)
    rows = {tuple(r) for r in x.reshape(300, -1).tolist()}
    assert all(tuple(r) in rows for r in data.x_val.tolist())
    again = make_dataset(name, 300, 0.9, 0.2, 7, seq_len=12)  # deterministic by seed; noise unused
    assert torch.equal(again.x_train, data.x_train) and torch.equal(again.y_train, data.y_train)
    other = make_dataset(name, 300, 0.2, 0.2, 8, seq_len=12)
    assert not torch.equal(other.x_train, data.x_train)
    assert make_dataset(name, 300, 0.2, 0.2, 7, seq_len=5).input_shape == (5, d)
