"""A CSV's features are standardised with the training split's mean and std alone: the validation rows change nothing
of the training features, and the statistics follow from the config, so a saved run gives them again."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.cli.main import main
from core.model import csv_table, data
from core.model.config import TrainConfig

N, FEATURES = 40, 3


def _rows(n: int = N) -> list[list[float]]:
    """Features on different scales and offsets (one constant), so that whole-file statistics would differ."""
    rng = np.random.default_rng(1)
    return [[float(v) for v in (rng.normal(5, 2), rng.uniform(-300, 900), 7.0)] for _ in range(n)]


def _write(path, rows) -> None:
    lines = ["a,b,c,label"] + [",".join(f"{v!r}" for v in row) + f",{i % 2}" for i, row in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _config(path) -> TrainConfig:
    return TrainConfig(dataset="csv", csv_path=str(path), label_column="label", val_fraction=0.25, data_seed=3,
                       device="cpu")


def _split(config: TrainConfig):
    """(train rows, validation rows) of the file, by the permutation make_dataset uses."""
    x, _, order, n_val = data._split(config.dataset, config.n_samples, config.noise, config.val_fraction,
                                     config.data_seed, {"csv_path": config.csv_path, "label_column": "label"})
    return order[n_val:], order[:n_val]


def test_train_features_have_mean_0_and_std_1_on_the_train_split(tmp_path):
    path = tmp_path / "t.csv"
    _write(path, _rows())
    d = data.from_config(_config(path))
    x = d.x_train.double()
    assert torch.allclose(x[:, :2].mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(x[:, :2].std(0, correction=0), torch.ones(2, dtype=torch.float64), atol=1e-6)
    assert (d.x_train[:, 2] == 0).all() and (d.x_val[:, 2] == 0).all()  # constant on the training rows: all 0
    val_mean = d.x_val.double()[:, :2].mean(0)  # the validation rows are scaled, not refit: their mean is not 0
    assert not torch.allclose(val_mean, torch.zeros(2, dtype=torch.float64), atol=1e-3)


def test_a_validation_row_does_not_change_the_training_features(tmp_path):
    rows, path = _rows(), tmp_path / "t.csv"
    _write(path, rows)
    config = _config(path)
    before = data.from_config(config)
    train, val = _split(config)
    changed = [list(r) for r in rows]
    changed[int(val[0])] = [1e4, -5e5, 123.0]  # one validation row, far out on every feature
    _write(path, changed)
    after = data.from_config(config)
    assert _split(config)[0].tolist() == train.tolist()  # the same split
    assert torch.equal(after.x_train, before.x_train) and torch.equal(after.y_train, before.y_train)
    assert not torch.equal(after.x_val, before.x_val)
    stats = data.feature_statistics(config)
    assert stats["features"] == ["a", "b", "c"]
    x = np.array(rows)[train]
    np.testing.assert_allclose(stats["mean"], x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats["std"], [x[:, 0].std(), x[:, 1].std(), 0.0], rtol=1e-12)


def test_standardise_uses_only_the_rows_it_is_given():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [100.0, -50.0]])
    out, stats = csv_table.standardise(x, [0, 1])
    np.testing.assert_allclose(out[:2], [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(out[2], [98.0, 0.0])  # (100 − 2) / 1; the second column is constant on rows 0, 1
    np.testing.assert_allclose(stats.mean, [2.0, 10.0]) and np.testing.assert_allclose(stats.std, [1.0, 0.0])
    far = csv_table.standardise(np.array([[1e-300], [2e-300], [1e308]]), [0, 1])[0]
    assert np.isfinite(far).all() and far[2, 0] == np.finfo(np.float32).max
    with pytest.raises(ValueError, match="at least one training row"):
        csv_table.standardise(x, [])


def test_train_writes_the_statistics_beside_the_config(tmp_path, capsys):
    path, out = tmp_path / "t.csv", tmp_path / "run"
    _write(path, _rows())
    config = _config(path)
    args = [a for k, v in (("dataset", "csv"), ("csv_path", str(path)), ("label_column", "label"),
                           ("val_fraction", 0.25), ("data_seed", 3), ("steps", 5), ("device", "cpu"))
            for a in ("--set", f"{k}={v}")]
    assert main(["train", *args, "--out", str(out)]) == 0
    saved = json.loads((out / "standardisation.json").read_text(encoding="utf-8"))
    assert saved == data.feature_statistics(config)  # the config alone gives them again
    assert data.feature_statistics(TrainConfig(dataset="moons")) is None
    capsys.readouterr()
